// The power role: Wake-on-LAN and suspend readiness on the sleepers, and the power manager's
// command-restricted key. Role source code like roles.ts: no value of the cluster file is
// interpolated here.

export const POWER_TASKS = `---
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

- name: The power manager's public key is given (vmstation host passes it)
  ansible.builtin.assert:
    that: vmstation_power_ssh_public_key is defined
    fail_msg: run the host layer with vmstation host, which creates the power manager's key in the secrets file and passes its public half
    quiet: true
  when: vmstation_power_key_enabled

- name: Install the suspend program (the only command the power manager's key runs)
  ansible.builtin.copy:
    src: "{{ vmstation_configs_dir }}/power/{{ inventory_hostname }}-suspend.sh"
    dest: "{{ vmstation_power_suspend_script }}"
    owner: root
    group: root
    mode: "0755"
  when: vmstation_power_key_enabled

- name: SSH folder of the suspend user
  ansible.builtin.file:
    path: "~{{ ansible_user }}/.ssh"
    state: directory
    owner: "{{ ansible_user }}"
    mode: "0700"
  when: vmstation_power_key_enabled

- name: Authorize the power manager's key for the suspend program only (restrict, from=, command=)
  ansible.builtin.lineinfile:
    path: "~{{ ansible_user }}/.ssh/authorized_keys"
    create: true
    owner: "{{ ansible_user }}"
    mode: "0600"
    regexp: " {{ vmstation_power_key_comment }}$"
    line: "{{ vmstation_power_key_options }} {{ vmstation_power_ssh_public_key }}"
  when: vmstation_power_key_enabled
`;
