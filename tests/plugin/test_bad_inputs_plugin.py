"""Bad inputs that only the plugin sees, and what a run leaves behind when it is killed.

- one bad claim fails alone, with its message; the claims around it still run;
- ``--device cuda`` without CUDA, unwritable ``--neurospec-json`` / ``--html`` paths;
- a run killed mid-way (SIGKILL) leaves a valid results JSON with every finished claim;
- a write of the results JSON or the HTML report killed half-way leaves the old file whole.
"""

import json
import signal
import textwrap

import pytest
import torch

from neurospec.evidence.record import SCHEMA

ONE_BAD_AMONG_GOOD = textwrap.dedent('''
    import pytest
    from neurospec import Corpus, expect, head

    pytestmark = pytest.mark.model("tiny-bilingual")
    UNIT = "L0N125"

    def test_good_first(corpus):
        expect(UNIT).activates_more(on=corpus("german").subset(12),
                                    than=corpus("english").subset(12), by_at_least=0.0)

    @pytest.mark.model("tiny-bilinguall")
    def test_unknown_model(model):
        pass

    def test_layer_out_of_range():
        expect("L7N1")

    def test_hook_typo(corpus):
        expect(UNIT).ablated(to="zero").runs_through(
            ["blocks.1.hook_mlp_ot"], on=corpus("german").subset(12), share_at_least=0.1)

    def test_empty_dataset():
        expect(UNIT).activates_more(on=Corpus.from_texts([], name="none"), than="english",
                                    by_at_least=0.1)

    def test_wrong_threshold(corpus):
        expect(UNIT).activates_more(on="german", than="english", by_at_least="a lot")

    def test_underpowered(corpus):
        expect(head("L0H1")).ablation_raises_loss(on=corpus("german").subset(3),
                                                  by_at_least=0.0)

    def test_missing_dataset(corpus):
        expect(UNIT).activates_more(on=corpus("germn"), than="english", by_at_least=0.1)

    def test_good_last(corpus):
        expect(UNIT).ablated(to="zero").raises_loss(on=corpus("german").subset(12),
                                                    by_at_least=0.0)
''')


def test_one_bad_claim_fails_alone(pytester):
    pytester.makepyfile(test_mixed=ONE_BAD_AMONG_GOOD)
    result = pytester.runpytest("--neurospec-json=run.json", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=6, errors=1)
    out = result.stdout.str()
    for message in (
            "ModelNotFound: unknown model 'tiny-bilinguall'. Bundled/local models: planted, tiny-bilingual",
            "UnitOutOfRange: L7N1: layer 7 does not exist in tiny-bilingual",
            "did you mean 'blocks.1.hook_mlp_out'",
            "DatasetError: dataset 'none' is empty",
            "by_at_least='a lot': expected a finite number",
            "Underpowered: L0H1 ablated (zero) raises loss on german[:3]",
            "no dataset named 'germn'"):
        assert message in out, message
    doc = json.loads((pytester.path / "run.json").read_text())
    verdicts = {r["test"].split("::")[-1]: r["verdict"] for r in doc["records"]}
    # every test is in the results, the ones that errored with their error
    assert verdicts == {"test_good_first": "pass", "test_unknown_model": "error",
                        "test_layer_out_of_range": "error", "test_hook_typo": "error",
                        "test_empty_dataset": "error", "test_wrong_threshold": "error",
                        "test_underpowered": "underpowered", "test_missing_dataset": "error",
                        "test_good_last": "pass"}
    why = {r["test"].split("::")[-1]: r["missed"] for r in doc["records"]}
    assert why["test_unknown_model"].startswith("ModelNotFound while setting up the test: "
                                                "unknown model 'tiny-bilinguall'")
    assert why["test_missing_dataset"].startswith("DatasetError: no dataset named 'germn'")
    claims = {r["test"].split("::")[-1]: r["claim"] for r in doc["records"]}
    assert claims["test_missing_dataset"] == "expect('L0N125')"  # what the test had built


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_device_cuda_without_cuda(pytester):
    pytester.makepyfile(test_dev='''
        import pytest
        @pytest.mark.model("tiny-bilingual")
        def test_needs_model(model):
            pass
        def test_no_model():
            pass
    ''')
    result = pytester.runpytest("--device", "cuda", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*--device cuda was asked for but this machine has no CUDA "
                                 "device*use --device cpu or auto*"])


