// `systemd-analyze verify` on rendered units, as systemd itself loads them: the units go into a
// scratch root (--root) beside a copy of the units this machine's systemd ships (so After=,
// WantedBy= and friends resolve), with the files their Exec lines run.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface UnitRoot {
  root: string;
  /** Writes a file under the scratch root (absolute path inside it). */
  put(file: string, content: string, mode?: number): void;
  /** Copies a file of this machine into the root at the same path (e.g. an interpreter). */
  copyFromHost(file: string): void;
  /** Runs `systemd-analyze verify --root` on units under /etc/systemd/system. */
  verify(units: readonly string[]): { status: number | null; stderr: string };
}

export function unitRoot(prefix: string): UnitRoot {
  const root = mkdtempSync(path.join(tmpdir(), `${prefix}-`));
  mkdirSync(path.join(root, 'lib/systemd'), { recursive: true });
  cpSync('/lib/systemd/system', path.join(root, 'lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
  const put = (file: string, content: string, mode = 0o644): void => {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), content, { mode });
  };
  return {
    root,
    put,
    copyFromHost: (file) => {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      cpSync(file, path.join(root, file), { dereference: true });
    },
    verify: (units) => {
      const r = spawnSync('systemd-analyze', ['verify', `--root=${root}`, ...units.map((u) => `/etc/systemd/system/${u}`)], { encoding: 'utf8' });
      return { status: r.status, stderr: r.stderr };
    },
  };
}
