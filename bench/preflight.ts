// Preflight of the 3 lab hosts vs `ansible all -m ping` on the same hosts, in the same run,
// side by side (target: preflight under one third of the ping's time). Preflight does far more
// (13 checks per node) but over one persistent ssh2 connection per node with one probe script;
// Ansible starts a Python module per host over OpenSSH. Both check host keys against the lab's
// known_hosts. Each is run 5 times alternately; medians are compared. Needs a running lab.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { labPaths } from '../lab/paths.js';
import { validateText } from '../src/config/validate.js';
import { nodeAccess } from '../src/deploy/context.js';
import { runPreflight } from '../src/deploy/preflight/run.js';
import { mapSecrets } from '../src/power/drivers/secrets.js';
import { fmtMs, percentile, report } from './_util.js';

const fixtureFile = labPaths().fixtureFile;
if (!existsSync(fixtureFile)) {
  console.log('no running lab: this bench needs `npm run lab -- up` (as root)');
  process.exit(0);
}
const lab = JSON.parse(readFileSync(fixtureFile, 'utf8')) as { clusterFile: string; knownHosts: string; privateKey: string; nodes: Array<{ name: string; address: string }> };
const { cluster, problems } = validateText({ file: lab.clusterFile, text: readFileSync(lab.clusterFile, 'utf8') });
if (!cluster) throw new Error(problems.map((p) => p.message).join('; '));

const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-preflight-'));
const inventory = path.join(dir, 'inventory.yaml');
writeFileSync(
  inventory,
  `all:\n  hosts:\n${lab.nodes.map((n) => `    ${n.name}:\n      ansible_host: ${n.address}\n`).join('')}  vars:\n    ansible_user: root\n    ansible_ssh_private_key_file: ${lab.privateKey}\n    ansible_python_interpreter: /usr/bin/python3\n`,
);
const ansibleEnv = {
  ...process.env,
  ANSIBLE_HOST_KEY_CHECKING: 'True',
  ANSIBLE_NOCOLOR: '1',
  // No ControlPersist: each run starts from nothing, as preflight does.
  ANSIBLE_SSH_ARGS: `-o ControlMaster=no -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${lab.knownHosts} -o BatchMode=yes`,
};

async function preflightOnce(): Promise<number> {
  const access = nodeAccess(cluster!, { secrets: mapSecrets({}) });
  const t0 = performance.now();
  try {
    const r = await runPreflight(cluster!, { pool: access.pool, ensureAwake: access.ensureAwake, now: Date.now });
    const errors = r.nodes.filter((n) => n.error);
    if (errors.length > 0) throw new Error(`preflight could not check ${errors.map((n) => `${n.node}: ${n.error?.message}`).join('; ')}`);
  } finally {
    await access.close();
  }
  return performance.now() - t0;
}

function pingOnce(): number {
  const t0 = performance.now();
  const r = spawnSync('ansible', ['all', '-i', inventory, '-m', 'ping', '--one-line'], { env: ansibleEnv, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`ansible all -m ping failed: ${r.stdout}${r.stderr}`);
  return ms;
}

// Other lab users may put a sleeper to sleep between runs: wake everything first (not timed),
// so both sides measure checking awake hosts.
async function allAwake(): Promise<void> {
  const access = nodeAccess(cluster!, { secrets: mapSecrets({}) });
  try {
    const r = await Promise.all(cluster!.spec.nodes.map((n) => access.ensureAwake(n.name)));
    const down = r.filter((x) => !x.reachable);
    if (down.length > 0) throw new Error(`cannot wake ${down.map((d) => `${d.node}: ${d.message}`).join('; ')}`);
    if (r.some((x) => !x.wasAwake)) await new Promise((res) => setTimeout(res, 3000)); // sshd finishing its start
  } finally {
    await access.close();
  }
}

const pre: number[] = [];
const ping: number[] = [];
for (let i = 0; i < 5; i++) {
  await allAwake();
  pre.push(await preflightOnce());
  await allAwake();
  ping.push(pingOnce());
}
pre.sort((a, b) => a - b);
ping.sort((a, b) => a - b);
const p = percentile(pre, 50);
const a = percentile(ping, 50);
report('ansible all -m ping, 3 lab hosts (median of 5)', fmtMs(a));
report('vmstation preflight, 3 lab hosts, 13 checks each (median of 5)', fmtMs(p), `< ${fmtMs(a / 3)}`, p < a / 3);
report('preflight / ping', `${(p / a).toFixed(2)}`, '< 0.33', p / a < 1 / 3);
