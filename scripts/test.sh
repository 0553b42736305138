#!/usr/bin/env bash
# The one test command (npm test): type check, lint, every test, then a plain "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-browser.sh || exit 1
echo "── type check" && npx tsc -p tsconfig.json || exit 1
echo "── lint" && npx biome check . || exit 1
mkdir -p .test-artifacts
echo "── tests"
npx vitest run --reporter=default --reporter=json --outputFile.json=.test-artifacts/vitest.json "$@"
rc=$?
node scripts/test-summary.mjs .test-artifacts/vitest.json || rc=1
exit $rc
