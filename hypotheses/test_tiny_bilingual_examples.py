"""Seed 001's top activating examples and greedy simplification, for the German neuron."""

import pytest

from neurospec import expect, neuron

pytestmark = pytest.mark.model("tiny-bilingual")

GERMAN = neuron("L0N125")


def test_its_top_examples_are_german(corpus):
    expect(GERMAN).top_examples_come_from(on=corpus("german"), among=[corpus("english")],
                                          k=50, share_at_least=0.9)


def test_a_german_word_piece_alone_keeps_it_firing(corpus):
    # a layer-0 neuron: its top contexts shrink to one or two tokens
    expect(GERMAN).simplifies(on=corpus("german"), k=10, keep=0.5, max_tokens=2,
                              share_at_least=0.6)


@pytest.mark.xfail(strict=True, reason="deliberately false: its top examples are German")
def test_false_its_top_examples_are_english(corpus):
    expect(GERMAN).top_examples_come_from(on=corpus("english"), among=[corpus("german")],
                                          k=50, share_at_least=0.5)


@pytest.mark.xfail(strict=True, reason="deliberately false: half the activation needs a token")
def test_false_it_fires_on_nothing(corpus):
    expect(GERMAN).simplifies(on=corpus("german"), k=10, keep=0.5, max_tokens=0,
                              share_at_least=0.5)


def test_optimised_prompts_are_german_enough_to_fire_it(corpus):
    expect(GERMAN).optimised_prompts_reach(on=corpus("german"), fraction=0.75, restarts=6,
                                           share_at_least=0.5)


@pytest.mark.xfail(strict=True, reason="deliberately false: projection loses the soft optimum")
def test_false_optimised_prompts_double_its_top_activation(corpus):
    expect(GERMAN).optimised_prompts_reach(on=corpus("german"), fraction=2.0, restarts=4,
                                           share_at_least=0.5)
