"""Random-unit baselines and the vacuity check on the bundled model: a vague claim is
flagged, the German-neuron claim is not, and a unit that random units beat fails."""

import numpy as np
import pytest

from neurospec import expect, neuron
from neurospec.claims.context import using
from neurospec.claims.rerun import random_units
from neurospec.errors import ClaimFailed, InvalidArgument
from neurospec.evidence.sink import collecting

GERMAN = neuron("L0N125")


@pytest.fixture(scope="module")
def sets():
    from neurospec.data.corpus import load_corpus

    return load_corpus("german").subset(100), load_corpus("english").subset(100)


def test_random_units_are_reproducible_distinct_and_exclude_the_unit(tiny):
    a = random_units(tiny, GERMAN, 30, seed=0)
    assert a == random_units(tiny, GERMAN, 30, seed=0) != random_units(tiny, GERMAN, 30, seed=1)
    assert len(set(a)) == 30 and GERMAN not in a and all(u.layer == 0 for u in a)
    from neurospec.units import Head

    heads = random_units(tiny, Head(1, 3), 20, seed=0)  # only 3 other heads exist
    assert sorted(h.index for h in heads) == [0, 1, 2]


def test_vacuity_flags_a_vague_claim_and_not_the_german_neuron(tiny, sets):
    de, en = sets
    with collecting() as records, using(model=tiny, vacuity=20):
        # "some neuron of layer 1 fires more on German than English, by any amount"
        vague = expect(neuron("L1N6")).activates_more(on=de, than=en, by_at_least=0.0)
        sharp = expect(GERMAN).activates_more(on=de, than=en, auroc_at_least=0.85)
    assert vague.record.vacuous is True
    v = vague.record.details["vacuity"]
    assert v["k"] == 20 and v["rate"] > 0.05 and v["passed"] == len(v["passing_units"])
    assert sharp.record.vacuous is False and sharp.record.details["vacuity"]["rate"] <= 0.05
    assert [r.vacuous for r in records] == [True, False]
    assert "null" in vague.record.charts  # the reruns double as a null distribution


def test_strict_mode_fails_a_vacuous_claim(tiny, sets):
    de, en = sets
    with collecting() as records, using(model=tiny, vacuity=20, strict=True):
        with pytest.raises(ClaimFailed, match="vacuous: the same claim also holds for"):
            expect(neuron("L1N6")).activates_more(on=de, than=en, by_at_least=0.0)
    assert records[0].verdict == "fail" and records[0].vacuous


def test_no_vacuity_check_unless_asked(tiny, sets):
    de, en = sets
    with collecting(), using(model=tiny):
        r = expect(GERMAN).activates_more(on=de, than=en, auroc_at_least=0.85)
    assert r.record.vacuous is None and "vacuity" not in r.record.details


def test_beats_random_units_records_the_percentile_and_the_null(tiny, sets):
    de, en = sets
    with collecting() as records, using(model=tiny):
        r = expect(GERMAN).activates_more(on=de, than=en, by_at_least=0.5) \
            .beats_random_units(k=100, percentile=99)
    assert r.record.percentile == 100.0
    null = r.record.charts["null"]
    assert len(null["values"]) == 100 and max(null["values"]) < r.record.effect
    assert r.record.details["random_p"] == pytest.approx(1 / 101)
    assert len(records) == 1 and records[0] is r.record  # replaced, not duplicated
    # the same numbers as measuring the random units one by one
    unit = null["units"][0]
    with collecting(), using(model=tiny):
        try:
            one = expect(unit).activates_more(on=de, than=en, by_at_least=0.5).record
        except ClaimFailed as exc:
            one = exc.record
    assert one.effect == pytest.approx(null["values"][0])


def test_a_unit_that_random_units_beat_fails(tiny, sets):
    de, en = sets
    with collecting() as records, using(model=tiny):
        with pytest.raises(ClaimFailed, match="percentile"):
            # L0N125 lowers English loss slightly; most random neurons raise it more
            (expect(GERMAN).ablated(to="mean", over=en).and_not_on(en, tolerance=0.05)
                .beats_random_units(k=10, percentile=90))
    assert records[-1].verdict == "fail" and records[-1].percentile < 90


def test_beats_random_units_checks_its_arguments(tiny, sets):
    de, en = sets
    with collecting(), using(model=tiny):
        r = expect(GERMAN).activates_more(on=de, than=en, by_at_least=0.5)
        with pytest.raises(InvalidArgument, match="a percentile is 0..100"):
            r.beats_random_units(k=5, percentile=150)
        with pytest.raises(InvalidArgument, match="expected a count"):
            r.beats_random_units(k=0)


