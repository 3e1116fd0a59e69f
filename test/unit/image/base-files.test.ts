import { describe, expect, it } from 'vitest';
import { accounts, canonicalPath, filterDpkgStatus, parents, selectBaseFiles, sortPaths } from '../../../src/image/base-files.js';
import { RUNTIME_PACKAGES } from '../../../src/image/spec.js';

const status = (names: readonly string[]) => names.map((n) => `Package: ${n}\nStatus: install ok installed\nVersion: 1\n`).join('\n');
const allLists = Object.fromEntries(RUNTIME_PACKAGES.map((p) => [p, `/.\n/usr\n/usr/share\n/usr/share/doc\n/usr/share/doc/${p}\n/usr/share/doc/${p}/copyright\n`]));

describe('the base layer selection (pure)', () => {
  it('maps merged-/usr paths (dpkg lists /lib, /bin, /sbin) to where the files are', () => {
    expect(canonicalPath('/lib/x86_64-linux-gnu/libtinfo.so.6')).toBe('usr/lib/x86_64-linux-gnu/libtinfo.so.6');
    expect(canonicalPath('/bin/')).toBe('usr/bin');
    expect(canonicalPath('/etc/ssl')).toBe('etc/ssl');
    expect(canonicalPath('/library/x')).toBe('library/x');
  });

  it('lists parents outermost first and sorts byte-wise (a parent before its children)', () => {
    expect(parents('a/b/c')).toEqual(['a', 'a/b']);
    expect(sortPaths(['a/b', 'a-b', 'a', 'a/b'])).toEqual(['a', 'a-b', 'a/b']);
  });

  it('takes the runtime packages, env, the generated CA bundle, and leaves out gconv and ipmievd', () => {
    const lists = {
      ...allLists,
      libc6: '/.\n/lib/x86_64-linux-gnu/libc.so.6\n/usr/lib/x86_64-linux-gnu/gconv/UTF-16.so\n/usr/lib/x86_64-linux-gnu/gconv\n',
      ipmitool: '/.\n/usr/bin/ipmitool\n/usr/sbin/ipmievd\n/etc/init.d/ipmievd\n',
    };
    const sel = selectBaseFiles(status([...RUNTIME_PACKAGES, 'perl-base', 'coreutils']), lists, ['etc/ssl/certs', 'etc/ssl/certs/ca-certificates.crt', 'etc/shadow']);
    expect(sel.missing).toEqual([]);
    expect(sel.paths).toEqual(expect.arrayContaining(['usr/lib/x86_64-linux-gnu/libc.so.6', 'usr/bin/ipmitool', 'usr/bin/env', 'etc/ssl/certs/ca-certificates.crt', 'bin', 'lib', 'tmp', 'usr', 'usr/lib']));
    for (const gone of ['usr/lib/x86_64-linux-gnu/gconv', 'usr/lib/x86_64-linux-gnu/gconv/UTF-16.so', 'usr/sbin/ipmievd', 'etc/init.d/ipmievd', 'etc/shadow', 'etc/passwd']) expect(sel.paths).not.toContain(gone);
    expect(sel.paths).toEqual(sortPaths(sel.paths));
    // The dpkg status names exactly the packages present (scanners read it).
    expect(sel.written['var/lib/dpkg/status']).toContain('Package: libc6');
    expect(sel.written['var/lib/dpkg/status']).not.toContain('perl-base');
    expect(sel.written['etc/passwd']).toBe(accounts().passwd);
  });

  it('reports runtime packages the root filesystem lacks', () => {
    const sel = selectBaseFiles(status(RUNTIME_PACKAGES.filter((p) => p !== 'ipmitool')), allLists, []);
    expect(sel.missing).toEqual(['ipmitool']);
  });

  it('the accounts: root and nonroot 65532, the user the Deployment runs as', () => {
    const { passwd, group } = accounts();
    expect(passwd.split('\n')[1]).toBe('nonroot:x:65532:65532:nonroot:/home/nonroot:/usr/sbin/nologin');
    expect(group).toContain('nonroot:x:65532:');
  });

  it('filters a dpkg status file by package, keeping its paragraphs whole', () => {
    const { text, found } = filterDpkgStatus('Package: a\nVersion: 1\n\nPackage: b\nDepends: a\n\nPackage: c\n', new Set(['b', 'c']));
    expect(found).toEqual(['b', 'c']);
    expect(text).toBe('Package: b\nDepends: a\n\nPackage: c\n');
  });
});
