"""Sequential mode through pytest: the option, the ini key and a claim's own argument; the
record says where a claim stopped (or why it stayed fixed-n) and the card draws the
sequence; without the mode, records carry no trace of it."""

import json
import textwrap

import pytest

CLAIMS = textwrap.dedent('''
    import pytest
    from neurospec import expect

    pytestmark = pytest.mark.model("tiny-bilingual")
    UNIT = "{unit}"

    def test_german_auroc(corpus):
        expect(UNIT).activates_more(on=corpus("german"), than=corpus("english"),
                                    auroc_at_least=0.8)

    def test_fixed_by_argument(corpus):
        expect(UNIT).activates_more(on=corpus("german").subset(40),
                                    than=corpus("english").subset(40), by_at_least=0.5,
                                    sequential=False)

    def test_top_examples(corpus):
        expect(UNIT).top_examples_come_from(corpus("german").subset(30),
                                            among=[corpus("english").subset(30)], k=10,
                                            share_at_least=0.5)
''')


@pytest.fixture(scope="module")
def unit():
    from pathlib import Path

    m = json.loads((Path(__file__).resolve().parents[2] / "fixtures/models/tiny-bilingual/"
                    "MANIFEST.json").read_text())
    return m["german_neuron"]["unit"]


def _records(pytester, path: str) -> dict:
    doc = json.loads((pytester.path / path).read_text())
    return {r["test"].split("::")[-1]: r for r in doc["records"]}


@pytest.mark.parametrize("how", ["option", "ini"])
def test_sequential_mode_stops_early_and_says_so(pytester, unit, how):
    pytester.makepyfile(test_inner=CLAIMS.format(unit=unit))
    args = ["--neurospec-json=out/run.json", "--html=out/run.html", "--self-contained-html",
            "-p", "no:cacheprovider"]
    if how == "option":
        args.append("--neurospec-sequential")
    else:
        pytester.makeini("[pytest]\nneurospec_sequential = true\n")
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=3)
    recs = _records(pytester, "out/run.json")
    note = recs["test_german_auroc"]["details"]["sequential"]
    assert note["mode"] == "sequential" and note["verdict"] == "pass"
    assert note["documents"] < note["documents_of"] / 3  # a clear effect stops early
    assert recs["test_german_auroc"]["n"] == note["stopped_after"]
    assert recs["test_german_auroc"]["ci"] == note["bounds"]
    assert "sequence" in recs["test_german_auroc"]["charts"]
    # a claim's own argument wins; a claim without a sequence says so
    assert recs["test_fixed_by_argument"]["details"]["sequential"]["mode"] == "fixed-n"
    assert recs["test_top_examples"]["details"]["sequential"]["mode"] == "fixed-n"
    html = (pytester.path / "out/run.html").read_text()
    assert "ns-sequence" in html and "stopped after" in html


def test_without_the_mode_records_carry_no_trace_of_it(pytester, unit):
    pytester.makepyfile(test_inner=CLAIMS.format(unit=unit))
    pytester.runpytest("--neurospec-json=out/run.json", "-k", "auroc", "-p", "no:cacheprovider")
    r = _records(pytester, "out/run.json")["test_german_auroc"]
    assert "sequential" not in r["details"] and "sequence" not in r["charts"]
    assert r["n"] == 790  # every group of both sets (near-copies count once)
