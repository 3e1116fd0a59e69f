// The roles of the host layer. They are the same for every cluster: everything a cluster file
// knows (addresses, users, ports, paths, the realm) reaches them through inventory, group_vars
// and host_vars, and every service config they install is a rendered file under configs/.
// Only ansible.builtin modules are used, so a plain ansible-core runs them (no collections).
// Idempotent: commands that only read say `changed_when: false`; those that change something run
// only when a check found it necessary.
//
// These texts are the roles' source code: no value of the cluster file is ever interpolated into
// them (the injection property test checks that no field's value reaches roles/). The one task
// pair built from parameters is written by the YAML serializer.
import { toYaml } from '../k8s/common.js';

/**
 * Two tasks that enable and start services only when needed: one quick read of all of them
 * (the service module costs several systemctl calls per service, on every run), then one
 * `systemctl enable --now` for those that are not both enabled and running.
 */
function ensureRunning(what: string, services: string, register: string, when = ''): string {
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

// Reads everything prep decides on in one remote command (each task costs a round trip and a
// Python start on the node, and a second run should be quick): missing packages, active swap,
// inactive kernel modules, current sysctl values, the hostname.
const PREP_TASKS = `---
- name: Check the Ansible version
  ansible.builtin.assert:
    that: ansible_version.full is version(vmstation_min_ansible_version, '>=')
    fail_msg: "VMStation needs ansible-core {{ vmstation_min_ansible_version }} or newer (this is {{ ansible_version.full }})"
    quiet: true
  run_once: true

- name: Check passwordless sudo for the SSH user
  ansible.builtin.command: sudo -n true
  become: false
  changed_when: false
  failed_when: false
  register: vmstation_sudo
  when: ansible_user != 'root'

- name: Fail when sudo asks for a password
  ansible.builtin.fail:
    msg: "{{ ansible_user }} on {{ vmstation_node }} cannot run sudo without a password; add '{{ ansible_user }} ALL=(ALL) NOPASSWD: ALL' to /etc/sudoers.d/vmstation"
  when: ansible_user != 'root' and vmstation_sudo.rc != 0

- name: Read the node's state (packages, swap, kernel modules, sysctls, hostname)
  ansible.builtin.shell: |
    missing=""
    for p in {{ vmstation_packages | join(' ') }}; do
    {% if vmstation_os_family == 'debian' %}
      dpkg-query -W -f='\${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
    {% else %}
      rpm -q "$p" >/dev/null 2>&1 || missing="$missing $p"
    {% endif %}
    done
    inactive=""
    {% for m in vmstation_kernel_modules %}
    {{ m.active_when }} || inactive="$inactive {{ m.name }}"
    {% endfor %}
    printf '{"missing": "%s", "inactive": "%s", "swap": "%s", "sysctls": "%s", "hostname": "%s", "static_hostname": "%s"}\\n' \
      "$missing" "$inactive" \
      "$(swapon --show=NAME --noheadings | tr '\\n' ' ')" \
      "$(sysctl -n {{ vmstation_sysctls | map(attribute='name') | join(' ') }} 2>/dev/null | tr '\\n' ' ')" \
      "$(hostname)" "$(cat /etc/hostname 2>/dev/null)"
  changed_when: false
  register: vmstation_prep_read

- name: Remember the node's state
  ansible.builtin.set_fact:
    vmstation_state: "{{ vmstation_prep_read.stdout | from_json }}"

- name: Install missing packages (apt)
  ansible.builtin.apt:
    name: "{{ vmstation_state.missing.split() }}"
    state: present
    update_cache: true
  when: vmstation_os_family == 'debian' and vmstation_state.missing | trim | length > 0

- name: Install missing packages (dnf)
  ansible.builtin.dnf:
    name: "{{ vmstation_state.missing.split() }}"
    state: present
  when: vmstation_os_family == 'redhat' and vmstation_state.missing | trim | length > 0

- name: Turn swap off (Kubernetes needs it off)
  ansible.builtin.command: swapoff -a
  when: vmstation_state.swap | trim | length > 0

- name: Keep swap off after reboot (comment it out in fstab)
  ansible.builtin.replace:
    path: /etc/fstab
    regexp: '^([^#\\s]\\S*\\s+\\S+\\s+swap\\s.*)$'
    replace: '# \\1  # disabled by VMStation: Kubernetes needs swap off'

- name: Load kernel modules at boot
  ansible.builtin.copy:
    src: "{{ vmstation_configs_dir }}/modules-load/vmstation-kubernetes.conf"
    dest: /etc/modules-load.d/vmstation-kubernetes.conf
    owner: root
    group: root
    mode: "0644"

- name: Load kernel modules now
  ansible.builtin.command: modprobe {{ item }}
  loop: "{{ vmstation_state.inactive.split() }}"

- name: Kernel settings for Kubernetes
  ansible.builtin.copy:
    src: "{{ vmstation_configs_dir }}/sysctl/99-vmstation-kubernetes.conf"
    dest: /etc/sysctl.d/99-vmstation-kubernetes.conf
    owner: root
    group: root
    mode: "0644"

- name: Apply the kernel settings
  ansible.builtin.command: sysctl -p /etc/sysctl.d/99-vmstation-kubernetes.conf
  when: vmstation_state.sysctls.split() != (vmstation_sysctls | map(attribute='value') | map('string') | list)

- name: Set the hostname
  ansible.builtin.command: hostnamectl set-hostname {{ vmstation_node }}
  when: vmstation_state.hostname != vmstation_node or vmstation_state.static_hostname != vmstation_node

- name: List every node in /etc/hosts
  ansible.builtin.blockinfile:
    path: /etc/hosts
    marker: "# {mark} VMStation cluster nodes"
    block: "{{ lookup('ansible.builtin.file', vmstation_configs_dir + '/hosts/cluster-nodes') }}"
`;

const POWER_TASKS = `---
- name: Folder for the power readiness program
  ansible.builtin.file:
    path: "{{ vmstation_power_readiness_script | dirname }}"
    state: directory
    owner: root
    group: root
    mode: "0755"

- name: Install the power readiness program
  ansible.builtin.copy:
    src: "{{ vmstation_configs_dir }}/power/power-readiness.py"
    dest: "{{ vmstation_power_readiness_script }}"
    owner: root
    group: root
    mode: "0755"

- name: Install the unit that re-arms Wake-on-LAN at every boot
  ansible.builtin.copy:
    src: "{{ vmstation_configs_dir }}/power/{{ inventory_hostname }}.service"
    dest: /etc/systemd/system/{{ vmstation_power_readiness_unit }}
    owner: root
    group: root
    mode: "0644"
  register: vmstation_power_unit

- name: Reload systemd after a unit change
  ansible.builtin.command: systemctl daemon-reload
  when: vmstation_power_unit.changed

- name: Enable the power readiness unit (it runs at every boot)
  ansible.builtin.file:
    src: /etc/systemd/system/{{ vmstation_power_readiness_unit }}
    dest: /etc/systemd/system/multi-user.target.wants/{{ vmstation_power_readiness_unit }}
    state: link

- name: Arm Wake-on-LAN, select deep sleep, record the findings
  ansible.builtin.command: >-
    /usr/bin/python3 {{ vmstation_power_readiness_script }}
    --node {{ vmstation_node }} --address {{ ansible_host }}
    {% if vmstation_mac %}--mac {{ vmstation_mac }}{% endif %}
    --facts {{ vmstation_power_readiness_file }}
    {% if ansible_check_mode %}--check{% endif %}
  check_mode: false
  register: vmstation_power_readiness
  changed_when: (vmstation_power_readiness.stdout | from_json).changed

- name: Show what cannot work on this node
  ansible.builtin.debug:
    msg: "{{ (vmstation_power_readiness.stdout | from_json).facts.warnings }}"
  when: (vmstation_power_readiness.stdout | from_json).facts.warnings | length > 0
`;

const CHRONY_TASKS = `---
- name: Install chrony.conf
  ansible.builtin.copy:
    src: "{{ vmstation_configs_dir }}/chrony/{{ inventory_hostname }}.conf"
    dest: "{{ vmstation_chrony_conf }}"
    owner: root
    group: root
    mode: "0644"
  notify: Restart chrony


${ensureRunning('chrony', '{{ vmstation_chrony_service }}', 'vmstation_chrony_down')}`;

const CHRONY_HANDLERS = `---
- name: Restart chrony
  ansible.builtin.service:
    name: "{{ vmstation_chrony_service }}"
    state: restarted
`;

const SYSLOG_TASKS = `---
- name: Folder for the journald drop-in
  ansible.builtin.file:
    path: /etc/systemd/journald.conf.d
    state: directory
    owner: root
    group: root
    mode: "0755"

- name: Let rsyslog alone read the journal (no second copy through the syslog socket)
  ansible.builtin.copy:
    src: "{{ vmstation_configs_dir }}/journald/vmstation.conf"
    dest: /etc/systemd/journald.conf.d/vmstation.conf
    owner: root
    group: root
    mode: "0644"
  notify: Restart journald

- name: Folder for the per-host logs
  ansible.builtin.file:
    path: "{{ vmstation_syslog_hosts_dir }}"
    state: directory
    owner: root
    group: adm
    mode: "0750"
  when: vmstation_syslog_server

- name: Rotate the per-host logs
  ansible.builtin.copy:
    src: "{{ vmstation_configs_dir }}/logrotate/vmstation-syslog"
    dest: /etc/logrotate.d/vmstation-syslog
    owner: root
    group: root
    mode: "0644"
  when: vmstation_syslog_server

- name: SELinux ports rsyslog uses (receive, forward to the log shipper)
  ansible.builtin.shell: |
    set -e
    changed=0
    for spec in {{ vmstation_syslog_selinux_ports | join(' ') }}; do
      proto=\${spec%%/*}; port=\${spec##*/}
      if ! semanage port -l | awk -v p="$proto" -v n="$port" '$1=="syslogd_port_t" && $2==p {for(i=3;i<=NF;i++){gsub(",","",$i); if($i==n) f=1}} END{exit !f}'; then
        semanage port -a -t syslogd_port_t -p "$proto" "$port"
        changed=1
      fi
    done
    echo "changed=$changed"
  register: vmstation_selinux_ports
  changed_when: "'changed=1' in vmstation_selinux_ports.stdout"
  when: vmstation_os_family == 'redhat' and vmstation_selinux_enabled | default(true) and vmstation_syslog_server

- name: Install rsyslog.conf (checked with rsyslogd -N1 first)
  ansible.builtin.copy:
    src: "{{ vmstation_configs_dir }}/rsyslog/{{ inventory_hostname }}.conf"
    dest: /etc/rsyslog.conf
    owner: root
    group: root
    mode: "0644"
    validate: rsyslogd -N1 -f %s
  notify: Restart rsyslog


${ensureRunning('rsyslog', 'rsyslog', 'vmstation_rsyslog_down')}`;

const SYSLOG_HANDLERS = `---
- name: Restart journald
  ansible.builtin.service:
    name: systemd-journald
    state: restarted

- name: Restart rsyslog
  ansible.builtin.service:
    name: rsyslog
    state: restarted
`;

const KDC_TASKS = `---
- name: Check the Kerberos passwords were passed in
  ansible.builtin.assert:
    that:
      - vmstation_kerberos_master_password is defined
      - vmstation_kerberos_admin_password is defined
    fail_msg: "the Kerberos master and admin passwords come from the secrets file at run time: run \`vmstation host\` (or pass -e @FILE with vmstation_kerberos_master_password and vmstation_kerberos_admin_password)"
    quiet: true

- name: Install kdc.conf
  ansible.builtin.copy:
    src: "{{ vmstation_configs_dir }}/krb5/kdc.conf"
    dest: "{{ vmstation_krb5_kdc_dir }}/kdc.conf"
    owner: root
    group: root
    mode: "0644"
  notify: Restart the KDC

- name: Install kadm5.acl
  ansible.builtin.copy:
    src: "{{ vmstation_configs_dir }}/krb5/kadm5.acl"
    dest: "{{ vmstation_krb5_kdc_dir }}/kadm5.acl"
    owner: root
    group: root
    mode: "0644"
  notify: Restart the KDC

- name: Install krb5.conf
  ansible.builtin.copy:
    src: "{{ vmstation_configs_dir }}/krb5/krb5.conf"
    dest: /etc/krb5.conf
    owner: root
    group: root
    mode: "0644"

- name: Create the realm database
  ansible.builtin.command:
    cmd: kdb5_util create -s -r {{ vmstation_kerberos_realm }}
    creates: "{{ vmstation_krb5_database_dir }}/principal"
    stdin: "{{ vmstation_kerberos_master_password }}\\n{{ vmstation_kerberos_master_password }}"
  no_log: true

${ensureRunning('the KDC and kadmin', "{{ vmstation_krb5_kdc_services | join(' ') }}", 'vmstation_kdc_down')}
- name: Look up the admin principal
  ansible.builtin.command: kadmin.local -q "getprinc {{ vmstation_kerberos_admin_principal }}"
  changed_when: false
  register: vmstation_admin_principal

- name: Create the admin principal
  ansible.builtin.command:
    cmd: kadmin.local -q "addprinc {{ vmstation_kerberos_admin_principal }}"
    stdin: "{{ vmstation_kerberos_admin_password }}\\n{{ vmstation_kerberos_admin_password }}"
  register: vmstation_admin_created
  failed_when: "'created' not in vmstation_admin_created.stdout"
  when: "'does not exist' in (vmstation_admin_principal.stdout + vmstation_admin_principal.stderr)"
  no_log: true
`;

const KDC_HANDLERS = `---
- name: Restart the KDC
  ansible.builtin.service:
    name: "{{ item }}"
    state: restarted
  loop: "{{ vmstation_krb5_kdc_services }}"
`;

const KRB5_CLIENT_TASKS = `---
- name: Install krb5.conf
  ansible.builtin.copy:
    src: "{{ vmstation_configs_dir }}/krb5/krb5.conf"
    dest: /etc/krb5.conf
    owner: root
    group: root
    mode: "0644"

- name: Look for this host's key in its keytab
  ansible.builtin.command: klist -k {{ vmstation_host_keytab }}
  changed_when: false
  failed_when: false
  register: vmstation_keytab

- name: Create the host principal and its keytab (on the KDC)
  ansible.builtin.shell: |
    set -e
    kadmin.local -q "getprinc {{ vmstation_host_principal }}" 2>&1 | grep -q 'does not exist' && kadmin.local -q "addprinc -randkey {{ vmstation_host_principal }}"
    kadmin.local -q "ktadd -k {{ vmstation_host_keytab }} {{ vmstation_host_principal }}"
  when: vmstation_kdc and vmstation_host_principal not in vmstation_keytab.stdout

- name: Create the host principal (through kadmin)
  ansible.builtin.command:
    cmd: kadmin -p {{ vmstation_kerberos_admin_principal }} -q "addprinc -randkey {{ vmstation_host_principal }}"
    stdin: "{{ vmstation_kerberos_admin_password }}"
  register: vmstation_addprinc
  failed_when: "'created' not in vmstation_addprinc.stdout and 'already exists' not in (vmstation_addprinc.stdout + vmstation_addprinc.stderr)"
  when: not vmstation_kdc and vmstation_host_principal not in vmstation_keytab.stdout
  no_log: true

- name: Write the host keytab (through kadmin)
  ansible.builtin.command:
    cmd: kadmin -p {{ vmstation_kerberos_admin_principal }} -q "ktadd -k {{ vmstation_host_keytab }} {{ vmstation_host_principal }}"
    stdin: "{{ vmstation_kerberos_admin_password }}"
  register: vmstation_ktadd
  failed_when: "'added to keytab' not in vmstation_ktadd.stdout"
  when: not vmstation_kdc and vmstation_host_principal not in vmstation_keytab.stdout
  no_log: true

- name: Keep the keytab private
  ansible.builtin.file:
    path: "{{ vmstation_host_keytab }}"
    owner: root
    group: root
    mode: "0600"
`;

const FIREWALL_TASKS = `---
- name: Install the nftables rules (checked with nft -c first)
  ansible.builtin.copy:
    src: "{{ vmstation_configs_dir }}/firewall/{{ inventory_hostname }}.nft"
    dest: /etc/nftables.conf
    owner: root
    group: root
    mode: "0755"
    validate: nft -c -f %s
  notify: Load the nftables rules
  when: vmstation_os_family == 'debian'

${ensureRunning('nftables (loads the rules at boot)', 'nftables', 'vmstation_nftables_down', "vmstation_os_family == 'debian'")}
- name: Check the vmstation table is loaded
  ansible.builtin.command: nft list table inet vmstation
  changed_when: false
  failed_when: false
  register: vmstation_nft_table
  when: vmstation_os_family == 'debian'

- name: Load the nftables rules now
  ansible.builtin.command: nft -f /etc/nftables.conf
  when: vmstation_os_family == 'debian' and vmstation_nft_table.rc != 0

- name: Install the firewalld zone
  ansible.builtin.copy:
    src: "{{ vmstation_configs_dir }}/firewall/{{ inventory_hostname }}.xml"
    dest: /etc/firewalld/zones/public.xml
    owner: root
    group: root
    mode: "0644"
  notify: Reload firewalld
  when: vmstation_os_family == 'redhat'

- name: Install the firewalld trusted zone (pod and Service ranges, accepted and forwarded)
  ansible.builtin.copy:
    src: "{{ vmstation_configs_dir }}/firewall/trusted.xml"
    dest: /etc/firewalld/zones/trusted.xml
    owner: root
    group: root
    mode: "0644"
  notify: Reload firewalld
  when: vmstation_os_family == 'redhat'

${ensureRunning('firewalld', 'firewalld', 'vmstation_firewalld_down', "vmstation_os_family == 'redhat'")}
- name: Read the default zone
  ansible.builtin.command: firewall-cmd --get-default-zone
  changed_when: false
  register: vmstation_default_zone
  when: vmstation_os_family == 'redhat'

- name: Make public the default zone
  ansible.builtin.command: firewall-cmd --set-default-zone=public
  when: vmstation_os_family == 'redhat' and vmstation_default_zone.stdout | trim != 'public'
`;

const FIREWALL_HANDLERS = `---
- name: Load the nftables rules
  ansible.builtin.command: nft -f /etc/nftables.conf
  when: vmstation_os_family == 'debian'

- name: Reload firewalld
  ansible.builtin.command: firewall-cmd --reload
  when: vmstation_os_family == 'redhat'
`;

const SELINUX_FACTS = `---
- name: Read the SELinux mode
  ansible.builtin.command: getenforce
  changed_when: false
  failed_when: false
  register: vmstation_getenforce

- name: Remember whether SELinux is on
  ansible.builtin.set_fact:
    vmstation_selinux_enabled: "{{ vmstation_getenforce.rc == 0 and vmstation_getenforce.stdout | trim != 'Disabled' }}"
`;

/** Role files by path under `ansible/roles/`. */
export const ROLE_FILES: Readonly<Record<string, string>> = {
  'prep/tasks/main.yaml': `${PREP_TASKS}\n- name: SELinux\n  ansible.builtin.include_tasks: selinux.yaml\n  when: vmstation_os_family == 'redhat'\n`,
  'prep/tasks/selinux.yaml': SELINUX_FACTS,
  'power/tasks/main.yaml': POWER_TASKS,
  'chrony/tasks/main.yaml': CHRONY_TASKS,
  'chrony/handlers/main.yaml': CHRONY_HANDLERS,
  'syslog/tasks/main.yaml': SYSLOG_TASKS,
  'syslog/handlers/main.yaml': SYSLOG_HANDLERS,
  'kerberos_kdc/tasks/main.yaml': KDC_TASKS,
  'kerberos_kdc/handlers/main.yaml': KDC_HANDLERS,
  'kerberos_client/tasks/main.yaml': KRB5_CLIENT_TASKS,
  'firewall/tasks/main.yaml': FIREWALL_TASKS,
  'firewall/handlers/main.yaml': FIREWALL_HANDLERS,
};
