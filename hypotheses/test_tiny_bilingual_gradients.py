"""Seed 003's weight-gradient localisation on tiny-bilingual: training on German text would
update the German neuron's weights more than training on English text."""

import pytest

from neurospec import expect, neuron

pytestmark = pytest.mark.model("tiny-bilingual")

GERMAN = neuron("L0N125")


def test_german_text_updates_the_german_neuron_more(corpus):
    expect(GERMAN).updates_more(on=corpus("german"), than=corpus("english"), weights="out",
                                effect_size_at_least=2.0)


def test_its_input_weights_too(corpus):
    expect(GERMAN).updates_more(on=corpus("german"), than=corpus("english"), weights="in",
                                effect_size_at_least=0.5)


@pytest.mark.xfail(strict=True, reason="deliberately false: English updates it less")
def test_false_english_updates_it_more(corpus):
    expect(GERMAN).updates_more(on=corpus("english"), than=corpus("german"), weights="in",
                                effect_size_at_least=0.5)
