"""Head ablation and direct-effect removal against per-document hand-written hooks, using the
bridge's own W_O / W_U properties as an independent path to the weights."""

import numpy as np
import pytest
import torch

from neurospec.claims.expect import expect
from neurospec.measure.heads import head_ablation, head_direct_effect
from neurospec.units import Head


def _docs(tiny, corpus):
    bos = tiny.tokenizer.bos_token_id
    return [torch.tensor([[bos] + x[:tiny.n_ctx - 1]]) for x in tiny.encode(corpus.texts)]


def _token_loss(logits, toks):
    return torch.nn.functional.cross_entropy(logits[0, :-1].double(), toks[0, 1:],
                                             reduction="none").numpy()


def test_zero_ablation_equals_hooks(tiny, small_sets):
    few = small_sets[0].subset(4)
    got = head_ablation(tiny, Head(1, 2), few)

    def zero(z, hook):
        z = z.clone()
        z[:, 1:, 2] = 0.0
        return z

    for k, toks in enumerate(_docs(tiny, few)):
        with torch.no_grad():
            ref = _token_loss(tiny.bridge.run_with_hooks(
                toks, fwd_hooks=[("blocks.1.attn.hook_z", zero)]), toks) - \
                _token_loss(tiny.bridge(toks), toks)
        np.testing.assert_allclose(got.token_delta[k], ref, atol=1e-5)


def test_direct_effect_removal_equals_a_hand_computation(tiny, small_sets):
    few = small_sets[0].subset(4)
    got = head_direct_effect(tiny, Head(1, 3), few)
    b = tiny.bridge
    w_o = b.blocks[1].attn.W_O[3].detach()  # [d_head, d_model]
    gamma = b.ln_final.original_component.weight.detach()
    w_u = b.unembed.original_component.weight.detach().T
    for k, toks in enumerate(_docs(tiny, few)):
        with torch.no_grad():
            logits, cache = b.run_with_cache(toks)
        r = cache["blocks.1.attn.hook_z"][0, :, 3] @ w_o
        r = r - r.mean(-1, keepdim=True)
        direct = (r * gamma / cache["ln_final.hook_scale"][0]) @ w_u
        ref = _token_loss(logits[0:1] - direct[None], toks) - _token_loss(logits, toks)
        np.testing.assert_allclose(got.token_delta[k], ref, atol=1e-5)
        flags = [toks[0, p].item() in toks[0, 1:p].tolist() for p in range(1, toks.shape[1])]
        assert got.repeated[k].tolist() == flags


def test_head_claims_need_heads(tiny, small_sets):
    with pytest.raises(AttributeError, match="'L0N3' is a neuron, not a head"):
        expect("L0N3", model=tiny).direct_effect_favours_repeats(on=small_sets[0])
    r = expect("L0H3", model=tiny).ablated(to="zero").raises_loss(on=small_sets[0],
                                                                   by_at_least=0.0)
    assert r.results[-1].kind == "head_ablation"
    old = expect("L0H3", model=tiny).ablation_raises_loss(on=small_sets[0], by_at_least=0.0)
    assert old.record.effect == r.results[-1].record.effect
