// Running ansible-playbook from TypeScript: one runner, typed events, classified failures.
export { runPlaybook, requireSuccess, changedCount, ensureAnsibleVersion, withSecretVarsFile, playbookArgs, type PlaybookRunOptions, type PlaybookRunResult, type SpawnFn } from './runner.js';
export { classifyAnsibleRun, checkAnsibleVersion, parseAnsibleVersion, versionAtLeast, type FinishedRun } from './classify.js';
export { parseEventLine, formatHostResult, type AnsibleEvent, type HostResultEvent, type HostStats, type HostStatus } from './events.js';
export { CALLBACK_NAME, CALLBACK_PLUGIN_SOURCE } from './callback-plugin.js';
