// The plaintext variables file that carries secrets to ansible-playbook never outlives the next
// run (issue 17 §6): a run killed with SIGKILL leaves its file, and the next run removes it.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withSecretVarsFile } from '../../../src/adapters/ansible/runner.js';

describe('secret variables files', () => {
  it('lives in a 0700 folder of its own, mode 0600, and is gone after the run', async () => {
    const root = path.join(mkdtempSync(path.join(tmpdir(), 'secret-vars-')), 'vmstation-secrets');
    let seen = '';
    await withSecretVarsFile({ token: 's3cret' }, (file) => {
      seen = file;
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(root).mode & 0o777).toBe(0o700);
      // Tagged !unsafe by the one Ansible serializer: a secret holding "{{" is never templated.
      expect(readFileSync(file, 'utf8')).toBe('token: !unsafe s3cret\n');
      return Promise.resolve();
    }, root);
    expect(existsSync(seen)).toBe(false);
    expect(readdirSync(root)).toEqual([]);
  });

  it("a run killed with SIGKILL leaves its file; the next run removes it", async () => {
    const root = path.join(mkdtempSync(path.join(tmpdir(), 'secret-vars-')), 'vmstation-secrets');
    const script = `
      import { withSecretVarsFile } from ${JSON.stringify(path.resolve('src/adapters/ansible/runner.ts'))};
      await withSecretVarsFile({ token: 'left-behind' }, (file) => { console.log(file); return new Promise(() => {}); }, ${JSON.stringify(root)});`;
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const file = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(readFileSync(file, 'utf8')).toContain('left-behind');

    await withSecretVarsFile({ token: 'next' }, (f) => {
      expect(readdirSync(root)).toEqual([path.basename(path.dirname(f))]);
      return Promise.resolve();
    }, root);
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(root)).toEqual([]);
  });

  it('refuses a folder that others can read', async () => {
    const root = path.join(mkdtempSync(path.join(tmpdir(), 'secret-vars-')), 'vmstation-secrets');
    mkdirSync(root);
    chmodSync(root, 0o755);
    await expect(withSecretVarsFile({ a: 'b' }, () => Promise.resolve(), root)).rejects.toMatchObject({ code: 'secrets-folder-unsafe' });
  });
});
