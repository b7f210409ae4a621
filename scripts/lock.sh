#!/usr/bin/env bash
# Regenerate constraints.txt: install the newest versions pyproject.toml allows into a
# throw-away venv, then record them. Run the tests against the new lock before committing it.
#   bash scripts/lock.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"${PYTHON:-python3}" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q --disable-pip-version-check "${NEUROSPEC_TORCH:-torch==2.13.0}"
"$tmp/venv/bin/python" -m pip install -q --disable-pip-version-check ".[dev,docs,nnsight]"
{
  echo "# The exact versions neurospec's tests last passed with (Python 3.11, Linux, CPU)."
  echo "# scripts/setup.sh installs with these as pip constraints; torch is pinned by setup.sh itself"
  echo "# (NEUROSPEC_TORCH). Regenerate: bash scripts/lock.sh   Test without them: NEUROSPEC_UNPINNED=1"
  "$tmp/venv/bin/python" -m pip freeze --exclude-editable | grep -v -e '^torch==' -e '^neurospec' -e '^-e '
} > constraints.txt
echo "constraints.txt: $(grep -c '==' constraints.txt) pinned packages"
