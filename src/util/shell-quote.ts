// One quoting for a word that a POSIX shell or Python's shlex.split (how Ansible splits ssh_args
// and ANSIBLE_SSH_ARGS) reads back as exactly that word: plain when it only has safe characters,
// else single quotes, with each ' written as '\''.
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./~-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
