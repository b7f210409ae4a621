#!/usr/bin/env bash
# Set up, then check every claim in hypotheses/ on the bundled models and write the report.
#   bash scripts/run-claims.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p reports
set +e
.venv/bin/python -m pytest hypotheses/ --html=reports/run.html --self-contained-html \
  --neurospec-json=reports/run.json "$@"
rc=$?
set -e
echo
echo "report:  $(pwd)/reports/run.html"
echo "results: $(pwd)/reports/run.json"
exit $rc
