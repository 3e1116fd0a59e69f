// IPMI over LAN (lanplus): chassis power on/off/status through ipmitool. The password goes in
// the environment (IPMI_PASSWORD, read by `-E`), never in argv where `ps` would show it.
import type { Runner, RunResult } from '../../adapters/process/index.js';
import { relevantLines } from '../../adapters/process/index.js';
import type { SecretSource } from './secrets.js';

export interface BmcTarget {
  address: string;
  port: number;
  cipherSuite: number;
  username: { secret: string };
  password: { secret: string };
}

export type ChassisPower = 'on' | 'off';
export type IpmiFailureKind = 'credentials-missing' | 'auth' | 'unreachable' | 'timeout' | 'not-installed' | 'unexpected';

export class IpmiError extends Error {
  constructor(
    readonly kind: IpmiFailureKind,
    message: string,
    readonly details: string[] = [],
  ) {
    super(message);
    this.name = 'IpmiError';
  }
}

export function ipmitoolArgs(bmc: BmcTarget, username: string, command: readonly string[]): string[] {
  return ['-I', 'lanplus', '-C', String(bmc.cipherSuite), '-H', bmc.address, '-p', String(bmc.port), '-U', username, '-E', ...command];
}

/** Maps ipmitool's known failure output to a kind (fixtures in the unit tests are real output). */
export function classifyIpmiFailure(r: RunResult): IpmiFailureKind {
  const text = `${r.stderr}\n${r.stdout}`;
  if (r.timedOut) return 'timeout';
  if (/not installed|ENOENT/.test(text)) return 'not-installed';
  if (/RAKP 2 HMAC is invalid|RAKP 2 message indicates an error|Unauthorized name|invalid user name|Invalid user name|password/i.test(text)) return 'auth';
  if (/Unable to establish|Error: Unable to establish IPMI|Get Session Challenge command failed|No response|Insufficient resources for session/i.test(text)) return 'unreachable';
  return 'unexpected';
}

export class IpmiDriver {
  constructor(
    private readonly run: Runner,
    private readonly secrets: SecretSource,
    private readonly timeoutMs = 20_000,
  ) {}

  private async ipmitool(bmc: BmcTarget, command: readonly string[]): Promise<RunResult> {
    const [username, password] = await Promise.all([this.secrets.get(bmc.username.secret), this.secrets.get(bmc.password.secret)]);
    if (username === undefined || password === undefined) {
      const missing = [username === undefined ? bmc.username.secret : undefined, password === undefined ? bmc.password.secret : undefined].filter(Boolean);
      throw new IpmiError('credentials-missing', `BMC ${bmc.address}: secret(s) ${missing.join(', ')} not available`);
    }
    const r = await this.run('ipmitool', ipmitoolArgs(bmc, username, command), { env: { IPMI_PASSWORD: password }, timeoutMs: this.timeoutMs });
    if (r.exitCode !== 0) {
      const kind = classifyIpmiFailure(r);
      throw new IpmiError(kind, `BMC ${bmc.address}:${bmc.port}: ipmitool ${command.join(' ')} failed (${kind})`, relevantLines(`${r.stderr}\n${r.stdout}`));
    }
    return r;
  }

  async status(bmc: BmcTarget): Promise<ChassisPower> {
    const r = await this.ipmitool(bmc, ['chassis', 'power', 'status']);
    const m = /Chassis Power is (on|off)/i.exec(r.stdout);
    if (!m) throw new IpmiError('unexpected', `BMC ${bmc.address}: cannot read the power state`, relevantLines(r.stdout));
    return m[1]!.toLowerCase() as ChassisPower;
  }

  async powerOn(bmc: BmcTarget): Promise<void> {
    await this.ipmitool(bmc, ['chassis', 'power', 'on']);
  }

  async powerOff(bmc: BmcTarget): Promise<void> {
    await this.ipmitool(bmc, ['chassis', 'power', 'off']);
  }
}