@pytest.mark.parametrize("option", ["--neurospec-json", "--html"])
@pytest.mark.parametrize("where", ["under_a_file", "a_folder", "no_such_root"])
def test_unwritable_output_is_a_usage_error(pytester, option, where):
    pytester.makepyfile(test_ok="def test_ok(): pass")
    (pytester.path / "a-file").write_text("")
    (pytester.path / "a-folder").mkdir()
    path = {"under_a_file": "a-file/run.out", "a_folder": "a-folder",
            "no_such_root": "/proc/nope/run.out"}[where]
    result = pytester.runpytest(f"{option}={path}", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "INTERNALERROR" not in err + result.stdout.str()
    assert f"{option}={path}" in err
    assert ("choose a writable path" in err) if where != "a_folder" else ("give a file path" in err)


def test_killed_run_keeps_every_finished_claim(pytester):
    pytester.makepyfile(test_killed='''
        import os, signal
        import pytest
        from neurospec import expect

        pytestmark = pytest.mark.model("tiny-bilingual")

        def test_first(corpus):
            expect("L0N125").activates_more(on=corpus("german").subset(12),
                                            than=corpus("english").subset(12), by_at_least=0.0)

        @pytest.mark.xfail(strict=True)
        def test_second(corpus):
            expect("L0N125").activates_more(on=corpus("english").subset(12),
                                            than=corpus("german").subset(12), by_at_least=0.1)

        def test_killed():
            os.kill(os.getpid(), signal.SIGKILL)

        def test_never_runs(corpus):
            expect("L0N7").activates_more(on="german", than="english", by_at_least=0.0)
    ''')
    result = pytester.runpytest_subprocess("--neurospec-json=out/run.json", "-p",
                                           "no:cacheprovider")
    assert result.ret in (-signal.SIGKILL, 128 + signal.SIGKILL)
    doc = json.loads((pytester.path / "out" / "run.json").read_text())
    assert doc["schema"] == SCHEMA
    assert [(r["test"].split("::")[-1], r["verdict"], r["outcome"]) for r in doc["records"]] == [
        ("test_first", "pass", "passed"), ("test_second", "fail", "xfailed")]


# A conftest that kills the process half-way through the first file write after it is
# armed: the first half of the text reaches the disk, then SIGKILL.  io.open is what
# builtins.open, pathlib.Path.open and os.fdopen all call.
DYING_WRITE = textwrap.dedent('''
    import io, os, signal
    import pytest

    _open = io.open

    class _Dying:
        def __init__(self, fh):
            self._fh = fh
        def write(self, text):
            self._fh.write(text[: len(text) // 2])
            self._fh.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        def __getattr__(self, name):
            return getattr(self._fh, name)
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            self._fh.close()

    def _dying_open(file, mode="r", *args, **kwargs):
        fh = _open(file, mode, *args, **kwargs)
        return _Dying(fh) if "w" in mode else fh

    def arm():
        io.open = _dying_open
''')


def _records(n: int) -> str:
    """Tests that each emit one record (no model needed, so the subprocess starts fast)."""
    return textwrap.dedent('''
        from neurospec.evidence.record import Record
        from neurospec.evidence.sink import emit

        def _emit(i):
            emit(Record(claim=f"claim {i}", kind="k", unit="L0N1", model={"name": "m"},
                        data={"names": ["d"], "hashes": ["h"]}, n=10, effect=0.1,
                        ci=(0.0, 0.2), p=0.5, threshold=0.0, direction=">=", metric="m",
                        verdict="pass", seed=0, charts={"pad": "x" * 200_000}))
    ''') + "".join(f"\ndef test_{i}():\n    _emit({i})\n" for i in range(n))


def test_interrupted_json_write_keeps_the_previous_file(pytester):
    pytester.makeconftest(DYING_WRITE + textwrap.dedent('''
        @pytest.hookimpl(tryfirst=True)
        def pytest_runtest_logreport(report):
            if report.when == "call" and report.nodeid.endswith("test_1"):
                arm()  # the write after the second test dies half-way
    '''))
    pytester.makepyfile(test_records=_records(3))
    result = pytester.runpytest_subprocess("--neurospec-json=run.json", "-p", "no:cacheprovider",
                                           "-p", "no:html")
    assert result.ret in (-signal.SIGKILL, 128 + signal.SIGKILL)
    doc = json.loads((pytester.path / "run.json").read_text())
    assert [r["claim"] for r in doc["records"]] == ["claim 0"]


def test_interrupted_html_report_write_keeps_the_previous_report(pytester):
    pytester.makepyfile(test_records=_records(2))
    pytester.makeconftest(DYING_WRITE)
    first = pytester.runpytest_subprocess("--html=report.html", "--self-contained-html",
                                           "-p", "no:cacheprovider")
    first.assert_outcomes(passed=2)
    before = (pytester.path / "report.html").read_text()
    assert before.rstrip().endswith("</html>")
    pytester.makeconftest(DYING_WRITE + textwrap.dedent('''
        @pytest.hookimpl(tryfirst=True)
        def pytest_sessionfinish(session):
            arm()  # pytest-html writes its report at session finish
    '''))
    second = pytester.runpytest_subprocess("--html=report.html", "--self-contained-html",
                                           "-p", "no:cacheprovider")
    assert second.ret in (-signal.SIGKILL, 128 + signal.SIGKILL)
    assert (pytester.path / "report.html").read_text() == before
