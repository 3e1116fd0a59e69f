// The Kerberos roles: the KDC with kadmin, and the clients' krb5.conf and host keytabs. Role
// source code like roles.ts: no value of the cluster file is interpolated here.
import { ensureRunning } from './ensure-running.js';

export const KDC_TASKS = `---
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

export const KDC_HANDLERS = `---
- name: Restart the KDC
  ansible.builtin.service:
    name: "{{ item }}"
    state: restarted
  loop: "{{ vmstation_krb5_kdc_services }}"
`;

export const KRB5_CLIENT_TASKS = `---
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
