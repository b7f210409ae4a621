"""The plugin end to end, through pytester: options, marker, fixtures, JSON, HTML extras,
hook hygiene, and skips for unreachable hub models."""

import json
import subprocess
import sys
import textwrap

import pytest
import torch
import transformers

CLAIMS = textwrap.dedent('''
    import pytest
    from neurospec import expect

    pytestmark = pytest.mark.model("tiny-bilingual")
    UNIT = "{unit}"

    def test_fires_on_german(corpus):
        expect(UNIT).activates_more(on=corpus("german").subset(30),
                                    than=corpus("english").subset(30), by_at_least=0.1)

    @pytest.mark.xfail(strict=True, reason="deliberately false")
    def test_false_claim(corpus):
        expect(UNIT).activates_more(on=corpus("english").subset(30),
                                    than=corpus("german").subset(30), by_at_least=0.1)

    def test_tokens_escaped(model, corpus):
        from neurospec import Corpus
        german = corpus("german").subset(12).texts  # distinct: near-copies are one unit
        evil = Corpus.from_texts([f"<script>alert({{i}})</script> und die Katze " + t
                                  for i, t in enumerate(german)],
                                 name="evil")
        expect(UNIT).activates_more(on=evil, than=corpus("english").subset(12), by_at_least=0.0)
''')


@pytest.fixture(scope="module")
def unit():
    from pathlib import Path

    m = json.loads((Path(__file__).resolve().parents[2] / "fixtures/models/tiny-bilingual/"
                    "MANIFEST.json").read_text())
    return m["german_neuron"]["unit"]


def test_help_lists_options_without_loading_torch():
    code = ("import sys, pytest; rc = pytest.main(['--help'], plugins=[]); "
            "print('TORCH_LOADED' if 'torch' in sys.modules else 'TORCH_NOT_LOADED')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "--neurospec-json" in out and "--model=NAME" in out
    assert "TORCH_NOT_LOADED" in out


def test_claims_json_and_html(pytester, unit):
    pytester.makepyfile(test_inner_claims=CLAIMS.format(unit=unit))
    result = pytester.runpytest("--neurospec-json=out/run.json", "--html=out/run.html",
                                "--self-contained-html", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, xfailed=1)
    result.stdout.fnmatch_lines(["*neurospec: 3 claim checks: 2 pass · 1 expected fail*"])
    doc = json.loads((pytester.path / "out/run.json").read_text())
    assert doc["schema"] == "neurospec.results/2"
    env = doc["meta"]["environment"]
    assert env["torch"] == torch.__version__ and env["transformers"] == transformers.__version__
    assert (env["device"], env["dtype"]) == ("cpu", "float32") and env["transformer_lens"]
    recs = {r["test"].split("::")[-1]: r for r in doc["records"]}
    assert set(recs) == {"test_fires_on_german", "test_false_claim", "test_tokens_escaped"}
    r = recs["test_fires_on_german"]
    for field in ("test", "claim", "kind", "unit", "model", "data", "n", "effect", "ci", "p",
                  "threshold", "verdict", "seed"):
        assert field in r, field
    assert r["kind"] == "activation_contrast" and r["unit"] == unit and r["verdict"] == "pass"
    assert r["model"]["name"] == "tiny-bilingual" and r["model"]["prepend_bos"] is True
    assert len(r["model"]["fingerprint"]) == 16 and r["data"]["names"] == ["german[:30]",
                                                                            "english[:30]"]
    assert r["ci"][0] >= 0.1 and r["n"] == 60
    assert recs["test_false_claim"]["verdict"] == "fail"
    assert recs["test_false_claim"]["outcome"] == "xfailed"
    html = (pytester.path / "out/run.html").read_text()
    assert html.count("ns-card") >= 3 and "ns-summary" in html
    # the report's Environment table names the versions that produced it
    assert "neurospec: transformer_lens" in html and torch.__version__ in html
    # the evil token is in the report only in escaped form
    assert "<script>alert(1)</script>" not in html


def test_seed_option_reaches_records(pytester, unit):
    pytester.makepyfile(test_inner_claims=CLAIMS.format(unit=unit))
    pytester.runpytest("--neurospec-json=a.json", "--neurospec-seed=7", "-k", "german")
    doc = json.loads((pytester.path / "a.json").read_text())
    assert [r["seed"] for r in doc["records"]] == [7]


def test_model_option_and_missing_model(pytester, unit):
    pytester.makepyfile(test_x=textwrap.dedent(f'''
        from neurospec import expect
        def test_a(corpus):
            expect("{unit}").activates_more(on=corpus("german").subset(12),
                                            than=corpus("english").subset(12), by_at_least=0.0)
        def test_model_fixture(model):
            assert model.name == "tiny-bilingual"
    '''))
    pytester.runpytest("--model", "tiny-bilingual").assert_outcomes(passed=2)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1, errors=1)
    assert "needs a model: add @pytest.mark.model" in result.stdout.str()
    assert "no model for this claim: pass model=" in result.stdout.str()


def test_leaked_hook_is_an_error(pytester):
    pytester.makepyfile(test_leak='''
        import pytest
        pytestmark = pytest.mark.model("tiny-bilingual")
        def test_leaks(model):
            model.bridge.add_hook("blocks.0.mlp.hook_post", lambda act, hook: act)
        def test_after(model):
            assert not model.leftover_hooks()
    ''')
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*left hooks registered on tiny-bilingual*blocks.0.mlp*"])


def test_unreachable_hub_model_skips_with_how_to(pytester, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pytester.makepyfile(test_hub='''
        import pytest
        @pytest.mark.model("pythia-70m")
        def test_needs_pythia(model):
            raise AssertionError("must not run")
    ''')
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*huggingface-cli download EleutherAI/pythia-70m*"])


def test_unwritable_json_path_is_a_usage_error(pytester):
    pytester.makepyfile(test_ok="def test_ok(): pass")
    result = pytester.runpytest("--neurospec-json=/proc/nope/run.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "cannot write to /proc/nope" in result.stderr.str()


def test_works_without_pytest_html(pytester, unit):
    pytester.makepyfile(test_inner_claims=CLAIMS.format(unit=unit))
    result = pytester.runpytest("-p", "no:html", "-k", "german", "--neurospec-json=r.json")
    result.assert_outcomes(passed=1)
    assert json.loads((pytester.path / "r.json").read_text())["records"][0]["verdict"] == "pass"


def test_xdist_workers_merge_into_one_results_file(pytester, unit):
    pytest.importorskip("xdist")
    pytester.makepyfile(test_inner_claims=CLAIMS.format(unit=unit))
    result = pytester.runpytest_subprocess("-n", "2", "--neurospec-json=x.json",
                                           "--html=x.html", "--self-contained-html")
    result.assert_outcomes(passed=2, xfailed=1)
    doc = json.loads((pytester.path / "x.json").read_text())
    assert sorted(r["test"].split("::")[-1] for r in doc["records"]) == [
        "test_false_claim", "test_fires_on_german", "test_tokens_escaped"]
    assert (pytester.path / "x.html").read_text().count("ns-card") >= 3
