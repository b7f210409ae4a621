"""Property-based prompt claims: strategies, batched evaluation, shrunk counterexamples."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurospec.claims.expect import expect
from neurospec.errors import ClaimFailed
from neurospec.measure.examples import last_token_activation
from neurospec.strategies import common_tokens, prompts, replaced_columns
from neurospec.units import Neuron


@pytest.fixture(scope="module")
def german(tiny, small_sets):
    return common_tokens(tiny, small_sets[0], top=50)


def test_common_tokens_skip_punctuation(tiny, german):
    strs = tiny.str_tokens(german)
    assert len(german) == 50 and all(sum(c.isalpha() for c in s) >= 2 for s in strs)


@settings(max_examples=20, deadline=None, database=None)
@given(data=st.data())
def test_strategies_build_what_they_say(data):
    p = data.draw(prompts([5, 6, 7], 4, ending=(9, 9)))
    assert len(p) == 6 and p[-2:] == [9, 9] and set(p[:4]) <= {5, 6, 7}
    r = data.draw(replaced_columns([1, 2, 3, 4], [0, 2], [8]))
    assert r == [8, 2, 8, 4]


def test_fires_on_records_the_share_and_a_shrunk_counterexample(tiny, german):
    with pytest.raises(ClaimFailed) as info:
        expect("L0N125", model=tiny).fires_on(prompts(german, 8), above=1.0, share_at_least=1.0,
                                             n=100)
    r = info.value.record
    assert r.kind == "property" and 0 < r.effect < 1
    bad = r.details["counterexample"]
    assert bad and "contexts" in r.charts
    assert r.charts["contexts"]["items"][0]["max"] <= 1.0
    batch = last_token_activation(tiny, Neuron(0, 125), [german[:3], german[3:8]])
    single = [last_token_activation(tiny, Neuron(0, 125), [p])[0]
              for p in (german[:3], german[3:8])]
    assert batch == pytest.approx(single, abs=1e-5)


def test_the_counterexample_search_runs_the_model_without_a_line_tracer(tiny, german,
                                                                        monkeypatch):
    # Hypothesis's explain phase traces every line while it shrinks (sys.settrace): each
    # forward pass ran 5x slower.  The search must shrink without it.
    import sys

    import neurospec.measure.examples as examples

    traced, real = [], examples.last_token_activation
    monkeypatch.setattr(examples, "last_token_activation",
                        lambda *a: traced.append(sys.gettrace() is not None) or real(*a))
    with pytest.raises(ClaimFailed) as info:
        expect("L0N125", model=tiny).fires_on(prompts(german, 8), above=1.0, share_at_least=1.0,
                                             n=60)
    assert info.value.record.details["counterexample"]  # it found and shrank one
    assert len(traced) > 20 and not any(traced)
