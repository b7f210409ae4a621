"""The report is made once the run is over: a claim that Holm's correction demotes shows as
a failure everywhere, expected failures and skipped claims are counted apart, and the
report reads in attention order.  Records come from ``emit`` (no model needed)."""

import json
import re
import textwrap

CLAIMS = textwrap.dedent('''
    import pytest
    from dataclasses import replace
    from neurospec.evidence.sink import emit
    from neurospec.report.samples import sample_record

    def rec(i, p, verdict="pass"):
        return replace(sample_record(i), p=p, verdict=verdict, missed="", claim=f"claim {i}",
                       test="")

    def test_strong():
        emit(rec(0, 0.001))

    def test_weak():  # holds alone; Holm over three claims: 2 x 0.04 = 0.08 > 0.05
        emit(rec(1, 0.04))

    @pytest.mark.xfail(strict=True, reason="deliberately false")
    def test_false():
        emit(rec(2, 0.5, "fail"))
        raise AssertionError("claim 2 failed as it should")

    def test_needs_hub():
        pytest.skip("pythia-70m is not cached")
''')


def test_holm_demoted_claim_is_a_failure_in_every_view(pytester):
    pytester.makepyfile(test_inner=CLAIMS)
    result = pytester.runpytest("--neurospec-correct=holm", "--neurospec-json=run.json",
                                "--html=run.html", "--self-contained-html",
                                "-p", "no:cacheprovider")
    assert result.ret == 1
    result.stdout.fnmatch_lines([
        "*neurospec: 3 claim checks: 1 fail \u00b7 1 pass \u00b7 1 expected fail \u00b7 "
        "1 skipped*", "FAILED after Holm correction: *claim 1*"])
    doc = json.loads((pytester.path / "run.json").read_text())
    verdicts = {r["claim"]: (r["verdict"], r["outcome"]) for r in doc["records"]
                if r["kind"] != "test_outcome"}
    assert verdicts == {"claim 0": ("pass", "passed"), "claim 1": ("fail", "passed"),
                        "claim 2": ("fail", "xfailed")}
    assert [(r["test"], r["missed"]) for r in doc["records"] if r["verdict"] == "skipped"] == [
        ("test_inner.py::test_needs_hub", "pythia-70m is not cached")]
    html = (pytester.path / "run.html").read_text()
    cards = re.findall(r'<div class="ns-card ns-([\w-]+)"[^>]*id="ns-card-(\d+)">.*?'
                       r'class="ns-claim">([^<]*)<', html, re.S)
    # attention order: the demoted claim first, the skipped test, the pass, the expected
    # failure last
    assert [(c, s) for s, _, c in cards] == [("claim 1", "fail"), ("test_needs_hub", "skipped"),
                                            ("claim 0", "pass"), ("claim 2", "expected-fail")]
    assert 'ns-badge-skipped">skipped' in html and "pythia-70m is not cached" in html
    # pytest-html's row of the expected failure: one line, not the traceback
    assert "expected failure (xfail: deliberately false)" in html
    assert "claim 2 failed as it should" not in html


def test_markdown_summary_counts_expected_failures_apart(pytester, capsys):
    from neurospec.cli import main

    pytester.makepyfile(test_inner=CLAIMS)
    pytester.runpytest("--neurospec-json=run.json", "-p", "no:cacheprovider")
    assert main(["summary", str(pytester.path / "run.json")]) == 0
    out = capsys.readouterr().out
    assert "3 claim checks: 2 pass \u00b7 1 expected fail \u00b7 1 skipped" in out
    rows = [line.split(" | ")[0] for line in out.splitlines() if line.startswith("| ")][1:]
    assert rows == ["| skipped", "| pass", "| pass", "| expected fail"]
