// Our machine-readable output for ansible-playbook. ansible-core 2.14 ships no JSON-lines
// callback (ansible.posix.json/jsonl live in a collection we cannot assume), so VMStation carries
// this small one and writes it into a temporary folder for each run. It writes one JSON object per
// line to the file descriptor named by VMSTATION_ANSIBLE_EVENTS_FD (a pipe the runner reads while
// the playbook runs), next to the normal human output, which goes to the log file.
// Results of `no_log` tasks arrive here already censored by Ansible.

export const CALLBACK_NAME = 'vmstation_events';
export const EVENTS_FD_ENV = 'VMSTATION_ANSIBLE_EVENTS_FD';

export const CALLBACK_PLUGIN_SOURCE = `# Written by VMStation for each ansible-playbook run: task and host events as JSON lines.
from __future__ import annotations

DOCUMENTATION = '''
    name: ${CALLBACK_NAME}
    type: notification
    short_description: VMStation task and host events as JSON lines
    description:
      - Writes one JSON object per event to the file descriptor in VMSTATION_ANSIBLE_EVENTS_FD.
    requirements:
      - enabled through callbacks_enabled
'''

import json
import os

from ansible.plugins.callback import CallbackBase

TAIL = 4000


def _tail(value):
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    return value[-TAIL:]


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'notification'
    CALLBACK_NAME = '${CALLBACK_NAME}'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        fd = os.environ.get('${EVENTS_FD_ENV}')
        self._out = os.fdopen(int(fd), 'w', buffering=1) if fd else None
        self._task = None

    def _emit(self, event, **fields):
        if self._out is None:
            return
        fields['event'] = event
        try:
            self._out.write(json.dumps(fields, sort_keys=True, default=str) + '\\n')
        except (BrokenPipeError, OSError):
            self._out = None

    def v2_playbook_on_start(self, playbook):
        self._emit('playbook_start', playbook=playbook._file_name)

    def v2_playbook_on_play_start(self, play):
        self._emit('play_start', play=play.get_name(), hosts=play.hosts)

    def _task_start(self, task, handler):
        self._task = task
        role = task._role.get_name() if task._role else None
        self._emit('task_start', task=task.get_name(), role=role, handler=handler, path=task.get_path())

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_start(task, False)

    def v2_playbook_on_handler_task_start(self, task):
        self._task_start(task, True)

    def _result(self, status, result, **extra):
        r = result._result if isinstance(result._result, dict) else {}
        task = result._task
        fields = dict(
            host=result._host.get_name(),
            task=task.get_name(),
            role=task._role.get_name() if task._role else None,
            status=status,
            changed=bool(r.get('changed', False)),
            msg=_tail(r.get('msg')),
            rc=r.get('rc'),
            stdout=_tail(r.get('stdout')),
            stderr=_tail(r.get('stderr')),
            module_stderr=_tail(r.get('module_stderr')),
            censored=bool(r.get('censored')),
        )
        if isinstance(r.get('results'), list):
            failed = [x for x in r['results'] if isinstance(x, dict) and x.get('failed')]
            if failed:
                # A loop: name the first failed item and say what it reported.
                item = failed[0].get('item')
                label = failed[0].get('_ansible_item_label', item)
                fields['msg'] = _tail('%s (item %s: %s)' % (fields['msg'] or 'failed', label, failed[0].get('msg')))
                fields['stderr'] = fields['stderr'] or _tail(failed[0].get('stderr'))
                fields['rc'] = fields['rc'] if fields['rc'] is not None else failed[0].get('rc')
        fields.update(extra)
        self._emit('host_result', **fields)

    def v2_runner_on_ok(self, result):
        self._result('changed' if result._result.get('changed', False) else 'ok', result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result('failed', result, ignored=bool(ignore_errors))

    def v2_runner_on_skipped(self, result):
        self._result('skipped', result)

    def v2_runner_on_unreachable(self, result):
        self._result('unreachable', result)

    def v2_playbook_on_stats(self, stats):
        hosts = {}
        for h in sorted(stats.processed.keys()):
            s = stats.summarize(h)
            hosts[h] = dict(ok=s['ok'], changed=s['changed'], failed=s['failures'], unreachable=s['unreachable'],
                            skipped=s['skipped'], rescued=s['rescued'], ignored=s['ignored'])
        self._emit('stats', hosts=hosts)
`;