def test_matched_negative_passes_when_the_control_does_not_hold(tiny, sets):
    from neurospec.data.corpus import load_corpus

    de, en = sets
    en_a, en_b = load_corpus("english").subset(100, start=100), load_corpus("english").subset(
        100, start=200)
    with collecting() as records, using(model=tiny):
        r = expect(GERMAN).activates_more(on=de, than=en, by_at_least=0.5) \
            .but_not_when(on=en_a, than=en_b)
    neg = r.record.details["matched_negative"]
    assert neg["verdict"] == "fail" and neg["ci"][0] < 0.5 and r.passed
    assert len(records) == 1 and "but not:" in records[0].claim


def test_matched_negative_fails_a_claim_whose_control_holds_too(tiny, sets):
    de, en = sets
    with collecting() as records, using(model=tiny):
        with pytest.raises(ClaimFailed, match="matched negative holds too"):
            # the control (the same ablation on half the German set) holds as well
            (expect(GERMAN).ablated(to="mean", over=en).raises_loss(on=de, by_at_least=0.01)
                .but_not_when(on=de.subset(50)))
    assert records[-1].verdict == "fail"
    with collecting(), using(model=tiny):
        r = expect(GERMAN).activates_more(on=de, than=en, by_at_least=0.5)
        with pytest.raises(InvalidArgument, match="has no argument nope"):
            r.but_not_when(nope=1)


def test_batched_random_ablations_equal_one_at_a_time(tiny, small_sets):
    from neurospec.measure import ablation_effect, make_ablation
    from neurospec.measure.ablate_each import ablate_each

    de, en = small_sets
    units = random_units(tiny, neuron(GERMAN), 4, seed=0)
    got = ablate_each(tiny, de.subset(12), 0, [u.index for u in units], to="mean", over=en)
    for unit, row in zip(units, got):
        one = ablation_effect(tiny, make_ablation(tiny, unit, "mean", en), de.subset(12))
        np.testing.assert_allclose(row, one.delta, atol=1e-6)
    assert got.shape == (4, 12)


def test_against_random_and_beats_random_units_draw_the_same_neurons(tiny, sets):
    de, en = sets
    with collecting(), using(model=tiny):
        chain = expect(GERMAN).ablated(to="mean", over=en).raises_loss(
            on=de.subset(20), by_at_least=0.0, against_random=3)
        first = chain.results[-1].record.charts["null"]
        chain.beats_random_units(k=3, percentile=0)
    second = chain.results[-1].record.charts["null"]
    drawn = [u.name for u in random_units(tiny, GERMAN, 3, seed=0)]
    assert first["units"] == second["units"] == drawn
    assert first["values"] == pytest.approx(second["values"], abs=1e-6)


def test_off_target_claims_are_not_checked_for_vacuity(tiny, sets):
    de, en = sets
    with collecting(), using(model=tiny, vacuity=5):
        a = expect(GERMAN).ablated(to="mean", over=en).and_not_on(en, tolerance=0.05)
    assert a.results[-1].record.vacuous is None


def test_baseline_reruns_of_an_ablation_share_one_replay_and_equal_one_at_a_time(
        tiny, sets, monkeypatch):
    import neurospec.claims.neuron_ablation as ablated_mod
    from neurospec.measure import make_ablation

    de, en = sets
    data = de.subset(14)  # a corpus no other test ablates on: nothing cached yet
    passes = []
    real = ablated_mod.ablation_effect
    monkeypatch.setattr(ablated_mod, "ablation_effect",
                        lambda model, abl, corpus: passes.append(abl.unit.name)
                        or real(model, abl, corpus))
    with collecting(), using(model=tiny):
        chain = expect(GERMAN).ablated(to="mean", over=en).raises_loss(
            on=data, by_at_least=0.0).beats_random_units(k=4, percentile=0)
    null = chain.results[-1].record.charts["null"]
    assert passes == [GERMAN.name]  # the 4 random units came from one stacked replay
    for name, value in zip(null["units"], null["values"]):
        one = real(tiny, make_ablation(tiny, neuron(name), "mean", en), data)
        assert value == pytest.approx(float(one.delta.mean()), abs=1e-6)
    # a resample ablation is not stacked: it still reruns unit by unit
    passes.clear()
    with collecting(), using(model=tiny):
        expect(GERMAN).ablated(to="resample", over=en).raises_loss(
            on=data, by_at_least=0.0).beats_random_units(k=2, percentile=0)
    assert len(passes) == 3
