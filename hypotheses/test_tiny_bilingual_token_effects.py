"""Seed 000's boosted / deboosted tokens, on tiny-bilingual: when the German neuron is
ablated, the tokens that lose most probability on German text are German ones (umlauts),
and the loss comes through the true token's own logit."""

import pytest

from neurospec import expect, neuron

pytestmark = pytest.mark.model("tiny-bilingual")

GERMAN = neuron("L0N125")
ENGLISH_WORDS = [" the", " and", " of", " to", " is", " that", " it", " you", " in", " a"]


def has_umlaut(token: str) -> bool:
    """tokens with ä, ö, ü or ß"""
    return any(c in token for c in "äöüßÄÖÜ")


def test_ablating_the_german_neuron_deboosts_umlaut_tokens(corpus):
    expect(GERMAN).ablated(to="mean", over=corpus("english")).deboosts_tokens(
        has_umlaut, on=corpus("german").subset(100), top_k=30, at_least=3)


@pytest.mark.xfail(strict=True, reason="deliberately false: it deboosts German, not English")
def test_false_it_deboosts_english_words(corpus):
    expect(GERMAN).ablated(to="mean", over=corpus("english")).deboosts_tokens(
        ENGLISH_WORDS, on=corpus("german").subset(100), top_k=30, at_least=2)
