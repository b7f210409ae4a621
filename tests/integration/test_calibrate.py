"""The calibration script's quick mode: it exits 0 (no kind's false-pass rate significantly
above alpha, power >= 0.9 at d = 0.8, n = 100) and ends with the three figures."""

import re
import subprocess
import sys


def test_quick_calibration_meets_its_bounds(tmp_path):
    out = tmp_path / "calibration.md"
    run = subprocess.run([sys.executable, "-m", "neurospec.calibrate", "--quick", "--out",
                          str(out)], capture_output=True, text=True, timeout=600)
    last = run.stdout.strip().splitlines()[-1]
    m = re.fullmatch(r"false_pass_rate=([\d.]+) power_d0\.8_n100=([\d.]+) kinds=(\d+)", last)
    assert m, run.stdout[-2000:] + run.stderr[-2000:]
    assert run.returncode == 0, run.stdout[-3000:]
    assert float(m[1]) <= 0.12 and float(m[2]) >= 0.9 and int(m[3]) >= 5
    table = out.read_text()
    assert "| head_ablation | paired |" in table and "Clopper-Pearson" in table
