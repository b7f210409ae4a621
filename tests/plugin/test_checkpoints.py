"""``--checkpoint`` runs every claim per training checkpoint of tiny-bilingual (the German
neuron forms between step150 and step750), and ``neurospec compare`` on the results of two
real runs gives the expected markdown and exit codes."""

import json
import textwrap
from pathlib import Path

from neurospec.cli import main

CLAIMS = textwrap.dedent('''
    import pytest
    from neurospec import expect

    pytestmark = pytest.mark.model("tiny-bilingual")
    UNIT = "L0N125"

    def german(corpus):
        return corpus("german").subset(60)

    def english(corpus):
        return corpus("english").subset(60)

    def test_fires_on_german(corpus):
        expect(UNIT).activates_more(on=german(corpus), than=english(corpus),
                                    auroc_at_least=0.85)

    def test_fires_by_a_clear_margin(corpus):
        expect(UNIT).activates_more(on=german(corpus), than=english(corpus), by_at_least=1.0)

    def test_ablating_it_hurts_german(corpus):
        expect(UNIT).ablated(to="mean", over=english(corpus)).raises_loss(
            on=german(corpus), by_at_least=0.03)
''')


def _run(pytester, *args):
    pytester.makepyfile(test_inner_claims=CLAIMS)
    return pytester.runpytest("-p", "no:cacheprovider", *args)


def test_checkpoint_option_parametrises_model_tests(pytester):
    result = _run(pytester, "--collect-only", "-q", "--checkpoint", "step150",
                  "--checkpoint", "step3000", "--checkpoint", "step150")
    result.stdout.fnmatch_lines(["*::test_fires_on_german[[]step150[]]",
                                 "*::test_fires_on_german[[]step3000[]]", "*6 tests collected*"])


def test_an_unknown_checkpoint_says_which_exist(pytester):
    result = _run(pytester, "--checkpoint", "step9", "-k", "fires_on_german")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*has no checkpoint 'step9'; available: step150, step1500*"])


def test_two_real_checkpoint_runs_matrix_and_compare(pytester, capsys, monkeypatch):
    for ckpt in ("step150", "step3000"):
        result = _run(pytester, "--checkpoint", ckpt, f"--neurospec-json={ckpt}.json")
        result.assert_outcomes(passed=1 if ckpt == "step150" else 3,
                               failed=2 if ckpt == "step150" else 0)
    early, late = (str(pytester.path / f"{c}.json") for c in ("step150", "step3000"))
    doc = json.loads(Path(early).read_text())
    assert {(r["test"].split("::")[-1], r["checkpoint"], r["model"]["checkpoint"])
            for r in doc["records"]} == {
        ("test_fires_on_german[step150]", "step150", "step150"),
        ("test_fires_by_a_clear_margin[step150]", "step150", "step150"),
        ("test_ablating_it_hurts_german[step150]", "step150", "step150")}

    # Both runs in one report: the matrix shows the two claims starting to hold.
    assert main(["report", early, late, "-o", str(pytester.path / "both.html")]) == 0
    html = (pytester.path / "both.html").read_text()
    assert "3 claims x 2 models / checkpoints" in html
    assert html.count("ns-m-pass ns-m-flip") == 2
    assert main(["summary", early, late]) == 0
    assert "| claim | step150 | step3000 | holds from |" in capsys.readouterr().out

    assert main(["compare", early, late]) == 0  # claims started holding: no regression
    out = capsys.readouterr().out
    assert out.startswith("### :white_check_mark: neurospec: 0 newly failing, 0 not run, "
                          "0 broken on the head, 2 newly passing, 0 new, 0 removed")
    assert "base `step150.json`: 3 claim checks on step150" in out
    assert "#### Newly passing (2)" in out and "test_fires_by_a_clear_margin`" in out

    assert main(["compare", late, early]) == 1  # the other way round: two regressions
    out = capsys.readouterr().out
    assert "### :x: neurospec: 2 newly failing, 0 not run, 0 broken on the head, 0 newly passing" in out
    assert "| ablating L0N125 (mean over english[:60], " in out
    assert main(["compare", late, early, "--fail-on", "never"]) == 0
    assert main(["compare", late, late, "--fail-on", "change"]) == 0
    capsys.readouterr()

    summary = pytester.path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert main(["compare", late, early, "--format", "github"]) == 1
    annotations = capsys.readouterr().out.splitlines()
    assert len(annotations) == 2 and annotations[0].startswith("::error title=neurospec")
    assert "2 newly failing" in summary.read_text()


def test_a_run_over_checkpoints_fails_on_regressions_not_on_youth(pytester):
    # The German neuron forms between step150 and step3000: failing at step150 is youth.
    result = _run(pytester, "--checkpoint", "step150", "--checkpoint", "step3000",
                  "-k", "fires_on_german or clear_margin", "--neurospec-json=both.json")
    result.assert_outcomes(passed=3, failed=1)  # by >= 1 does not hold yet at step150
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        "*neurospec: 1 failing test on checkpoints before the claim starts to hold: not a "
        "failure of the run (--neurospec-checkpoint-verdict=no-regression)*"])
    every = _run(pytester, "--checkpoint", "step150", "--checkpoint", "step3000",
                 "-k", "clear_margin", "--neurospec-checkpoint-verdict=every")
    assert every.ret == 1
    assert main(["summary", str(pytester.path / "both.json")]) == 0
