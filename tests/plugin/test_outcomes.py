"""Every claim test's outcome reaches the results, the summary, the report and compare: an
error, a test that stated no claim, a failure the test caught, an xfail that errored, a
skipped test, a test that never ran; and compare tells a test removed on purpose from one
that did not run."""

import json
import textwrap

import pytest
from four_states import FOUR_STATES


def states_of(path):
    from neurospec.evidence.jsonio import read_results
    from neurospec.evidence.results import state

    return {r.test.split("::")[-1]: state(r) for r in read_results(path)}


@pytest.fixture(scope="module")
def four(tmp_path_factory):
    """One run of FOUR_STATES (in a subprocess: pytester's in-process runs share a model
    cache that would hide nothing here, but the run's exit code matters)."""
    import subprocess
    import sys

    folder = tmp_path_factory.mktemp("four")
    (folder / "test_four.py").write_text(FOUR_STATES)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--neurospec-json=run.json",
         "--html=run.html", "--self-contained-html", "test_four.py"],
        cwd=folder, capture_output=True, text=True, timeout=600)
    return folder, proc


def test_every_outcome_is_a_distinct_state_in_the_results(four):
    folder, proc = four
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert states_of(folder / "run.json") == {
        "test_holds": "pass", "test_mistyped_corpus": "error", "test_no_claim": "no claim",
        "test_lookup_without_call": "no claim", "test_caught": "caught",
        "test_mistyped_xfail": "errored xfail", "test_false": "expected fail"}
    out = proc.stdout
    # pytest itself: the mistyped xfail is a failure, not an expected one
    assert "1 passed" not in out and "2 passed" in out and "1 xfailed" in out
    assert "4 failed" in out
    assert ("neurospec: 3 claim checks: 1 error \u00b7 1 errored xfail \u00b7 2 no claim \u00b7 "
            "1 caught \u00b7 1 pass \u00b7 1 expected fail") in out
    assert "CAUGHT: test_four.py::test_caught" in out


def test_no_claim_names_the_missing_call(four):
    folder, _ = four
    doc = json.loads((folder / "run.json").read_text())
    why = {r["test"].split("::")[-1]: r["missed"] for r in doc["records"]}
    claims = {r["test"].split("::")[-1]: r["claim"] for r in doc["records"]}
    assert claims["test_no_claim"] == "expect('L0N125').ablated(to='mean', over='english[:12]')"
    assert why["test_no_claim"].startswith(
        "states no claim: follow it with one of .and_not_on(...), .deboosts_tokens(...), "
        ".raises_loss(...)")
    assert claims["test_lookup_without_call"] == "expect('L0N125')"
    assert why["test_lookup_without_call"].startswith(
        "states no claim: .activates_more was looked up but never called")
    assert why["test_mistyped_xfail"].startswith("DatasetError: no dataset named 'englsh'")


def test_summary_and_compare_show_the_four_states(four, capsys):
    from neurospec.cli import main

    folder, _ = four
    run = str(folder / "run.json")
    assert main(["summary", run]) == 0
    md = capsys.readouterr().out
    for s in ("| error |", "| errored xfail |", "| no claim |", "| caught |", "| expected fail |",
              "| pass |"):
        assert s in md, s
    # the same run as its own base: nothing changed, yet it is not green (broken head)
    assert main(["compare", run, run]) == 1
    out = capsys.readouterr().out
    assert out.startswith("### :x: neurospec: 0 newly failing, 0 not run, 4 broken on the head")
    assert "#### Broken on the head (errors, no claim stated, not run) (4)" in out


def test_html_report_shows_each_state(four):
    folder, _ = four
    html = (folder / "run.html").read_text()
    for state in ("error", "errored-xfail", "no-claim", "caught", "expected-fail", "pass"):
        assert f'ns-badge-{state}"' in html, state
    assert "no dataset named &#39;germn&#39;" in html


BASE = textwrap.dedent('''
    import pytest
    from neurospec import expect

    pytestmark = pytest.mark.model("tiny-bilingual")

    def test_a(corpus):
        expect("L0N125").activates_more(on=corpus("german").subset(12),
                                        than=corpus("english").subset(12), by_at_least=0.0)

    def test_b(corpus):
        expect("L0N125").activates_more(on=corpus("german").subset(12, start=12),
                                        than=corpus("english").subset(12), by_at_least=0.0)
''')


def _run(pytester, name, *args):
    pytester.runpytest(f"--neurospec-json={name}", "-p", "no:cacheprovider", *args)
    return str(pytester.path / name)


def test_compare_tells_removed_from_not_run(pytester, capsys):
    from neurospec.cli import main

    pytester.makepyfile(test_ns_outcome_claims=BASE)
    base = _run(pytester, "base.json")
    filtered = _run(pytester, "filtered.json", "-k", "test_a")
    # the PR branch mistypes test_b's corpus: it errors, and must not read as "removed"
    pytester.makepyfile(test_ns_outcome_claims=BASE.replace('subset(12, start=12)', 'subset(0)'))
    errored = _run(pytester, "errored.json")
    # the PR removes test_b from the suite: removed on purpose, not a regression
    pytester.makepyfile(test_ns_outcome_claims=BASE.split("def test_b")[0])
    removed = _run(pytester, "removed.json")
    capsys.readouterr()

    assert main(["compare", base, removed]) == 0
    out = capsys.readouterr().out
    assert "1 removed" in out and "0 not run" in out

    assert main(["compare", base, filtered]) == 1  # -k left test_b out: not run
    out = capsys.readouterr().out
    assert "1 not run" in out and "selected a subset of the tests" in out

    assert main(["compare", base, errored]) == 1
    out = capsys.readouterr().out
    assert "1 newly failing" in out and "1 broken on the head" in out


def test_a_collection_error_is_in_the_results(pytester):
    pytester.makepyfile(test_ns_outcome_ok=BASE, test_ns_outcome_broken="import no_such_module_here\n")
    result = pytester.runpytest("--neurospec-json=run.json", "-p", "no:cacheprovider")
    assert result.ret != 0
    doc = json.loads((pytester.path / "run.json").read_text())
    errors = [r for r in doc["records"] if r["verdict"] == "error"]
    assert errors and errors[0]["test"] == "test_ns_outcome_broken.py"
    assert "no_such_module_here" in errors[0]["missed"]


def test_a_claim_error_on_the_head_is_a_regression_of_the_base(pytester, capsys):
    from neurospec.cli import main

    pytester.makepyfile(test_ns_outcome_claims=BASE)
    base = _run(pytester, "base.json")
    pytester.makepyfile(test_ns_outcome_claims=BASE.replace('corpus("german").subset(12)',
                                                 'corpus("germn").subset(12)'))
    head = _run(pytester, "head.json")
    capsys.readouterr()
    assert main(["compare", base, head, "--format", "github"]) == 1
    out = capsys.readouterr().out
    assert "::error title=neurospec claim now fails::" in out
    assert "removed" not in out.split("\n")[0] or "0 removed" in out


def test_a_stopped_run_lists_what_did_not_run(pytester):
    pytester.makepyfile(test_ns_outcome_claims=BASE.replace(
        "def test_b", "def test_stop():\n    assert False\n\ndef test_b"))
    result = pytester.runpytest("--neurospec-json=run.json", "-p", "no:cacheprovider", "-x")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    doc = json.loads((pytester.path / "run.json").read_text())
    states = {r["test"].split("::")[-1]: r["verdict"] for r in doc["records"]}
    assert states.get("test_b") == "not run"
    assert doc["meta"]["complete"] is False
