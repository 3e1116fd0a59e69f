#!/usr/bin/env bash
# The whole suite: installs what the tests need, then type check, lint, and the three vitest
# projects (vitest.config.ts): unit (pure) and local (real tools on loopback) in one run with the
# coverage gate, then lab (root; brings the lab up). `.only` fails the run (--allowOnly=false).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
echo "==> type check"
npm run -s typecheck
echo "==> lint (with import cycles)"
npm run -s lint
reports="$(mktemp -d)"
echo "==> unit and local tests, with the coverage gate"
npx vitest run --project unit --project local --allowOnly=false --coverage --reporter=default --reporter=json --outputFile.json="$reports/unit-local.json"
echo "==> lab tests (root)"
npx vitest run --project lab --allowOnly=false --reporter=default --reporter=json --outputFile.json="$reports/lab.json"
# One closing line for the whole run, counted from both runs' reports.
node -e '
  const fs = require("node:fs");
  let passed = 0, failed = 0, skipped = 0;
  for (const f of process.argv.slice(1)) {
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + (r.numTodoTests || 0);
  }
  console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
' "$reports/unit-local.json" "$reports/lab.json"
