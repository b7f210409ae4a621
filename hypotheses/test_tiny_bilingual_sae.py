"""SAE features of tiny-bilingual (seed 004's setting, in miniature): the layer-0 SAE feature
whose encoder reads the German neuron L0N125 most (chosen from the weights, not the data)
is itself a German feature."""

from pathlib import Path

import pytest

from neurospec import expect

pytestmark = pytest.mark.model("tiny-bilingual")

SAE_L0 = Path(__file__).resolve().parents[1] / "fixtures" / "saes" / "tiny-bilingual" / "L0"


def test_the_feature_reading_the_german_neuron_is_german(corpus):
    # a sparse feature: token Cohen's d 0.48, 95% CI [0.46, 0.50] (most tokens are 0)
    expect("L0F456", sae=SAE_L0).activates_more(on=corpus("german"), than=corpus("english"),
                                               effect_size_at_least=0.4)


@pytest.mark.xfail(strict=True, reason="deliberately false: it fires on German, not English")
def test_false_it_is_an_english_feature(corpus):
    expect("L0F456", sae=SAE_L0).activates_more(on=corpus("english"), than=corpus("german"),
                                               effect_size_at_least=0.5)


SAE_L1 = SAE_L0.parent / "L1"


def test_a_layer1_feature_depends_on_the_german_feature(corpus):
    # L1F444 was picked as the L1 feature L0F456 drives most on held-out German docs 0-99;
    # the claim is checked on docs 200-399, which played no part in picking it.
    expect("L1F444", sae=SAE_L1).depends_on("L0F456", sae=SAE_L0,
                                            on=corpus("german").subset(200, start=200),
                                            by_at_least=0.02)


@pytest.mark.xfail(strict=True, reason="deliberately false: the attribution is far smaller")
def test_false_it_depends_on_it_by_a_whole_unit(corpus):
    expect("L1F444", sae=SAE_L1).depends_on("L0F456", sae=SAE_L0,
                                            on=corpus("german").subset(200, start=200),
                                            by_at_least=1.0)
