"""SAE features of tiny-bilingual (seed 004's setting, in miniature): the layer-0 SAE feature
whose encoder reads the German neuron L0N230 most (chosen from the weights, not the data)
is itself a German feature."""

from pathlib import Path

import pytest

from neurospec import expect

pytestmark = pytest.mark.model("tiny-bilingual")

SAE_L0 = Path(__file__).resolve().parents[1] / "fixtures" / "saes" / "tiny-bilingual" / "L0"


def test_the_feature_reading_the_german_neuron_is_german(corpus):
    expect("L0F26", sae=SAE_L0).activates_more(on=corpus("german"), than=corpus("english"),
                                               effect_size_at_least=1.0)


@pytest.mark.xfail(strict=True, reason="deliberately false: it fires on German, not English")
def test_false_it_is_an_english_feature(corpus):
    expect("L0F26", sae=SAE_L0).activates_more(on=corpus("english"), than=corpus("german"),
                                               effect_size_at_least=0.5)
