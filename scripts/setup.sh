#!/usr/bin/env bash
# Create .venv (if needed) and install neurospec with everything it needs, CPU torch first,
# every other package at the version in constraints.txt (the versions the tests last passed
# with), so a new release on the index cannot change what the README's commands install.
#   NEUROSPEC_TORCH=spec     another torch (e.g. "torch" on a CUDA machine); default torch==2.13.0
#   NEUROSPEC_UNPINNED=1     ignore constraints.txt: the newest versions pyproject allows (drift check)
# Usage: source-free; called by run-claims.sh and run-tests.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
pin=(-c constraints.txt)
if [ "${NEUROSPEC_UNPINNED:-}" = 1 ]; then
  pin=()
  echo "setup: NEUROSPEC_UNPINNED=1, installing the newest versions pyproject.toml allows" >&2
fi
pip=(.venv/bin/python -m pip install -q --disable-pip-version-check)
# A plain `torch` requirement would pull a multi-GB CUDA build: pin the CPU wheel first.
"${pip[@]}" "${NEUROSPEC_TORCH:-torch==2.13.0}"
"${pip[@]}" ${pin[@]+"${pin[@]}"} -e ".[dev,docs,nnsight]"
