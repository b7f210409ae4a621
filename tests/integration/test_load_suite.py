"""The load script keeps working: a small generated suite runs to verdicts (no errors), with a
record per claim check and a peak RSS far from unbounded.  The full 240-claim run is
``python benchmarks/load_suite.py`` (numbers in the README)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "load_suite.py"


@pytest.mark.slow
def test_generated_suite_runs_with_bounded_memory(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--claims", "20", "--keep",
                           str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    found = dict(re.findall(r"(\w+)=([\d.]+)", last))
    # a chained claim (raises_loss(...).and_not_on(...)) leaves one check per link it reaches
    assert found["claims"] == "20" and 20 <= int(found["checks"]) <= 40
    assert float(found["peak_rss_mb"]) < 2000
