#!/usr/bin/env node
// Entry point: the compiled CLI lives in dist/ (npm run build). `validate` starts from its bundle
// (dist/bundle/validate/, scripts/bundle-validate.js: the same code with yaml and commander inlined),
// because its start-up time is a target (issue 16 §7); every other verb from dist/cli/main.js.
const verb = process.argv.slice(2).find((a) => !a.startsWith('-'));
const entry = verb === 'validate' ? '../dist/bundle/validate/main.js' : '../dist/cli/main.js';
import(entry).then((m) => m.main(process.argv)).catch((err) => {
  console.error('vmstation: internal error while starting:', err && err.message ? err.message : err);
  console.error('This is a bug in vmstation; please report it with the output of the same command run with --debug.');
  process.exit(70);
});
