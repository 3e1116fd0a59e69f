// The Dockerfile (for people with Docker) must describe the image the offline build makes: same
// Node.js, user, entrypoint, command, labels and stripped files. No Docker engine runs here, so
// it is compared with the build's own values, line by line.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { imageConfig } from '../../../src/image/oci.js';
import { APP_STRIP, IMAGE_SOURCE, NODE_RUNTIME } from '../../../src/image/spec.js';

const dockerfile = readFileSync('Dockerfile', 'utf8');
const config = (imageConfig([], { version: '0.1.0' }, 0) as { config: { User: string; Entrypoint: string[]; Cmd: string[] } }).config;

describe('Dockerfile', () => {
  it('uses the pinned Node.js, the same user, entrypoint and command', () => {
    expect(dockerfile).toContain(`ARG NODE_VERSION=${NODE_RUNTIME.version}`);
    expect(dockerfile).toContain(`USER ${config.User}`);
    expect(dockerfile).toContain(`ENTRYPOINT ${JSON.stringify(config.Entrypoint)}`);
    expect(dockerfile).toContain(`CMD ${JSON.stringify(config.Cmd).replace(/","/g, '", "')}`);
    expect(dockerfile).toContain(`org.opencontainers.image.source="${IMAGE_SOURCE}"`);
    expect(dockerfile).toContain(NODE_RUNTIME.binarySha256.slice(0, 12));
  });

  it('strips the same files from the production dependencies', () => {
    const patterns = [...dockerfile.matchAll(/-i?name '([^']+)'/g)].map((m) => m[1]!);
    for (const sample of ['a.d.ts', 'b.ts', 'c.mts', 'd.cts', 'e.js.map', 'README.md', 'x.markdown', 'y.bare']) {
      expect(APP_STRIP.some((re) => re.test(sample))).toBe(true);
      expect(patterns.some((p) => new RegExp(`^${p.replace('.', '\\.').replace('*', '.*')}$`, 'i').test(sample))).toBe(true);
    }
  });
});
