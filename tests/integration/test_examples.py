"""Top examples and greedy simplification against plain loops over single forward passes."""

import numpy as np
import pytest
import torch

from neurospec.measure.examples import last_token_activation, simplify, top_examples
from neurospec.units import Neuron

UNIT = Neuron(0, 125)


def _act(tiny, tokens):
    bos = tiny.tokenizer.bos_token_id
    _, cache = tiny.bridge.run_with_cache(torch.tensor([[bos] + list(tokens)]),
                                          names_filter=lambda n: n == UNIT.hook)
    return float(cache[UNIT.hook][0, -1, UNIT.index])


def test_top_examples_equal_a_sort_of_every_token(tiny, small_sets):
    de, en = small_sets
    ex = top_examples(tiny, UNIT, [de.subset(10), en.subset(10)], k=5)
    everything = []
    for c in (de.subset(10), en.subset(10)):
        for text in c.texts:
            ids = tiny.encode([text])[0][:tiny.n_ctx - 1]
            for p in range(len(ids)):
                everything.append(_act(tiny, ids[:p + 1]))
    assert np.allclose([e.activation for e in ex], sorted(everything)[::-1][:5], atol=1e-5)
    assert all(e.values[-1] == e.activation for e in ex)  # the context ends at the peak


def test_greedy_simplification_follows_its_definition(tiny, small_sets):
    de, _ = small_sets
    prompt = tiny.encode([de.texts[0]])[0][:12]
    s = simplify(tiny, UNIT, prompt, keep=0.5)
    # replay: each step deletes the token whose removal keeps the activation highest
    current, start = list(prompt), _act(tiny, prompt)
    for length, value in s.steps:
        options = [current[:i] + current[i + 1:] for i in range(len(current) - 1)]
        acts = [_act(tiny, o) for o in options]
        current = options[int(np.argmax(acts))]
        assert len(current) == length and max(acts) == pytest.approx(value, abs=1e-5)
        assert value >= 0.5 * start
    assert tuple(current) == s.simplified and current[-1] == prompt[-1]
    assert last_token_activation(tiny, UNIT, [prompt])[0] == pytest.approx(start, abs=1e-5)


def test_noise_sensitivity_equals_per_token_loops(tiny, small_sets):
    from neurospec.measure.examples import noise_sensitivity

    prompt = tiny.encode([small_sets[0].texts[1]])[0][:6]
    got = noise_sensitivity(tiny, UNIT, prompt, sigma=1.0, samples=4, seed=3)
    # the same noise, one sequence at a time
    bos = tiny.tokenizer.bos_token_id
    ids = torch.tensor([[bos] + prompt])
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        _, cache = tiny.bridge.run_with_cache(ids, names_filter=lambda n: n == "hook_embed")
    emb = cache["hook_embed"]
    rms = emb.pow(2).mean().sqrt()
    noise = torch.randn(len(prompt) * 4, emb.shape[-1], generator=gen) * rms
    base = _act(tiny, prompt)
    for t in range(len(prompt)):
        drops = []
        for s in range(4):
            def put(e, hook, t=t, s=s):
                e = e.clone()
                e[0, 1 + t] += noise[t * 4 + s]
                return e
            store = {}
            with torch.no_grad():
                tiny.bridge.run_with_hooks(ids, fwd_hooks=[
                    ("hook_embed", put),
                    (UNIT.hook, lambda a, hook, store=store: store.__setitem__("a", a))])
            drops.append(base - float(store["a"][0, -1, UNIT.index]))
        assert got[t] == pytest.approx(np.mean(drops), abs=1e-4)


def test_optimised_prompt_is_projected_and_measured_honestly(tiny):
    from neurospec.measure.examples import optimise_prompt

    r = optimise_prompt(tiny, UNIT, length=4, steps=30, seed=1)
    assert len(r.tokens) == 4 and all(0 <= t < tiny.d_vocab for t in r.tokens)
    assert r.activation == pytest.approx(_act(tiny, r.tokens), abs=1e-5)
    assert r.trace[-1] > r.trace[0]  # the ascent ascends
    assert not tiny.leftover_hooks()
