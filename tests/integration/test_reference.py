"""neurospec's measurements against the plain TransformerLens way: one document per
forward pass, hooks written by hand, as the seed notebooks do."""

import numpy as np
import pytest
import torch

from neurospec.data.tokens import tokenize
from neurospec.measure import ablation_effect, make_ablation, neuron_activations
from neurospec.units import Neuron


def _docs(model, corpus):
    bos = model.tokenizer.bos_token_id
    ids = model.tokenizer(list(corpus.texts), add_special_tokens=False)["input_ids"]
    return [torch.tensor([bos] + x[:model.n_ctx - 1])[None] for x in ids]


def _reference_acts(model, corpus, unit):
    hook = f"blocks.{unit.layer}.mlp.hook_post"
    out = []
    for toks in _docs(model, corpus):
        _, cache = model.bridge.run_with_cache(toks, names_filter=lambda n: n == hook)
        out.append(cache[hook][0, 1:, unit.index].double().numpy())
    return out


def _reference_loss(model, toks, hooks=()):
    with torch.no_grad():
        logits = model.bridge.run_with_hooks(toks, fwd_hooks=list(hooks))
    return torch.nn.functional.cross_entropy(logits[0, :-1].double(), toks[0, 1:]).item()


@pytest.fixture(scope="module")
def unit(manifest):
    g = manifest["german_neuron"]
    return Neuron(g["layer"], g["neuron"])


def test_activations_equal_the_hook_reference(tiny, small_sets, unit):
    de, _ = small_sets
    ref = _reference_acts(tiny, de, unit)
    got = neuron_activations(tiny, de, unit)
    assert len(got.per_token) == len(ref)
    for a, b in zip(got.per_token, ref):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)
    assert got.doc_means == pytest.approx([r.mean() for r in ref], abs=1e-6)


def test_mean_ablation_equals_the_hook_reference(tiny, small_sets, unit):
    de, en = small_sets
    value = float(np.concatenate(_reference_acts(tiny, en, unit)).mean())
    abl = make_ablation(tiny, unit, "mean", en)
    assert abl.value == pytest.approx(value, abs=1e-6)

    def hook(act, hook=None):
        act = act.clone()
        act[:, 1:, unit.index] = value
        return act

    eff = ablation_effect(tiny, abl, de)
    for i, toks in enumerate(_docs(tiny, de)):
        clean = _reference_loss(tiny, toks)
        ablated = _reference_loss(tiny, toks, [(unit.hook, hook)])
        assert eff.clean[i] == pytest.approx(clean, abs=1e-5)
        assert eff.delta[i] == pytest.approx(ablated - clean, abs=1e-5)
    assert not tiny.leftover_hooks()


def test_zero_and_resample_ablation_change_the_loss(tiny, small_sets, unit):
    de, en = small_sets
    zero = ablation_effect(tiny, make_ablation(tiny, unit, "zero"), de)
    toks = _docs(tiny, de)[0]

    def hook(act, hook=None):
        act = act.clone()
        act[:, 1:, unit.index] = 0.0
        return act

    assert zero.delta[0] == pytest.approx(
        _reference_loss(tiny, toks, [(unit.hook, hook)]) - _reference_loss(tiny, toks), abs=1e-5)
    r1 = ablation_effect(tiny, make_ablation(tiny, unit, "resample", en, seed=1), de)
    r2 = ablation_effect(tiny, make_ablation(tiny, unit, "resample", en, seed=2), de)
    assert np.abs(r1.delta).sum() > 0 and not np.allclose(r1.delta, r2.delta)


def test_batching_does_not_change_numbers(tiny, small_sets):
    de, _ = small_sets
    from neurospec.measure.forward import run_corpus

    tc = tokenize(tiny, de)
    big = run_corpus(tiny, tc, max_tokens=100_000).doc_losses
    small = run_corpus(tiny, tc, max_tokens=200).doc_losses
    np.testing.assert_allclose(big, small, atol=1e-5)
