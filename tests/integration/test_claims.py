"""The claim helpers on the bundled model: verdicts from CIs, failure messages, evidence,
and errors for bad arguments."""

import math

import pytest

from neurospec.claims.context import using
from neurospec.claims.expect import expect
from neurospec.data.corpus import Corpus, load_corpus
from neurospec.errors import (
    ClaimFailed,
    InvalidArgument,
    InvalidUnit,
    NeurospecError,
    Underpowered,
    UnitOutOfRange,
)
from neurospec.evidence.sink import collecting


@pytest.fixture(scope="module")
def unit(manifest):
    return manifest["german_neuron"]["unit"]


def test_passing_claim_returns_its_record(tiny, small_sets, unit):
    de, en = small_sets
    with collecting() as records:
        res = expect(unit, model=tiny).activates_more(on=de, than=en, by_at_least=0.0)
    assert res.passed and records == [res.record]
    r = res.record
    assert r.kind == "activation_contrast" and r.ci[0] <= r.effect <= r.ci[1]
    assert r.details["token_auroc"] > 0.5 and r.n == 80
    assert set(r.charts) == {"histogram", "contexts"}
    from neurospec.report.notebook import to_html

    assert "<svg" in to_html(res)


def test_point_estimate_above_but_ci_below_fails(tiny, small_sets, unit):
    de, en = small_sets
    r = expect(unit, model=tiny).activates_more(on=de, than=en, by_at_least=0.0).record
    between = (r.ci[0] + r.effect) / 2  # the estimate clears it, the CI does not
    with collecting() as records, pytest.raises(ClaimFailed) as info:
        expect(unit, model=tiny).activates_more(on=de, than=en, by_at_least=between)
    msg = str(info.value)
    assert f"by >= {between:g}" in msg and "95% CI" in msg and "n=80 docs" in msg
    assert "missed: CI lower bound" in msg and "--neurospec-seed=1" in msg  # another seed
    assert records[0].verdict == "fail" and info.value.record is records[0]
    assert records[0].effect > between


def test_ablation_chain_records_each_check(tiny, small_sets, unit):
    # the off-target set is larger: on 40 English documents the loss changes are too skewed
    # (skewness of the mean 0.73) for any mean test, and that claim would end undefined
    de, en = small_sets
    off = load_corpus("english").subset(300, start=100)
    with collecting() as records:
        chain = (expect(unit, model=tiny).ablated(to="mean", over=en)
                 .raises_loss(on=de, by_at_least=0.0)
                 .and_not_on(off, tolerance=0.05))
    assert [r.kind for r in records] == ["ablation_loss", "ablation_loss"]
    assert records[0].direction == ">=" and records[1].direction == "within"
    assert [b["set"] for b in records[1].charts["bars"]["items"]] == [de.name, off.name]
    assert len(chain.results) == 2


def test_random_unit_baseline_is_recorded(tiny, small_sets, unit):
    de, en = small_sets
    with collecting() as records:
        expect(unit, model=tiny).ablated(to="mean", over=en).raises_loss(
            on=de, by_at_least=0.0, against_random=4)
    d = records[0].details
    assert d["random_k"] == 4 and 0 <= d["random_percentile"] <= 100
    assert len(records[0].charts["null"]["values"]) == 4


def test_seed_changes_the_ci_not_the_effect(tiny, small_sets, unit):
    de, en = small_sets
    with using(seed=1):
        a = expect(unit, model=tiny).activates_more(on=de, than=en, by_at_least=0.0).record
    with using(seed=2):
        b = expect(unit, model=tiny).activates_more(on=de, than=en, by_at_least=0.0).record
    assert a.effect == b.effect and a.ci != b.ci and (a.seed, b.seed) == (1, 2)


def test_too_few_documents_is_underpowered_not_a_crash(tiny, small_sets, unit):
    de, en = small_sets
    with collecting() as records, pytest.raises(Underpowered, match="german.* has 3 documents"):
        expect(unit, model=tiny).activates_more(on=de.subset(3), than=en, by_at_least=0.1)
    assert records[0].verdict == "underpowered" and math.isnan(records[0].effect)


@pytest.mark.parametrize("kwargs, match", [
    ({"by_at_least": "0.1"}, "expected a finite number"),
    ({"by_at_least": -0.1}, "must be >= 0"),
    ({"by_at_least": float("nan")}, "finite number"),
    ({}, "exactly one of"),
    ({"by_at_least": 0.1, "effect_size_at_least": 1.0}, "exactly one of"),
])
def test_bad_thresholds(tiny, small_sets, unit, kwargs, match):
    de, en = small_sets
    with pytest.raises(InvalidArgument, match=match):
        expect(unit, model=tiny).activates_more(on=de, than=en, **kwargs)


def test_bad_units_and_modes(tiny, small_sets):
    de, en = small_sets
    with pytest.raises(UnitOutOfRange, match=r"layers 0\.\.1"):
        expect("L7N3", model=tiny)
    with pytest.raises(UnitOutOfRange, match=r"neurons 0\.\.255"):
        expect("L1N9999", model=tiny)
    with pytest.raises(InvalidUnit):
        expect("neuron 5", model=tiny)
    with pytest.raises(InvalidArgument, match="needs over=<corpus>"):
        expect("L1N3", model=tiny).ablated(to="mean")
    with pytest.raises(InvalidArgument, match="unknown mode"):
        expect("L1N3", model=tiny).ablated(to="average", over=en)
    with pytest.raises(NeurospecError, match="no model for this claim"):
        expect("L1N3")


def test_hook_name_typo_suggests_the_closest(tiny):
    with pytest.raises(InvalidArgument, match="did you mean 'blocks.1.mlp.hook_post'"):
        tiny.check_hook_name("blocks.1.mlp.hook_pots")


def test_long_documents_are_truncated_and_counted(tiny, unit):
    from neurospec.data.corpus import load_corpus

    # distinct documents: near-copies would be resampled as one unit
    de, en = load_corpus("german").texts, load_corpus("english").texts
    long = Corpus.from_texts([" ".join(de[8 * i:8 * i + 8]) * 3 for i in range(10)]
                             + ["kurz und gut", "Hund und Katze"], name="long")
    other = Corpus.from_texts([" ".join(en[8 * i:8 * i + 8]) * 3 for i in range(10)],
                              name="other")
    with pytest.warns(UserWarning, match="10 of 12 documents are longer"), \
            collecting() as rec:
        try:  # the verdict is not the point (two short documents skew the set)
            expect(unit, model=tiny).activates_more(on=long, than=other, by_at_least=0.0)
        except ClaimFailed:
            pass
    assert rec[0].data["truncated"] == [10, 10]
