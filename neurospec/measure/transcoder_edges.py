"""Edges between transcoder features: the direct linear effect of a source feature on a later
target feature's pre-activation, and the total effect of ablating the source beside it.

Direct effect (as attribution graphs define an edge): every attention pattern and norm scale
between the two blocks is frozen at its value on the document, every MLP output in between is
frozen (its features and error are other nodes), so the target's pre-activation is a linear
function of the source's decoder contribution.  Per target token ``q`` the edge is ``sum_p
a(p) * d pre_B(q) / d a(p)`` over source positions ``p``; with everything frozen this is
exactly the change of ``pre_B(q)`` if the source's contribution were removed.  It is measured
by one backward pass per batch through coefficients added along the sources' decoder
directions (all sources of one call at once).

Freezing is done by returning detached values at ``attn.hook_pattern`` and the norms'
``hook_scale``; the default (TransformerLens) backend has these points, the nnsight backend
does not write them and refuses by name.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from neurospec.data.corpus import Corpus
from neurospec.data.tokens import tokenize
from neurospec.errors import InvalidArgument, UnsupportedArchitecture
from neurospec.measure.transcoder import (
    ReplacementAblation,
    Transcoder,
    ablation_hooks,
)
from neurospec.models.protocol import Hook, ModelBackend


def _frozen(model: ModelBackend, src: Transcoder, dst: Transcoder) -> list[str]:
    """The hook points to detach between the source's output and the target's input."""
    names = []
    for layer in range(src.layer + 1, dst.layer + 1):
        names += [f"blocks.{layer}.attn.hook_pattern", f"blocks.{layer}.ln1.hook_scale",
                  f"blocks.{layer}.ln2.hook_scale"]
        if layer < dst.layer:
            names.append(f"blocks.{layer}.hook_mlp_out")
    return names


def refuse_unfreezable(model: ModelBackend) -> None:
    """Raise unless a direct effect between features can be made exactly linear on ``model``:
    attention patterns and the pre-norm scales frozen (TransformerLens backend), and no
    post-norm (Gemma 2/3, OLMo 2 normalise a block's outputs with scales nothing here
    freezes, so the effect would not be the linear one an attribution graph defines)."""
    if model.backend != "transformer_lens":
        raise UnsupportedArchitecture(
            f"the direct effect between transcoder features freezes attention patterns and norm "
            f"scales, which the {model.backend} backend cannot write; use the default "
            f"(TransformerLens) backend for drives()", value=model.backend)
    arch = model.architecture
    if arch.post_attn_norm or arch.post_mlp_norm:
        raise UnsupportedArchitecture(
            f"{model.name} ({arch.model_type}) normalises its blocks' outputs (post-norms) "
            f"with scales drives() does not freeze, so the direct effect between features "
            f"would not be linear; drives() supports pre-norm models", value=arch.model_type)


def direct_effects(model: ModelBackend, src: Transcoder, sources: Sequence[int],
                   dst: Transcoder, target: int, corpus: Corpus
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Per source feature and document, the summed direct effect on the target's
    pre-activation over the counted tokens (``[len(sources), docs]``), and each document's
    counted tokens (``[docs]``)."""
    refuse_unfreezable(model)
    if dst.layer <= src.layer:
        raise InvalidArgument(f"a feature of block {src.layer} reaches the features of later "
                              f"blocks only, not block {dst.layer}", value=dst.layer)
    frozen = _frozen(model, src, dst)
    for name in frozen:
        model.check_hook_name(name)
    tcz = tokenize(model, corpus)
    k = len(sources)
    idx = torch.tensor(list(sources))
    sums = np.zeros((k, len(tcz.docs)))
    tokens = np.zeros(len(tcz.docs))
    for docs, ids, lengths in tcz.batches(model.batch_tokens):
        store: dict[str, Tensor] = {}

        def read_src(x: Tensor, hook: object = None, store: dict[str, Tensor] = store) -> None:
            s = src.to(x.device)
            store["a"] = s.encode(x.detach())[..., idx]  # [b, pos, k]
            store["g"] = torch.zeros_like(store["a"]).requires_grad_(True)

        def add(t: int, store: dict[str, Tensor] = store) -> Hook:
            def fn(out: Tensor, hook: object = None) -> Tensor:
                d = src.w_dec[idx, t - src.layer].to(out)  # [k, d_model]
                return out.detach() + store["g"].to(out) @ d
            return (src.hook_out(t), fn)

        def freeze(x: Tensor, hook: object = None) -> Tensor:
            return x.detach()

        def read_dst(x: Tensor, hook: object = None, store: dict[str, Tensor] = store) -> None:
            store["pre"] = dst.to(x.device).pre(x)[..., target]

        hooks: list[Hook] = [(src.hook_in, read_src)]
        hooks += [add(t) for t in src.targets if t < dst.layer]
        hooks += [(name, freeze) for name in frozen if not any(
            name == src.hook_out(t) for t in src.targets)]
        hooks.append((dst.hook_in, read_dst))
        model.run(ids, hooks, grad=True)
        mask = torch.arange(ids.shape[1])[None] < lengths[:, None]
        mask[:, :tcz.first] = False
        pre = store["pre"]
        with torch.enable_grad():
            torch.autograd.backward((pre * mask.to(pre)).sum())
        grad = store["g"].grad
        assert grad is not None, "the coefficients are on the target's graph"
        attr = (store["a"] * grad).detach().double().cpu()  # [b, pos, k]
        for row, (d, length) in enumerate(zip(docs, lengths.tolist())):
            sums[:, d] = attr[row, tcz.first:length].sum(0).numpy()
            tokens[d] = length - tcz.first
    return sums, tokens


def total_effect(model: ModelBackend, ablation: ReplacementAblation, dst: Transcoder,
                 target: int, corpus: Corpus) -> tuple[np.ndarray, np.ndarray]:
    """Per document, the summed change of the target's pre-activation over the counted tokens
    when the source is ablated in the replacement (error term kept, nothing frozen): clean
    minus ablated, so that a source that drives the target up has a positive effect; and the
    counted tokens per document."""
    from neurospec.measure.forward import run_variants

    tcz = tokenize(model, corpus)

    def edits(docs: list[int], lengths: Tensor) -> list[Hook]:
        return ablation_hooks(ablation, tcz.first)

    clean, ablated = run_variants(model, tcz, [None, edits], capture=[dst.hook_in],
                                  losses=False, what="transcoder total effect")
    sums, tokens = np.zeros(len(tcz.docs)), np.zeros(len(tcz.docs))
    with torch.no_grad():
        for d, (a, b) in enumerate(zip(clean.captured[dst.hook_in],
                                       ablated.captured[dst.hook_in])):
            sums[d] = float((dst.pre(a)[..., target] - dst.pre(b)[..., target]).double().sum())
            tokens[d] = len(a)
    return sums, tokens
