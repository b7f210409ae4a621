"""What the German neuron writes straight to the logits (seed 001's direct logit attribution):
its top direct-logit tokens are German function words and word pieces, not English ones."""

import pytest

from neurospec import expect, neuron

pytestmark = pytest.mark.model("tiny-bilingual")

GERMAN = neuron("L0N125")
GERMAN_WORDS = [" und", " der", " die", " das", " den", " ist", " nicht", " ich", " sie", " ein",
                " zu", " auf", " einmal", " mit", " sich", " es", " wir", " dem", " des", " auch"]
ENGLISH_WORDS = [" the", " and", " of", " to", " is", " that", " it", " you", " in", " a",
                 " for", " not", " with", " be", " on", " are", " this", " was", " have", " as"]


def test_german_neuron_writes_german_words(model):
    expect(GERMAN).writes_tokens(GERMAN_WORDS, top_k=30, at_least=3)


@pytest.mark.xfail(strict=True, reason="deliberately false: it writes German, not English words")
def test_false_german_neuron_writes_english_words(model):
    expect(GERMAN).writes_tokens(ENGLISH_WORDS, top_k=30, at_least=3)
