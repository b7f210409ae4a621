#!/usr/bin/env bash
# Set up, then check every claim in hypotheses/ on the bundled models and write the report.
# Hub-model claims load from the local Hugging Face cache, or skip at once (HF_HUB_OFFLINE=1 by
# default here); HF_HUB_OFFLINE=0 lets them download.
#   bash scripts/run-claims.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1}
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
