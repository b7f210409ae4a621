"""Results files written by the previous version (schema ``neurospec.results/1``: skipped
tests in ``meta.skipped``, no ``collected``) still render, summarise and compare
(``tests/data/results_schema1.json`` was written by neurospec at commit d404b1e, from
hypotheses/test_planted.py, test_hub_seed_claims.py and test_tiny_bilingual_german_neuron.py;
one record of each kind and outcome kept)."""

from __future__ import annotations

import shutil
from pathlib import Path

from neurospec.cli import main
from neurospec.evidence.jsonio import read_results, write_results
from neurospec.evidence.results import state

OLD = Path(__file__).resolve().parents[1] / "data" / "results_schema1.json"


def test_a_schema_1_file_reads_with_its_skipped_tests_as_records():
    runs = read_results(OLD)
    assert len(runs) == 18 + 3
    states = [state(r) for r in runs]
    assert states.count("skipped") == 3 and "pass" in states and "expected fail" in states
    assert all(r.missed for r in runs if state(r) == "skipped")
    assert runs.collected is None  # it cannot say which tests it collected


def test_a_schema_1_file_renders_summarises_and_compares(tmp_path, capsys):
    old = tmp_path / "old.json"
    shutil.copy(OLD, old)
    page = tmp_path / "old.html"
    assert main(["report", str(old), "-o", str(page)]) == 0
    html = page.read_text()
    assert html.count('class="ns-card ') == 21 and "ns-badge-skipped" in html
    assert main(["summary", str(old)]) == 0
    out = capsys.readouterr().out
    assert "18 claim checks:" in out and "3 skipped" in out
    # the same claims written again by this version compare equal to the old file
    new = tmp_path / "new.json"
    write_results(new, list(read_results(old)), meta={"complete": True})
    assert main(["compare", str(old), str(new)]) == 0
    assert "0 newly failing, 0 not run, 0 broken on the head" in capsys.readouterr().out
    assert main(["compare", str(new), str(old)]) == 0
