// The Debian mirror apt uses on this machine (first deb822 or one-line source), for mmdebstrap.
// The lab's root filesystem and the image's base are both built from it.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

export async function aptMirror(override?: string): Promise<string> {
  if (override) return override;
  for (const file of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    if (!existsSync(file)) continue;
    const text = await readFile(file, 'utf8');
    const deb822 = /^URIs:\s*(\S+\/debian)\/?\s*$/m.exec(text);
    if (deb822?.[1]) return deb822[1];
    const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s+\S+/m.exec(text);
    if (oneLine?.[1]) return oneLine[1];
  }
  return 'http://deb.debian.org/debian';
}
