#!/usr/bin/env bash
# Create .venv (if needed) and install neurospec with everything it needs, CPU torch first.
# Usage: source-free; called by run-claims.sh and run-tests.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# A plain `torch` requirement would pull a multi-GB CUDA build: pin the CPU wheel first.
# Set NEUROSPEC_TORCH to another spec (e.g. "torch" for a CUDA machine) to change that.
.venv/bin/python -m pip install -q --disable-pip-version-check "${NEUROSPEC_TORCH:-torch==2.13.0}"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]"
