#!/usr/bin/env bash
# Set up, then run neurospec's own test suite (unit, plugin, integration; gpu tests skip
# without CUDA). The test files are spread over pytest-xdist workers (NEUROSPEC_WORKERS,
# default: 2, or 1 on a single core; each file stays in one worker, so its module fixtures
# load once).
#   bash scripts/run-tests.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cores=$(nproc 2>/dev/null || echo 1)
workers=${NEUROSPEC_WORKERS:-$(( cores < 2 ? 1 : 2 ))}
spread=()
if [ "$workers" -gt 1 ]; then
  spread=(-n "$workers" --dist loadfile)
fi
exec .venv/bin/python -m pytest tests/ "${spread[@]}" "$@"
