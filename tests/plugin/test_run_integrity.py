"""The run as a whole tells the truth (issue 26, items 2, 6, 7): what runs is what was named,
the shared model stays the model named, option values and outputs are bounded and checked,
and outputs replace only files of their own kind."""

from __future__ import annotations

import json
import os
import textwrap

import pytest

CLAIM = textwrap.dedent('''
    import pytest
    from neurospec import expect

    pytestmark = pytest.mark.model("tiny-bilingual")

    def test_claim(corpus):
        expect("L0N125").activates_more(on=corpus("german").subset(12),
                                        than=corpus("english").subset(12), by_at_least=0.0)
''')


def test_a_checkpoint_of_another_model_stops_the_run_naming_both(pytester):
    pytester.makepyfile(test_planted='''
        import pytest
        from neurospec import expect

        @pytest.mark.model("planted")
        def test_animal(model, corpus):
            expect("L0N0").activates_more(on="planted_animals", than="planted_plain",
                                          by_at_least=0.1)
    ''')
    result = pytester.runpytest("--checkpoint", "tiny-bilingual@step3000", "-p",
                                "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--checkpoint=tiny-bilingual@step3000 is a checkpoint of "
                                 "'tiny-bilingual', but test_planted.py::test_animal* is about "
                                 "'planted'*"])


def test_a_record_measured_on_another_model_keeps_its_own_label(pytester):
    pytester.makepyfile(test_obj='''
        import pytest
        from neurospec import expect, load_model

        pytestmark = pytest.mark.model("tiny-bilingual")

        def test_both(model, corpus, neurospec_checkpoint):
            de, en = corpus("german").subset(12), corpus("english").subset(12)
            expect("L0N125").activates_more(on=de, than=en, by_at_least=0.0)
            other = load_model("tiny-bilingual@step150")
            expect("L0N125", model=other).activates_more(on=de, than=en, by_at_least=0.0)
    ''')
    pytester.runpytest("--checkpoint", "step3000", "--neurospec-json=run.json", "-p",
                       "no:cacheprovider")
    doc = json.loads((pytester.path / "run.json").read_text())
    labels = [(r["checkpoint"], r["model"]["checkpoint"]) for r in doc["records"]]
    assert labels == [("step3000", "step3000"), ("", "step150")]


def test_a_test_that_edits_the_shared_model_fails_and_later_tests_get_it_fresh(pytester):
    pytester.makepyfile(test_edit='''
        import pytest
        import torch
        from neurospec import expect

        pytestmark = pytest.mark.model("tiny-bilingual")

        def test_edits(model, corpus):
            expect("L0N125").activates_more(on=corpus("german").subset(12),
                                            than=corpus("english").subset(12), by_at_least=0.0)
            with torch.no_grad():
                next(model.bridge.parameters()).mul_(0.0)

        def test_later(model):
            assert model.weights_digest() == model.fingerprint_parts["weights"]
            expect("L0N125").activates_more(on="german", than="english", auroc_at_least=0.5)
    ''')
    result = pytester.runpytest("--neurospec-json=run.json", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*ModelModified: test_edit.py::test_edits changed the shared "
                                 "model tiny-bilingual (its weights (digest *"])
    doc = json.loads((pytester.path / "run.json").read_text())
    errors = [r for r in doc["records"] if r["verdict"] == "error"]
    assert [r["test"] for r in errors] == ["test_edit.py::test_edits"]
    assert errors[0]["missed"].startswith("ModelModified after the test: ")


@pytest.mark.parametrize("args, message", [
    (["--neurospec-threads", "100000"], "--neurospec-threads=100000: give 1 to"),
    (["--neurospec-max-batch-tokens", "10000000000"], "give 1 to 262144 tokens per batch"),
    (["--neurospec-cache-mb", "1e12"], "to this machine's memory"),
    (["--neurospec-json", ""], "--neurospec-json='': give the path of the results file"),
    (["--neurospec-max-context", "1"], "give a context of 2 or more tokens"),
])
def test_unbounded_option_values_are_usage_errors(pytester, args, message):
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    result = pytester.runpytest(*args, "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


def test_an_output_path_holding_another_file_is_never_overwritten(pytester):
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    notes = pytester.path / "notes.json"
    notes.write_text('{"my": "notes"}')
    page = pytester.path / "page.html"
    page.write_text("<html>my page</html>")
    for args, path in ((["--neurospec-json", "notes.json"], notes), (["--html", "page.html"], page)):
        before = path.read_text()
        result = pytester.runpytest(*args, "-p", "no:cacheprovider")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        assert "exists and is not a neurospec" in result.stderr.str()
        assert path.read_text() == before
    # a results file of neurospec's own is replaced as before
    pytester.makepyfile(test_claim=CLAIM)
    assert pytester.runpytest("--neurospec-json=run.json", "-p", "no:cacheprovider").ret == 0
    assert pytester.runpytest("--neurospec-json=run.json", "-p", "no:cacheprovider").ret == 0


def test_a_symlinked_results_path_keeps_its_link_and_says_so(pytester):
    pytester.makepyfile(test_claim=CLAIM)
    (pytester.path / "store").mkdir()
    os.symlink("store/run.json", pytester.path / "run.json")
    result = pytester.runpytest("--neurospec-json=run.json", "-p", "no:cacheprovider")
    assert result.ret == 0
    assert (pytester.path / "run.json").is_symlink()
    doc = json.loads((pytester.path / "store" / "run.json").read_text())
    assert doc["records"][0]["verdict"] == "pass"
    result.stdout.fnmatch_lines(["*--neurospec-json=run.json is a symbolic link: writing to "
                                 "its target *store/run.json (the link stays)*"])


def test_two_runs_writing_one_html_report_are_refused(pytester):
    from neurospec.plugin.guards import ResultsLock

    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    first = ResultsLock(pytester.path / "run.html", "--html")
    first.acquire()
    try:
        result = pytester.runpytest_subprocess("--html=run.html", "-p", "no:cacheprovider")
    finally:
        first.release()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--html=" in result.stderr.str() and "is being written by another run" in \
        result.stderr.str()


def test_a_full_disk_under_html_fails_the_run_with_the_reason(pytester):
    pytester.makeconftest('''
        import os

        def _full(*a, **k):
            raise OSError(28, "No space left on device")

        os.fsync = _full
    ''')
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    result = pytester.runpytest_subprocess("--html=run.html", "-p", "no:cacheprovider")
    out = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in out
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*neurospec: could not write the HTML report*No space left*"])


def test_a_full_disk_at_start_is_a_usage_error(pytester):
    pytester.makeconftest('''
        import builtins

        _open = builtins.open

        class Full:
            """A file on a full disk: it opens (and locks), but nothing can be written."""

            def __init__(self, fh):
                self.fh = fh

            def __getattr__(self, name):
                return getattr(self.fh, name)

            def write(self, text):
                raise OSError(28, "No space left on device")

        def full_open(path, *args, **kwargs):
            fh = _open(path, *args, **kwargs)
            return Full(fh) if str(path).endswith(".lock") else fh

        builtins.open = full_open
    ''')
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    result = pytester.runpytest_subprocess("--neurospec-json=run.json", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "INTERNALERROR" not in result.stderr.str()
    assert "No space left on device" in result.stderr.str()
