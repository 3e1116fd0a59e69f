// A task pair several roles share (roles.ts, roles-kerberos.ts).
import { toYaml } from '../k8s/common.js';

/**
 * Two tasks that enable and start services only when needed: one quick read of all of them
 * (the service module costs several systemctl calls per service, on every run), then one
 * `systemctl enable --now` for those that are not both enabled and running.
 */
export function ensureRunning(what: string, services: string, register: string, when = ''): string {
  const cond = when ? `${when} and ` : '';
  return toYaml([
    {
      name: `Which of ${what} are not enabled and running`,
      'ansible.builtin.shell': `for s in ${services}; do\n  [ "$(systemctl is-enabled "$s" 2>/dev/null) $(systemctl is-active "$s" 2>/dev/null)" = "enabled active" ] || echo "$s"\ndone\n`,
      changed_when: false,
      register,
      ...(when ? { when } : {}),
    },
    { name: `Enable and start ${what}`, 'ansible.builtin.command': `systemctl enable --now {{ ${register}.stdout_lines | join(' ') }}`, when: `${cond}${register}.stdout_lines | length > 0` },
  ]);
}
