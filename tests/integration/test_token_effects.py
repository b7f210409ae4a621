"""Boosted / deboosted tokens against one-document-at-a-time hook runs."""

import numpy as np
import pytest
import torch

from neurospec.claims.expect import expect
from neurospec.errors import ClaimFailed, InvalidArgument
from neurospec.measure import make_ablation
from neurospec.measure.token_effects import token_effects
from neurospec.units import Neuron


def test_log_prob_changes_equal_the_hook_reference(tiny, small_sets):
    de, en = small_sets
    few = de.subset(4)
    abl = make_ablation(tiny, Neuron(0, 125), "mean", en)
    eff = token_effects(tiny, abl, few)
    bos = tiny.tokenizer.bos_token_id

    def hook(act, hook=None):
        act = act.clone()
        act[:, 1:, 125] = abl.value
        return act

    for k, text in enumerate(few.texts):
        toks = torch.tensor([[bos] + tiny.encode([text])[0][:tiny.n_ctx - 1]])
        with torch.no_grad():
            clean = torch.log_softmax(tiny.bridge(toks)[0].double(), -1)
            ablated = torch.log_softmax(tiny.bridge.run_with_hooks(
                toks, fwd_hooks=[("blocks.0.mlp.hook_post", hook)])[0].double(), -1)
        ref = (ablated - clean)[1:-1].mean(0).numpy()
        np.testing.assert_allclose(eff.dlogp[k], ref, atol=1e-5)
        tgt = toks[0, 2:]
        ref_lp = (ablated - clean)[1:-1].gather(1, tgt[:, None]).mean().item()
        assert eff.d_answer_logit[k] - eff.d_lse[k] == pytest.approx(ref_lp, abs=1e-5)
    assert not eff.eligible.all()  # tokens absent from the corpus are not ranked


def test_deboost_claim_and_errors(tiny, small_sets):
    de, en = small_sets
    chain = expect("L0N125", model=tiny).ablated(to="mean", over=en)
    chain.deboosts_tokens(lambda t: "ü" in t, on=de, top_k=200, at_least=1)
    r = chain.results[-1].record
    assert r.kind == "token_effects" and r.details["found"]
    assert set(r.charts) == {"token_table", "bars"}
    with pytest.raises(ClaimFailed):
        chain.deboosts_tokens([" the", " and"], on=de, top_k=5, at_least=2)
    with pytest.raises(InvalidArgument, match="matches no token"):
        chain.deboosts_tokens(lambda t: False, on=de)
