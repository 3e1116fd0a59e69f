// `lab down` leaves nothing behind: no process, link, cgroup folder, mount or state; also after a
// crash (supervisor and one nspawn killed with SIGKILL). The shared lab is brought up again after.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cgroupPids } from '../cgroups.js';
import { down, leftovers, up } from '../lifecycle.js';
import { labUsers } from '../lock.js';
import { labPaths, nodeCgroups } from '../paths.js';
import { run } from '../run.js';
import { readRuntime, readState } from '../state.js';
import { labFixture } from './lab-fixture.js';

const paths = labPaths();
const quiet = (): void => undefined;

/**
 * Taking the shared lab down is only fair when no other test run (another person's, on this
 * machine) uses it: wait for them, bounded. In CI this run is the only one.
 */
async function waitUntilOnlyUser(): Promise<void> {
  const mine = new Set([process.pid, process.ppid]);
  const started = Date.now();
  for (;;) {
    const others = labUsers(paths).filter((p) => !mine.has(p));
    if (others.length === 0) return;
    if (Date.now() - started > 300_000) throw new Error(`other test runs use the lab (pids ${others.join(', ')}): cannot take it down under them`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

const owner = (): 'cli' | 'tests' => readState(paths)?.owner ?? 'tests';

async function expectNothingLeft(nodeNames: string[]): Promise<void> {
  const left = await leftovers(paths, nodeNames);
  expect(left).toEqual({ processes: [], links: [], cgroups: [], mounts: [], stateDir: false });
  // Independent checks with the system's own tools.
  expect((await run('ip', ['-o', 'link', 'show'])).stdout).not.toMatch(/vmslab0|vb-/);
  expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toMatch(/vmstation-lab/);
  // Zombies (`<defunct>`) hold nothing and wait for PID 1 to reap them: not counted.
  const ps = await run('ps', ['-eo', 'pid,stat,args']);
  const live = ps.stdout.split('\n').filter((l) => !/^\s*\d+\s+Z/.test(l));
  expect(live.filter((l) => /systemd-nspawn|ipmi_sim|raw-frames\.py|lab\/supervisor\/main\.ts/.test(l))).toEqual([]);
}

describe('lab teardown', () => {
  it('down removes everything; up again reuses the root filesystem', async () => {
    await waitUntilOnlyUser();
    const names = labFixture().nodes.map((n) => n.name);
    const was = owner();
    try {
      await down({ log: quiet });
      await expectNothingLeft(names);
      await down({ log: quiet }); // idempotent
      await expectNothingLeft(names);
    } finally {
      // Other test files share this lab: bring it back whatever happened.
      await up({ log: quiet, owner: was });
    }
    await down({ log: quiet });
    const r = await up({ log: quiet, owner: was });
    expect(r.rootfsBuilt).toBe(false);
    // The time is a figure, not an assertion: a timed test fails under load (it did at load 23,
    // 23.2 s); the figure is printed here and quoted in docs/lab.md.
    console.log(`[lab] up with a reused root filesystem: ${(r.totalMs / 1000).toFixed(1)}s`);
  });

  it('down cleans up after a crash: supervisor and one nspawn killed, the container orphaned', async () => {
    await waitUntilOnlyUser();
    const names = labFixture().nodes.map((n) => n.name);
    const was = owner();
    const rt = readRuntime(paths);
    expect(rt).toBeDefined();
    const nspawnPid = rt?.processes['nspawn:homelab']?.pid;
    expect(nspawnPid).toBeGreaterThan(0);
    process.kill(rt?.supervisorPid ?? 0, 'SIGKILL');
    process.kill(nspawnPid ?? 0, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    // The orphaned container (its systemd and services) is still running in its cgroup.
    expect(cgroupPids(nodeCgroups('homelab')[0] ?? '').length).toBeGreaterThan(0);

    try {
      await down({ log: quiet });
      await expectNothingLeft(names);
    } finally {
      await up({ log: quiet, owner: was });
    }
  });
});
