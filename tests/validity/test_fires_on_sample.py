"""Item 11: ``fires_on`` estimates its share on seeded i.i.d. draws from the strategy's
distribution.  Hypothesis over-draws simple examples (the first listed token of a list far
more often than uniformly), so a share measured on its draws is not the share of the stated
prompt distribution."""

import numpy as np
import pytest
from hypothesis import strategies as st

from neurospec import expect, neuron
from neurospec.claims.context import using
from neurospec.data.corpus import load_corpus
from neurospec.errors import ClaimFailed, InvalidArgument
from neurospec.evidence.sink import collecting
from neurospec.measure.examples import last_token_activation
from neurospec.strategies import common_tokens, prompts

GERMAN = neuron("L0N125")


@pytest.fixture(scope="module")
def one_hot_token(tiny):
    """' Sie' (on which the German neuron fires, > 3) first, then 99 English tokens on which
    it stays below 0.2.  Hypothesis over-draws prompts made of the first listed token (a
    German context that lets it fire: 2.5% of its 400 draws); i.i.d. draws almost never."""
    de = common_tokens(tiny, load_corpus("german"), top=300)
    en = common_tokens(tiny, load_corpus("english"), top=300)
    ad = last_token_activation(tiny, GERMAN, [[t] for t in de])
    ae = last_token_activation(tiny, GERMAN, [[t] for t in en])
    hot = de[int(np.argmax(ad))]
    return [hot] + [t for t, a in zip(en, ae) if a < 0.2 and t != hot][:99]


def test_a_share_that_only_hypothesis_draws_reach_fails(tiny, one_hot_token):
    with collecting(), using(model=tiny):
        with pytest.raises(ClaimFailed, match="CI lower bound"):
            expect(GERMAN).fires_on(prompts(one_hot_token, length=12), above=1.0,
                                    share_at_least=0.01, n=400)


def test_the_share_is_of_iid_draws(tiny, one_hot_token):
    with collecting(), using(model=tiny):
        try:
            r = expect(GERMAN).fires_on(prompts(one_hot_token, length=12), above=1.0,
                                        share_at_least=0.0, n=400).record
        except ClaimFailed as err:
            r = err.record
    assert r.effect < 0.01  # hypothesis's own draws: 0.025
    assert r.method.startswith("seeded i.i.d.")


def test_a_strategy_without_a_distribution_is_an_error(tiny):
    with collecting(), using(model=tiny):
        with pytest.raises(InvalidArgument, match="neurospec.strategies"):
            expect(GERMAN).fires_on(st.lists(st.integers(0, 10), min_size=1), above=0.0)


def test_the_german_neuron_fires_on_random_german_prompts(tiny):
    german = common_tokens(tiny, load_corpus("german"), top=100)
    with collecting(), using(model=tiny):
        r = expect(GERMAN).fires_on(prompts(german, length=12), above=0.5, share_at_least=0.8)
    assert r.passed
