#!/usr/bin/env bash
# Set up, then check every claim in hypotheses/ on the bundled models and write the report.
# Hub-model claims load from the local Hugging Face cache, or skip at once (HF_HUB_OFFLINE=1 by
# default here); HF_HUB_OFFLINE=0 lets them download.
# The files of claims are spread over pytest-xdist workers (NEUROSPEC_WORKERS, default: 2, or 1
# on a single core; each file stays in one worker, so claims on the same data share its
# forward passes; each worker gets its share of the cores as torch threads).
#   bash scripts/run-claims.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1}
mkdir -p reports
cores=$(nproc 2>/dev/null || echo 1)
workers=${NEUROSPEC_WORKERS:-$(( cores < 2 ? 1 : 2 ))}
spread=()
if [ "$workers" -gt 1 ]; then
  spread=(-n "$workers" --dist loadfile)
fi
set +e
.venv/bin/python -m pytest hypotheses/ --html=reports/run.html --self-contained-html \
  --neurospec-json=reports/run.json "${spread[@]}" "$@"
rc=$?
set -e
echo
echo "report:  $(pwd)/reports/run.html"
echo "results: $(pwd)/reports/run.json"
exit $rc
