"""Batched per-document weight-gradient norms against one backward pass per document on the
wrapped modules' own weights (the bridge's W_in / W_out are transposed views)."""

import numpy as np
import pytest
import torch

from neurospec.claims.expect import expect
from neurospec.measure.gradients import weight_gradient_norms


@pytest.mark.parametrize("layer", [0, 1])
def test_batched_norms_equal_one_backward_per_document(tiny, small_sets, layer):
    de, _ = small_sets
    few = de.subset(6)
    got = weight_gradient_norms(tiny, few, layer)
    mlp = tiny.bridge.blocks[layer].mlp
    w_in = getattr(mlp, "in").original_component.weight
    w_out = mlp.out.original_component.weight
    bos = tiny.tokenizer.bos_token_id
    try:
        w_in.requires_grad_(True)
        w_out.requires_grad_(True)
        for k, text in enumerate(few.texts):
            w_in.grad = w_out.grad = None
            toks = torch.tensor([[bos] + tiny.encode([text])[0][:tiny.n_ctx - 1]])
            logits = tiny.bridge(toks)
            torch.nn.functional.cross_entropy(logits[0, :-1], toks[0, 1:]).backward()
            np.testing.assert_allclose(got.w_in[k], w_in.grad.norm(dim=1).double(), atol=1e-5)
            np.testing.assert_allclose(got.w_out[k], w_out.grad.norm(dim=0).double(), atol=1e-5)
    finally:
        w_in.requires_grad_(False)
        w_out.requires_grad_(False)
        w_in.grad = w_out.grad = None
    assert not tiny.leftover_hooks()


def test_updates_more_claim(tiny, small_sets):
    de, en = small_sets
    r = expect("L0N125", model=tiny).updates_more(on=de, than=en, effect_size_at_least=0.0)
    assert r.kind == "weight_gradients" and r.details["weights"] == "W_in"
    assert "histogram" in r.charts


def test_answer_only_gradients_equal_one_backward_per_prompt(tiny):
    from neurospec.data.corpus import Corpus
    from neurospec.errors import InvalidArgument

    texts = ["Der Hund und die Katze", "Wir sind heute im Garten"]
    got = weight_gradient_norms(tiny, Corpus.from_texts(texts), 0, last_only=True)
    w_in = getattr(tiny.bridge.blocks[0].mlp, "in").original_component.weight
    bos = tiny.tokenizer.bos_token_id
    try:
        w_in.requires_grad_(True)
        for k, text in enumerate(texts):
            w_in.grad = None
            toks = torch.tensor([[bos] + tiny.encode([text])[0]])
            logits = tiny.bridge(toks)
            torch.nn.functional.cross_entropy(logits[0, -2:-1], toks[0, -1:]).backward()
            np.testing.assert_allclose(got.w_in[k], w_in.grad.norm(dim=1).double(), atol=1e-5)
    finally:
        w_in.requires_grad_(False)
        w_in.grad = None
    with pytest.raises(InvalidArgument, match="not one token appended"):
        expect("L0N125", model=tiny).updates_more_for_wrong_answers(
            ["Der Hund"] * 10, [" Donaudampfschifffahrtsgesellschaft"] * 10, [" the"] * 10)


def test_all_layers_from_one_pass_equal_layer_by_layer(tiny, small_sets):
    from neurospec.measure.gradients import weight_gradient_norms_layers

    de, _ = small_sets
    few = de.subset(8)
    together = weight_gradient_norms_layers(tiny, few, [1, 0])
    assert [g.layer for g in together] == [0, 1]
    for g in together:
        alone = weight_gradient_norms(tiny, few, g.layer)
        np.testing.assert_allclose(g.w_in, alone.w_in, atol=1e-6)
        np.testing.assert_allclose(g.w_out, alone.w_out, atol=1e-6)
