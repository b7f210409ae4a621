"""Item 6: a claim is flagged vacuous only when random units are *shown* to pass it more
than 5% of the time (the Clopper-Pearson lower bound of their pass rate exceeds 5%), and a
check with no measurable random unit is "not checked", not "not vacuous"."""

import pytest

from neurospec import expect, neuron
from neurospec.claims.context import using
from neurospec.data.corpus import load_corpus
from neurospec.evidence.sink import collecting

GERMAN = neuron("L0N125")


@pytest.fixture(scope="module")
def sets():
    return load_corpus("german").subset(100), load_corpus("english").subset(100)


def test_two_of_twenty_random_units_do_not_make_a_claim_vacuous(tiny, sets):
    de, en = sets
    # a few layer-0 neurons pass "by >= 0.1"; at seed 1 three of the 20 drawn do:
    # 3/20 = 15% "> 5%" would have flagged it, though a 5% rate gives 2+ of 20 a quarter of the time
    with collecting(), using(model=tiny, vacuity=20, seed=1):
        r = expect(GERMAN).activates_more(on=de, than=en, by_at_least=0.1)
    v = r.record.details["vacuity"]
    assert v["k"] == 20 and v["passed"] in (2, 3) and v["rate_lower_bound"] <= 0.05
    assert r.record.vacuous is False


def test_a_claim_many_units_pass_is_vacuous(tiny, sets):
    de, en = sets
    with collecting(), using(model=tiny, vacuity=20):
        r = expect(neuron("L1N6")).activates_more(on=de, than=en, by_at_least=0.0)
    v = r.record.details["vacuity"]
    assert r.record.vacuous is True and v["rate_lower_bound"] > 0.05 and v["passed"] >= 6


def test_no_measurable_random_unit_means_not_checked(tiny, sets, monkeypatch):
    from neurospec.claims import rerun

    de, en = sets
    monkeypatch.setattr(rerun.Call, "record_for", lambda self, unit: None)
    with collecting(), using(model=tiny, vacuity=20):
        r = expect(GERMAN).activates_more(on=de, than=en, by_at_least=0.5)
    assert r.record.vacuous is None and r.record.details["vacuity"]["checked"] is False
