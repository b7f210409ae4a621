#!/usr/bin/env bash
# Set up, then run neurospec's own test suite (unit, plugin, integration; gpu tests skip
# without CUDA).
#   bash scripts/run-tests.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest tests/ "$@"
