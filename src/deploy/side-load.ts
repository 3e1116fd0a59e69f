// Side-loading the power manager's image into a node's containerd without a registry: the pure
// half. Which containerd the method runs (socket, ctr), the shell each step runs on the node, and
// what the node's answers mean. The executor (side-load-run.ts) only sends these and reads back.
import type { Method } from '../config/schema.js';

/** The image to load, as the plan step carries it (from vmstation-image.json). */
export interface SideLoadImage {
  repository: string;
  tag: string;
  /** The digest containerd records for the docker-archive (what the Deployment pins). */
  digest: string;
  /** Local path of the docker-archive, its size and sha256. */
  archive: string;
  size: number;
  sha256: string;
}

/** The node's containerd: its socket and where its `ctr` may be. */
export interface NodeContainerd {
  address: string;
  ctrCandidates: readonly string[];
}

/**
 * Kubespray installs containerd's binaries in /usr/local/bin (its `bin_dir`) and listens on
 * /run/containerd/containerd.sock; the kubeadm playbook installs the distribution's containerd
 * (/usr/bin/ctr). RKE2 runs its own containerd on /run/k3s/containerd/containerd.sock with ctr in
 * /var/lib/rancher/rke2/bin (docs.rke2.io: "containerd socket", "Using ctr").
 */
export function nodeContainerd(method: Method): NodeContainerd {
  if (method === 'rke2') return { address: '/run/k3s/containerd/containerd.sock', ctrCandidates: ['/var/lib/rancher/rke2/bin/ctr'] };
  return { address: '/run/containerd/containerd.sock', ctrCandidates: ['/usr/local/bin/ctr', '/usr/bin/ctr'] };
}

/** Where archives are received on the node (removed after a successful import). */
export const NODE_IMAGE_DIR = '/var/lib/vmstation/images';
const MARK = 'vmstation-side-load';

export function archiveName(image: SideLoadImage): string {
  return `vmstation-${image.tag}-${image.digest.slice('sha256:'.length, 'sha256:'.length + 12)}.docker.tar`;
}

export const digestRef = (image: SideLoadImage): string => `${image.repository}@${image.digest}`;
export const tagRef = (image: SideLoadImage): string => `${image.repository}:${image.tag}`;

