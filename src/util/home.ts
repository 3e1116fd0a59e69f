// The one way VMStation finds the user's home folder and expands `~/` in a path from the cluster
// file: $HOME of the given environment (what ssh and ansible use), else the account's home.
import os from 'node:os';

export function homeDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.HOME ?? os.homedir();
}

/** `~` and `~/x` become absolute; any other path is returned as written. */
export function expandHome(p: string, env: NodeJS.ProcessEnv = process.env): string {
  return p === '~' || p.startsWith('~/') ? `${homeDir(env)}${p.slice(1)}` : p;
}
