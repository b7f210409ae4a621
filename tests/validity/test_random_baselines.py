"""Item 5: random-unit baselines report how many units were measured and a p-value
``(1 + #at least as extreme) / (k + 1)``; they fail when fewer units than asked were measured
or when the percentile cannot be reached with that k; k beyond the layer is an error."""

import pytest

from neurospec import expect, head, neuron
from neurospec.claims.context import using
from neurospec.data.corpus import load_corpus
from neurospec.errors import ClaimFailed, InvalidArgument
from neurospec.evidence.sink import collecting

GERMAN = neuron("L0N125")


@pytest.fixture(scope="module")
def sets():
    return load_corpus("german").subset(60), load_corpus("english").subset(60)


def test_a_baseline_with_no_measured_units_fails(tiny, sets, monkeypatch):
    from neurospec.claims import rerun

    de, en = sets
    monkeypatch.setattr(rerun.Call, "record_for", lambda self, unit: None)  # every rerun errs
    with collecting(), using(model=tiny):
        with pytest.raises(ClaimFailed, match="only 0 of 20 random units"):
            expect(GERMAN).activates_more(on=de, than=en, by_at_least=0.5) \
                .beats_random_units(k=20, percentile=95)


def test_a_percentile_that_k_units_cannot_show_fails(tiny, sets):
    de, en = sets
    with collecting(), using(model=tiny):
        with pytest.raises(ClaimFailed, match="cannot be shown with 20 random units"):
            expect(GERMAN).activates_more(on=de, than=en, by_at_least=0.5) \
                .beats_random_units(k=20, percentile=99)


def test_k_above_the_heads_of_a_layer_is_an_error(tiny, sets):
    de, _ = sets
    with collecting(), using(model=tiny):
        chain = expect(head("L1H3")).ablated(to="zero").raises_loss(on=de, by_at_least=0.0)
        with pytest.raises(InvalidArgument, match="only 3 other heads"):
            chain.beats_random_units(k=20, percentile=50)
        with pytest.raises(InvalidArgument, match="only 255 other neurons"):
            expect(GERMAN).ablated(to="mean", over=de).raises_loss(
                on=de, by_at_least=0.0, against_random=300)


def test_a_true_claim_beats_its_layer_with_p_reported(tiny, sets):
    de, en = sets
    with collecting(), using(model=tiny):
        r = expect(GERMAN).activates_more(on=de, than=en, by_at_least=0.5) \
            .beats_random_units(k=40, percentile=95)
    d = r.record.details
    assert r.passed and d["random_k"] == d["random_k_requested"] == 40
    assert d["random_p"] == pytest.approx(1 / 41)
