// Paths that reach ssh through Ansible's ssh_args / ANSIBLE_SSH_ARGS are split by Python's
// shlex.split (ansible/plugins/connection/ssh.py, `_split_ssh_args`): a known_hosts path with a
// space or a quote must come back as one `UserKnownHostsFile=...` word (issue 17 §6: it was not
// quoted in the Kubespray environment). Checked with the real python3 shlex.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { strictSshEnv } from '../../../src/deploy/kubespray.js';
import { shellQuote } from '../../../src/util/shell-quote.js';

const shlexSplit = (text: string): string[] => JSON.parse(execFileSync('python3', ['-c', 'import json,shlex,sys; print(json.dumps(shlex.split(sys.argv[1])))', text], { encoding: 'utf8' })) as string[];

describe('shellQuote', () => {
  const words = ['/home/me/.config/vmstation/known_hosts', "/home/o'brien/known hosts", 'a"b$c`d\\e', 'tab\there', '-o', ''];
  it('survives shlex.split (how Ansible splits ssh_args) and sh word splitting', () => {
    for (const w of words) {
      expect(shlexSplit(`ssh ${shellQuote(w)} end`)).toEqual(['ssh', w, 'end']);
      expect(execFileSync('sh', ['-c', `printf '%s' ${shellQuote(w)}`], { encoding: 'utf8' })).toBe(w);
    }
  });

  it('the Kubespray environment keeps a known_hosts path with a space and a quote in one word', () => {
    const file = "/srv/my lab/o'neil/known_hosts";
    const args = shlexSplit(strictSshEnv(file).ANSIBLE_SSH_ARGS!);
    expect(args).toContain(`UserKnownHostsFile=${file}`);
    expect(args[args.indexOf(`UserKnownHostsFile=${file}`) - 1]).toBe('-o');
    expect(args).toContain('StrictHostKeyChecking=yes');
  });
});
