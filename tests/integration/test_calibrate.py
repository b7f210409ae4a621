"""The calibration script's quick mode: every case is decided and reported with its
binomial interval, the bundled model's cases stay near the nominal 0.025, the cases where
no test of a mean can hold its level are marked as such, every other case's Clopper-Pearson
upper bound is at most 0.05 (exit status 0), and it ends with the three figures.  Its real-data
rows (issue 30: the bundled model's activations and loss changes on the bundled corpora, the
truth the value on the whole pools) are decided and held to the same targets; the rows that
show the behaviour before a fix are marked as comparisons."""

import re
import subprocess
import sys


def test_quick_calibration_covers_the_cases(tmp_path):
    out = tmp_path / "calibration.md"
    run = subprocess.run([sys.executable, "-m", "neurospec.calibrate", "--quick", "--out",
                          str(out)], capture_output=True, text=True, timeout=900)
    last = run.stdout.strip().splitlines()[-1]
    m = re.fullmatch(r"false_pass_rate=([\d.]+) power_d0\.8_n100=([\d.]+) kinds=(\d+)", last)
    assert m, run.stdout[-2000:] + run.stderr[-2000:]
    assert run.returncode == 0, run.stdout[-3000:]
    assert float(m[1]) <= 0.035 and float(m[2]) >= 0.9 and int(m[3]) >= 30
    table = out.read_text()
    rows = [r for r in table.splitlines() if r.startswith("| ") and "/" in r]
    for group in ("bundled model, threshold 0", "threshold > 0", "sample size",
                  "unequal sets", "skew against the claim", "sparse features",
                  "Holm families", "AUROC and token d", "random-unit baselines", "vacuity",
                  "units picked from the data"):
        assert any(r.startswith(f"| {group} |") for r in rows), group
    bundled = [r for r in rows if r.startswith(("| bundled model", "| threshold > 0",
                                                "| sample size", "| Holm families"))]
    rates = [float(r.split("|")[4]) for r in bundled]
    assert len(bundled) >= 13 and max(rates) <= 0.075, bundled
    assert "| skew against the claim | lognormal sigma 2, n=10 |" in table
    assert "no valid mean test" in table and "Clopper-Pearson" in table
    assert "## False passes on real activations" in table
    real = [r for r in rows if r.startswith("| real")]
    targets = [r for r in real if "not a target" not in r]
    for what in ("token AUROC", "token d", "difference of means", "loss", "grouped near-copies",
                 "beats_percentile_of_layer", "drives(): L0T341 -> L1T109",
                 "path L0T341 -> L1T109 -> logit"):
        assert any(what in r for r in targets), what
    assert all(r.split("|")[-2].strip().startswith("ok") for r in targets), targets
    assert any("versions as documents" in r and "not a target" in r for r in real)
