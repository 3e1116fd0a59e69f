// Side-loading the image, the I/O half: over each node's managed SSH connection (host keys
// checked), probe, copy the docker-archive when the digest is missing, import, check the digest.
// Every decision is made by side-load.ts.
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { SshExecResult } from '../adapters/ssh/index.js';
import type { Method } from '../config/schema.js';
import { ExitCode, VmstationError, userError } from '../errors.js';
import { formatSize } from '../image/metadata.js';
import { checkImported, decideSideLoad, digestRef, importScript, nodeContainerd, parseAnswer, probeScript, receiveScript, removeScript, type SideLoadImage } from './side-load.js';

export interface SideLoadShell {
  exec(node: string, command: string, timeoutMs?: number): Promise<SshExecResult>;
  execWithInput(node: string, command: string, input: () => Readable, timeoutMs: number): Promise<SshExecResult>;
}

export interface SideLoadOutcome {
  node: string;
  copied: boolean;
  ms: number;
  message: string;
}

function failed(node: string, what: string, r: SshExecResult): VmstationError {
  const lines = `${r.stderr}\n${r.stdout}`.split('\n').map((l) => l.trim()).filter(Boolean).slice(-4);
  return new VmstationError({
    code: 'side-load-failed',
    message: `${node}: ${what} failed (exit ${r.exitCode ?? 'none: the connection closed'})`,
    details: lines,
    hint: 'run deploy again: it resumes at the power phase and copies the archive again (a partial copy is never kept)',
    exitCode: ExitCode.partial,
  });
}

/** Copies a byte count at roughly 10 MB/s at worst, plus a minute. */
const copyTimeoutMs = (size: number) => 60_000 + Math.ceil(size / 10_000);

export async function sideLoadNode(shell: SideLoadShell, node: string, method: Method, image: SideLoadImage, now: () => number = Date.now): Promise<SideLoadOutcome> {
  const started = now();
  const c = nodeContainerd(method);
  const probe = await shell.exec(node, probeScript(c, image), 60_000);
  if (probe.exitCode !== 0) throw failed(node, 'probing containerd', probe);
  const decision = decideSideLoad(node, method, image, parseAnswer(probe.stdout));
  if (decision.kind === 'no-containerd') throw userError('node-without-containerd', decision.message, decision.hint);
  if (decision.kind === 'present') return { node, copied: false, ms: now() - started, message: decision.message };

  await access(image.archive).catch(() => {
    throw userError('image-archive-missing', `the docker-archive ${image.archive} does not exist`, 'build the image again: vmstation image build');
  });
  const received = await shell.execWithInput(node, receiveScript(image), () => createReadStream(image.archive), copyTimeoutMs(image.size));
  if (received.exitCode !== 0) throw failed(node, `copying ${formatSize(image.size)} to the node`, received);
  const imported = await shell.exec(node, importScript(c, image), 600_000);
  if (imported.exitCode !== 0) throw failed(node, 'ctr images import', imported);
  const check = checkImported(image, parseAnswer(imported.stdout));
  if (!check.ok) {
    await shell.exec(node, removeScript(c, check.remove), 60_000).catch(() => undefined);
    throw new VmstationError({
      code: 'side-load-digest-mismatch',
      message: `${node}: containerd recorded ${check.actual ?? 'no image'} for ${image.repository}:${image.tag}, not the pinned ${image.digest}; the imported names were removed and the power manager is not applied`,
      hint: 'build the image again (vmstation image build) and deploy again; if it persists, the node\'s containerd holds a compressed copy of a layer (see docs/power.md, "In the cluster")',
      exitCode: ExitCode.partial,
    });
  }
  return { node, copied: true, ms: now() - started, message: `${node}: imported ${digestRef(image)} (${formatSize(image.size)} copied)` };
}

/** Every node in turn (one archive on the wire at a time). */
export async function sideLoad(shell: SideLoadShell, nodes: readonly string[], method: Method, image: SideLoadImage, progress: (line: string) => void, now: () => number = Date.now): Promise<SideLoadOutcome[]> {
  const out: SideLoadOutcome[] = [];
  for (const node of nodes) {
    const r = await sideLoadNode(shell, node, method, image, now);
    progress(`${r.message} in ${(r.ms / 1000).toFixed(1)} s`);
    out.push(r);
  }
  return out;
}