/** Single-quotes a word for POSIX sh. */
export function shq(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Runs a script as root: directly when the SSH user is root, else through `sudo -n`. */
export function asRoot(script: string): string {
  return `if [ "$(id -u)" = 0 ]; then sh -c ${shq(script)}; else sudo -n sh -c ${shq(script)}; fi`;
}

/** Finds ctr (prints `MARK ctr PATH` or `MARK no-ctr`) and sets $CTR for what follows. */
function findCtr(c: NodeContainerd): string {
  const list = c.ctrCandidates.map(shq).join(' ');
  return [
    `CTR=""; for c in ${list}; do if [ -x "$c" ]; then CTR="$c"; break; fi; done`,
    `if [ -z "$CTR" ]; then CTR="$(command -v ctr || true)"; fi`,
    `if [ -z "$CTR" ]; then echo "${MARK} no-ctr"; exit 0; fi`,
    `echo "${MARK} ctr $CTR"`,
    `if ! "$CTR" --address ${shq(c.address)} version >/dev/null 2>&1; then echo "${MARK} no-daemon"; exit 0; fi`,
  ].join('\n');
}

/** Lists the image's two names (by tag and by digest) in the k8s.io namespace. */
function listRefs(c: NodeContainerd, image: SideLoadImage): string {
  return `"$CTR" --address ${shq(c.address)} -n k8s.io images ls ${shq(`name==${tagRef(image)}`)} ${shq(`name==${digestRef(image)}`)}`;
}

/** Step 1: is containerd there, and does it already hold the image by digest? */
export function probeScript(c: NodeContainerd, image: SideLoadImage): string {
  return asRoot([findCtr(c), `echo "${MARK} images"`, listRefs(c, image)].join('\n'));
}

/**
 * Step 2 (stdin: the archive): received under a temporary name, checked (size, sha256), then
 * renamed. An interrupted copy removes its temporary file (trap), and every copy first removes
 * leftovers of earlier ones, so a half-written archive never carries the final name.
 */
export function receiveScript(image: SideLoadImage, dir: string = NODE_IMAGE_DIR): string {
  const name = archiveName(image);
  const tmp = `${dir}/.${name}.partial.$$`;
  return asRoot(
    [
      'set -eu',
      `mkdir -p ${shq(dir)}`,
      `rm -f ${shq(dir)}/.*.partial.*`,
      `T="${tmp}"`,
      `trap 'rm -f "$T"' EXIT HUP INT TERM`,
      'cat > "$T"',
      `SIZE="$(stat -c %s "$T")"`,
      `if [ "$SIZE" != ${image.size} ]; then echo "${MARK} size $SIZE" >&2; exit 3; fi`,
      `SUM="$(sha256sum "$T" | cut -d' ' -f1)"`,
      `if [ "sha256:$SUM" != ${shq(image.sha256)} ]; then echo "${MARK} sha256 sha256:$SUM" >&2; exit 4; fi`,
      `mv -f "$T" ${shq(`${dir}/${name}`)}`,
      'trap - EXIT',
      `echo "${MARK} received"`,
    ].join('\n'),
  );
}

/**
 * Step 3: import into the k8s.io namespace under the image's tag and its digest name
 * (`--base-name REPO --digests` makes `REPO@DIGEST`, the name the kubelet asks the CRI for),
 * without unpacking (the CRI unpacks into its own snapshotter when it creates the container),
 * then list both names for the check. The archive is removed either way.
 */
export function importScript(c: NodeContainerd, image: SideLoadImage): string {
  const file = `${NODE_IMAGE_DIR}/${archiveName(image)}`;
  return asRoot(
    [
      findCtr(c),
      `"$CTR" --address ${shq(c.address)} -n k8s.io images import --no-unpack --base-name ${shq(image.repository)} --digests ${shq(file)} >&2 || { rc=$?; rm -f ${shq(file)}; exit $rc; }`,
      `rm -f ${shq(file)}`,
      `echo "${MARK} images"`,
      listRefs(c, image),
    ].join('\n'),
  );
}

/** Removes names that point at the wrong content (after a digest mismatch). */
export function removeScript(c: NodeContainerd, refs: readonly string[]): string {
  return asRoot([findCtr(c), `"$CTR" --address ${shq(c.address)} -n k8s.io images rm ${refs.map(shq).join(' ')} >&2 || true`].join('\n'));
}

export interface NodeAnswer {
  ctr?: string;
  noCtr: boolean;
  noDaemon: boolean;
  /** ref -> digest, from `ctr images ls` (when it ran). */
  images?: Record<string, string>;
}

/** Reads what a probe or import printed. */
export function parseAnswer(stdout: string): NodeAnswer {
  const answer: NodeAnswer = { noCtr: false, noDaemon: false };
  let inImages = false;
  for (const line of stdout.split('\n')) {
    const t = line.trim();
    if (t.startsWith(`${MARK} `)) {
      const [word, ...rest] = t.slice(MARK.length + 1).split(' ');
      if (word === 'ctr') answer.ctr = rest.join(' ');
      if (word === 'no-ctr') answer.noCtr = true;
      if (word === 'no-daemon') answer.noDaemon = true;
      if (word === 'images') {
        inImages = true;
        answer.images = {};
      }
      continue;
    }
    if (!inImages || t === '' || t.startsWith('REF ')) continue;
    const cols = t.split(/\s+/);
    if (cols[0] && cols[2]?.startsWith('sha256:')) answer.images![cols[0]] = cols[2];
  }
  return answer;
}

export type SideLoadDecision =
  | { kind: 'present'; message: string }
  | { kind: 'load'; message: string }
  | { kind: 'no-containerd'; message: string; hint: string };

/** What to do on a node after the probe. */
export function decideSideLoad(node: string, method: Method, image: SideLoadImage, answer: NodeAnswer): SideLoadDecision {
  const c = nodeContainerd(method);
  if (answer.noCtr)
    return {
      kind: 'no-containerd',
      message: `${node} has no containerd: ctr was not found (looked for ${c.ctrCandidates.join(', ')} and on PATH)`,
      hint: method === 'rke2' ? 'run `vmstation deploy --phase kubernetes` (RKE2 brings its own containerd and ctr), then deploy again' : 'run `vmstation deploy --phase kubernetes` (it installs containerd), or install containerd on the node, then deploy again',
    };
  if (answer.noDaemon)
    return { kind: 'no-containerd', message: `${node}: containerd does not answer on ${c.address} (ctr is ${answer.ctr ?? '?'})`, hint: `start containerd on ${node} (systemctl start ${method === 'rke2' ? 'rke2-server' : 'containerd'}), then deploy again` };
  const have = answer.images?.[digestRef(image)];
  if (have === image.digest) return { kind: 'present', message: `${node} already has ${digestRef(image)}: nothing copied` };
  return { kind: 'load', message: `${node} does not have ${image.digest}: copying the docker-archive` };
}

/**
 * After the import both names must point at the pinned digest. On a mismatch, `remove` lists the
 * names this import made that point elsewhere (the tag, and the digest name of what was imported).
 */
export function checkImported(image: SideLoadImage, answer: NodeAnswer): { ok: true } | { ok: false; actual: string | undefined; remove: string[] } {
  const found = answer.images ?? {};
  const actual = found[tagRef(image)];
  if (actual === image.digest && found[digestRef(image)] === image.digest) return { ok: true };
  return { ok: false, actual, remove: [tagRef(image), ...(actual && actual !== image.digest ? [`${image.repository}@${actual}`] : [])] };
}
