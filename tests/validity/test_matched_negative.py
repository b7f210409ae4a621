"""Item 4: a matched negative passes only when the control is *shown* not to hold (its CI
entirely below the threshold); an underpowered control is an error, not a "does not hold"."""

import pytest

from neurospec import expect, neuron
from neurospec.claims.context import using
from neurospec.data.corpus import load_corpus
from neurospec.errors import ClaimFailed, Underpowered
from neurospec.evidence.sink import collecting

GERMAN = neuron("L0N125")


@pytest.fixture(scope="module")
def sets():
    return load_corpus("german").subset(100), load_corpus("english").subset(100)


def test_a_control_whose_ci_straddles_the_threshold_fails_the_claim(tiny, sets):
    de, en = sets
    # on 100 documents German vs English measures CI [1.55, 1.71], on 12 CI [1.32, 2.07]: at 1.4
    # the control neither holds nor is shown not to hold, so it says nothing about the claim
    with collecting(), using(model=tiny):
        with pytest.raises(ClaimFailed, match="not shown not to hold"):
            expect(GERMAN).activates_more(on=de, than=en, by_at_least=1.4).but_not_when(
                on=de.subset(12), than=en.subset(12))


def test_an_underpowered_control_is_an_error(tiny, sets):
    de, en = sets
    with collecting(), using(model=tiny):
        with pytest.raises(Underpowered, match="matched negative"):
            expect(GERMAN).activates_more(on=de, than=en, by_at_least=1.2).but_not_when(
                on=en.subset(5), than=en.subset(5, start=50))


def test_a_control_shown_not_to_hold_still_passes(tiny, sets):
    de, en = sets
    english = load_corpus("english")
    with collecting(), using(model=tiny):
        r = expect(GERMAN).activates_more(on=de, than=en, by_at_least=0.5).but_not_when(
            on=english.subset(100, start=100), than=english.subset(100, start=200))
    neg = r.record.details["matched_negative"]
    assert r.passed and neg["shown_not_to_hold"] and neg["ci"][1] < 0.5
