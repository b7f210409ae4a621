"""The trust options through pytester: vacuity flags in the results, Holm correction of a
run's claims, and byte-identical results for the same seed."""

import json
import textwrap

CLAIMS = textwrap.dedent('''
    import pytest
    from neurospec import expect

    pytestmark = pytest.mark.model("tiny-bilingual")

    def test_sharp(corpus):
        expect("L0N125").activates_more(on=corpus("german").subset(40),
                                        than=corpus("english").subset(40),
                                        effect_size_at_least=1.5)

    def test_vague(corpus):
        expect("L1N6").activates_more(on=corpus("german").subset(100),
                                      than=corpus("english").subset(100), by_at_least=0.0)
''')

WEAK = textwrap.dedent('''
    import pytest
    from neurospec import expect

    pytestmark = pytest.mark.model("tiny-bilingual")

    @pytest.mark.parametrize("unit", ["L0N125", "L1N2", "L1N5", "L1N9"])
    def test_claims(corpus, unit):
        try:
            expect(unit).activates_more(on=corpus("german").subset(12),
                                        than=corpus("english").subset(12), by_at_least=0.0)
        except AssertionError:
            pass
''')


def _records(path) -> dict:
    doc = json.loads(path.read_text())
    return {r["test"].split("::")[-1]: r for r in doc["records"]}


def test_vacuity_option_flags_vague_claims(pytester):
    pytester.makepyfile(test_inner=CLAIMS)
    result = pytester.runpytest("--neurospec-json=run.json", "--neurospec-vacuity=20",
                                "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*VACUOUS*test_vague*also holds for*random units*"])
    recs = _records(pytester.path / "run.json")
    assert recs["test_vague"]["vacuous"] is True and recs["test_sharp"]["vacuous"] is False
    strict = pytester.runpytest("--neurospec-vacuity=20", "--neurospec-strict",
                                "-p", "no:cacheprovider")
    strict.assert_outcomes(passed=1, failed=1)
    strict.stdout.fnmatch_lines(["*vacuous: the same claim also holds for*"])


def test_holm_correction_demotes_weak_passes(pytester):
    pytester.makepyfile(test_inner=WEAK)
    plain = pytester.runpytest("--neurospec-json=plain.json", "-p", "no:cacheprovider")
    corrected = pytester.runpytest("--neurospec-json=holm.json", "--neurospec-correct=holm",
                                   "-p", "no:cacheprovider")
    a, b = _records(pytester.path / "plain.json"), _records(pytester.path / "holm.json")
    assert all("p_adjusted" in r for r in b.values())
    assert all(b[k]["p_adjusted"] >= a[k]["p"] for k in a)
    demoted = [k for k in a if a[k]["verdict"] == "pass" and b[k]["verdict"] == "fail"]
    for k in demoted:
        assert b[k]["p_adjusted"] > 0.025 and "Holm" in b[k]["missed"]
    assert plain.ret == 0
    assert (corrected.ret != 0) == bool(demoted)


def test_same_seed_gives_identical_results(pytester):
    pytester.makepyfile(test_inner=CLAIMS)
    for name in ("a", "b"):
        pytester.runpytest(f"--neurospec-json={name}.json", "--neurospec-seed=3",
                           "--neurospec-vacuity=5", "-p", "no:cacheprovider")
    a, b = ((pytester.path / f"{n}.json").read_text().splitlines() for n in "ab")
    timing = [i for i, line in enumerate(a) if line.startswith(' "written":')]
    assert len(timing) == 1 and len(a) == len(b) > 5  # the write time is the only timing
    assert [x for i, x in enumerate(a) if i not in timing] == \
        [x for i, x in enumerate(b) if i not in timing]
    pytester.runpytest("--neurospec-json=c.json", "--neurospec-seed=4", "-p", "no:cacheprovider")
    c, a = _records(pytester.path / "c.json"), _records(pytester.path / "a.json")
    # another seed resamples differently (a CI at its Student floor does not move: some do)
    assert any(c[t]["ci"] != a[t]["ci"] for t in c if t in a)
