#!/usr/bin/env node
// Entry point: the compiled CLI lives in dist/ (npm run build).
import('../dist/cli/main.js').then((m) => m.main(process.argv)).catch((err) => {
  console.error('vmstation: internal error while starting:', err && err.message ? err.message : err);
  console.error('This is a bug in vmstation; please report it with the output of the same command run with --debug.');
  process.exit(70);
});
