"""Path patching against the four runs written out by hand, one document at a time."""

import pytest
import torch

from neurospec.errors import InvalidArgument
from neurospec.measure import make_ablation
from neurospec.measure.path_patching import path_patching
from neurospec.units import Neuron


def _loss(bridge, toks, hooks):
    with torch.no_grad():
        logits = bridge.run_with_hooks(toks, fwd_hooks=hooks)
    return torch.nn.functional.cross_entropy(logits[0, :-1].double(), toks[0, 1:]).item()


@pytest.mark.parametrize("through", [["blocks.1.hook_mlp_out"],
                                     ["blocks.1.hook_attn_out", "blocks.1.hook_mlp_out"]])
def test_four_runs_equal_the_naive_reference(tiny, small_sets, through):
    de, en = small_sets
    few = de.subset(4)
    abl = make_ablation(tiny, Neuron(0, 125), "mean", en)
    got = path_patching(tiny, abl, few, through)
    comps = ["blocks.1.hook_attn_out", "blocks.1.hook_mlp_out"]
    b, bos = tiny.bridge, tiny.tokenizer.bos_token_id

    def ablate(act, hook):
        act = act.clone()
        act[:, 1:, 125] = abl.value
        return act

    for k, text in enumerate(few.texts):
        toks = torch.tensor([[bos] + tiny.encode([text])[0][:tiny.n_ctx - 1]])
        clean = _loss(b, toks, [])
        with torch.no_grad(), b.hooks(fwd_hooks=[("blocks.0.mlp.hook_post", ablate)]):
            _, abl_cache = b.run_with_cache(toks)
        ablated = _loss(b, toks, [("blocks.0.mlp.hook_post", ablate)])
        others = [c for c in comps if c not in through]
        frozen = [(c, lambda act, hook, c=c, cache=abl_cache: cache[c]) for c in others]
        with torch.no_grad(), b.hooks(fwd_hooks=frozen):
            _, act_cache = b.run_with_cache(toks)
        patched = [(c, lambda act, hook, c=c, cache=act_cache: cache[c]) for c in through]
        path = _loss(b, toks, [("blocks.0.mlp.hook_post", ablate)] + frozen + patched)
        assert got.clean[k] == pytest.approx(clean, abs=1e-5)
        assert got.ablated[k] == pytest.approx(ablated, abs=1e-5)
        assert got.path_only[k] == pytest.approx(path, abs=1e-5)
    assert not tiny.leftover_hooks()


def test_components_must_be_downstream(tiny, small_sets):
    de, en = small_sets
    abl = make_ablation(tiny, Neuron(1, 3), "zero")
    with pytest.raises(InvalidArgument, match="not one of"):
        path_patching(tiny, abl, de.subset(3), ["blocks.0.hook_mlp_out"])
    with pytest.raises(InvalidArgument, match="did you mean"):
        path_patching(tiny, make_ablation(tiny, Neuron(0, 3), "zero"), de.subset(3),
                      ["blocks.1.hook_mlp_outt"])
