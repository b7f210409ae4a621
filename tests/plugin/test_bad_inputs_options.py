"""Issue 14 at the plugin: every bad option value is a usage error at start-up naming the
option and its range; a run that checked nothing does not pass; a results file has one
writer; a write error is recorded, the tests finish and the run fails; a run's results say
whether it completed."""

from __future__ import annotations

import json
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
NO_MODEL = "def test_plain():\n    assert True\n"


def _usage(pytester, *args: str, files: dict | None = None) -> str:
    pytester.makepyfile(**(files or {"test_plain": NO_MODEL}))
    result = pytester.runpytest(*args, "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
    out = result.stderr.str() + result.stdout.str()
    assert "INTERNALERROR" not in out and "Traceback" not in out
    return result.stderr.str()


@pytest.mark.parametrize("args, says", [
    (["--neurospec-seed=-1"], "--neurospec-seed=-1: a seed is a whole number in 0 .. 4294967295"),
    (["--neurospec-seed=4294967296"], "--neurospec-seed=4294967296"),
    (["--neurospec-min-docs=0"], "--neurospec-min-docs=0: a confidence interval needs at least 2"),
    (["--neurospec-min-docs=-3"], "--neurospec-min-docs=-3"),
    (["--neurospec-threads=-1"], "--neurospec-threads=-1: give 1 to"),
    (["--neurospec-threads=0"], "--neurospec-threads=0"),
    (["--neurospec-cache-mb=nan"], "--neurospec-cache-mb=nan: give a size in MB from 0"),
    (["--neurospec-cache-mb=inf"], "--neurospec-cache-mb=inf"),
    (["--neurospec-vacuity=-2"], "--neurospec-vacuity=-2: give a number of random units >= 0"),
    (["--neurospec-max-batch-tokens=0"], "--neurospec-max-batch-tokens"),
])
def test_bad_option_values_are_usage_errors(pytester, args, says):
    assert says in _usage(pytester, *args)


def test_bad_ini_seed_is_a_usage_error(pytester):
    pytester.makeini("[pytest]\nneurospec_seed = minus one\n")
    assert "neurospec_seed (ini)='minus one'" in _usage(pytester)


@pytest.mark.parametrize("k", ["True", "-1", "2.5", "'many'"])
def test_bad_vacuity_marker_is_a_usage_error_naming_the_test(pytester, k):
    err = _usage(pytester, files={"test_vac": f'''
import pytest

@pytest.mark.vacuity({k})
def test_x():
    pass
'''})
    assert "test_vac.py::test_x: @pytest.mark.vacuity(" in err
    assert "--neurospec-vacuity" not in err  # the marker is to blame, not the option


@pytest.mark.parametrize("name, says", [
    ("/no/such/folder", "looks like a path but is no such folder"),
    ("./typo", "looks like a path but is no such folder"),
    ("test_plain.py", "looks like a path but is a file, not a folder"),
    ("not a valid/hub id", "unknown model 'not a valid/hub id'"),
    ("tiny-bilinguall", "unknown model 'tiny-bilinguall'"),
])
def test_model_option_that_cannot_load_is_a_usage_error(pytester, name, says):
    err = _usage(pytester, f"--model={name}")
    assert f"--model={name}: " in err and says in err


def test_missing_data_folder_is_a_usage_error(pytester):
    err = _usage(pytester, "--neurospec-data=no-such-dir")
    assert "--neurospec-data=no-such-dir does not exist" in err


def test_path_like_marker_fails_with_model_not_found(pytester):
    pytester.makepyfile(test_m='''
        import pytest

        @pytest.mark.model("/no/such/model")
        def test_x(model):
            pass
    ''')
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ModelNotFound: model '/no/such/model' looks like a path*"])


OFFLINE_HUB = textwrap.dedent('''
    import pytest
    from neurospec import expect

    @pytest.mark.model("EleutherAI/pythia-70m")
    def test_hub(corpus):
        expect("L0N1").activates_more(on=corpus("german").subset(12),
                                      than=corpus("english").subset(12), by_at_least=0.0)
''')


def test_run_whose_claims_all_skipped_fails(pytester, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pytester.makepyfile(test_hub=OFFLINE_HUB)
    result = pytester.runpytest("--neurospec-json=run.json", "-p", "no:cacheprovider")
    result.assert_outcomes(skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*neurospec: no claim was checked*1 test*skipped*"])
    doc = json.loads((pytester.path / "run.json").read_text())
    skipped = [r for r in doc["records"] if r["verdict"] == "skipped"]
    assert len(skipped) == 1 and skipped[0]["test"].endswith("test_hub")
    assert skipped[0]["kind"] == "test_outcome" and "not reachable" in skipped[0]["missed"]
    assert doc["meta"]["complete"] is True


@pytest.mark.parametrize("how", ["option", "ini"])
def test_require_models_turns_skips_into_failures(pytester, monkeypatch, how):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pytester.makepyfile(test_hub=OFFLINE_HUB)
    args = ["--neurospec-require-models"] if how == "option" else []
    if how == "ini":
        pytester.makeini("[pytest]\nneurospec_require_models = true\n")
    result = pytester.runpytest(*args, "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*pythia-70m*--neurospec-require-models*"])


def test_plain_tests_without_models_still_pass(pytester):
    pytester.makepyfile(test_plain=NO_MODEL)
    assert pytester.runpytest("-p", "no:cacheprovider").ret == pytest.ExitCode.OK


def test_second_writer_of_a_results_file_is_refused(pytester):
    from neurospec.plugin.guards import ResultsLock

    pytester.makepyfile(test_plain=NO_MODEL)
    first = ResultsLock(pytester.path / "run.json")
    first.acquire()
    try:
        result = pytester.runpytest_subprocess("--neurospec-json=run.json", "-p",
                                               "no:cacheprovider")
    finally:
        first.release()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "run.json is being written by another run (pid" in result.stderr.str()
    again = pytester.runpytest_subprocess("--neurospec-json=run.json", "-p", "no:cacheprovider")
    assert again.ret == pytest.ExitCode.OK


def test_write_error_is_recorded_tests_finish_and_the_run_fails(pytester):
    pytester.makeconftest('''
        import os

        def _full(*a, **k):
            raise OSError(28, "No space left on device")

        os.fsync = _full  # the disk is full for the whole run (a subprocess of its own)
    ''')
    pytester.makepyfile(test_claim=CLAIM, test_more="def test_after():\n    pass\n")
    result = pytester.runpytest_subprocess("--neurospec-json=run.json", "-p",
                                           "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    out = result.stdout.str()
    assert "INTERNALERROR" not in out
    result.stdout.fnmatch_lines(["*neurospec: could not write the results*No space left*"])


def test_results_are_incomplete_until_the_session_ends(pytester):
    pytester.makeconftest('''
        import json, pathlib
        import pytest

        SEEN = []

        @pytest.hookimpl(trylast=True)
        def pytest_runtest_logreport(report):
            path = pathlib.Path("run.json")
            if report.when == "call" and path.exists():
                SEEN.append(json.loads(path.read_text())["meta"].get("complete"))

        def pytest_unconfigure(config):
            pathlib.Path("seen.json").write_text(json.dumps(SEEN))
    ''')
    pytester.makepyfile(test_claim=CLAIM)
    result = pytester.runpytest("--neurospec-json=run.json", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert json.loads((pytester.path / "seen.json").read_text()) == [False]
    assert json.loads((pytester.path / "run.json").read_text())["meta"]["complete"] is True
