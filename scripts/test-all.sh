#!/usr/bin/env bash
# The whole suite: installs what the tests need, then type check, lint, unit and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
echo "==> type check"
npm run -s typecheck
echo "==> lint"
npm run -s lint
reports="$(mktemp -d)"
echo "==> tests"
npx vitest run --project unit --reporter=default --reporter=json --outputFile.json="$reports/unit.json"
echo "==> integration tests (the lab)"
npx vitest run --project integration --reporter=default --reporter=json --outputFile.json="$reports/integration.json"
# One closing line for the whole run, counted from both projects' reports.
node -e '
  const fs = require("node:fs");
  let passed = 0, failed = 0, skipped = 0;
  for (const f of process.argv.slice(1)) {
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + (r.numTodoTests || 0);
  }
  console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
' "$reports/unit.json" "$reports/integration.json"
