"""Weight-gradient localisation (seed 003): per document, the norm of the LM-loss gradient
on each neuron's input weights (its row of ``W_in``, bias excluded; in a gated MLP its gate
row and its up row together) and output weights (its column of ``W_out``, the down
projection).

Batched and exact: documents in a batch do not interact, so one backward pass of the summed
per-document losses gives every document's own gradients at its positions.  With ``X`` the
MLP input ``[pos, d_model]`` and ``g`` the gradient at the pre-activation ``[pos, d_mlp]``,
the ``W_in`` row gradient of neuron n is ``X^T g[:, n]`` and its squared norm is
``g[:, n]^T (X X^T) g[:, n]``; likewise for ``W_out`` with the activations and the gradient at
the MLP output.  No per-document backward pass and no ``[d_mlp, d_model]`` gradient per
document is ever formed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
from torch import Tensor

from neurospec.data.corpus import Corpus
from neurospec.data.tokens import tokenize
from neurospec.measure.forward import token_losses
from neurospec.models.protocol import Hook, HookFn, ModelBackend
from neurospec.units import Neuron, check_unit


@dataclass(frozen=True)
class WeightGradients:
    """Per-document gradient norms of every neuron of one layer."""

    layer: int
    corpus: Corpus
    w_in: np.ndarray  # [n_docs, d_mlp]
    w_out: np.ndarray  # [n_docs, d_mlp]


def weight_gradient_norms(model: ModelBackend, corpus: Corpus, layer: int,
                          last_only: bool = False) -> WeightGradients:
    """Norms of d(loss of each document)/d(weights) for every neuron of MLP ``layer``.

    The loss is the mean next-token loss, or with ``last_only`` the loss of the last token
    alone (a prompt followed by its answer, as in seed 003).
    """
    return weight_gradient_norms_layers(model, corpus, [layer], last_only)[0]


def weight_gradient_norms_layers(model: ModelBackend, corpus: Corpus, layers: list[int],
                                 last_only: bool = False) -> list[WeightGradients]:
    """:func:`weight_gradient_norms` for several MLP layers from one batched forward and
    backward pass (as seed 003's one backward per prompt reads every layer)."""
    layers = sorted(set(layers))
    for layer in layers:
        check_unit(Neuron(layer, 0), model)
    tc = tokenize(model, corpus)
    # A gated MLP's neuron is act(gate) * up: its input weights are its gate row and its up row
    # (both read the MLP input), and its input-weight gradient norm covers both.
    pre = ("hook_pre", "hook_pre_linear") if model.architecture.gated_mlp else ("hook_pre",)
    names = {(layer, k): f"blocks.{layer}.mlp.{k}" for layer in layers
             for k in ("hook_in", *pre, "hook_post", "hook_out")}
    n = len(tc.docs)
    g_in = {layer: np.zeros((n, model.d_mlp)) for layer in layers}
    g_out = {layer: np.zeros((n, model.d_mlp)) for layer in layers}
    from neurospec.progress import progress

    what = f"weight gradients of MLP{','.join(map(str, layers))}"
    bar = progress(what, n, "documents")
    for docs, ids, lengths in tc.batches(model.batch_tokens):
        store: dict[tuple[int, str], Tensor] = {}
        # The backward pass starts at the first layer's input: nothing before it needs a
        # gradient.
        hooks: list[Hook] = [(names[layers[0], "hook_in"], _leaf)]
        hooks += [(h, _keeper(store, k)) for k, h in names.items()]
        logits = model.run(ids, hooks, grad=True)
        with torch.enable_grad():
            tl = token_losses(logits, ids)
            pos = torch.arange(tl.shape[1], device=tl.device)[None]
            lengths_d = lengths.to(tl.device)
            if last_only:
                mask = pos == (lengths_d[:, None] - 2)
            else:
                mask = pos < (lengths_d[:, None] - 1)
            per_doc = (tl * mask).sum(1) / mask.sum(1)
            torch.autograd.backward(per_doc.sum())
        # Per document, dL/dW_in[n] = sum_p gp[p, n] x[p], so its squared norm is
        # gp[:, n]^T (X X^T) gp[:, n]: one Gram matrix per document instead of a backward
        # pass per document.  Padded positions (and each document's last one) have zero
        # gradient, so the whole batch goes at once.
        for layer in layers:
            x = store[layer, "hook_in"].detach().double()
            a = store[layer, "hook_post"].detach().double()
            go = _grad(store[layer, "hook_out"]).double()
            gram = x @ x.transpose(1, 2)  # [b, pos, pos]
            # a Tensor: ``pre`` is never empty
            sq_in = cast(Tensor, sum((gram @ g * g).sum(1) for g in
                                     (_grad(store[layer, k]).double() for k in pre)))  # [b, d_mlp]
            sq_out = ((go @ go.transpose(1, 2)) @ a * a).sum(1)
            g_in[layer][docs] = sq_in.clamp_min(0).sqrt().cpu().numpy()
            g_out[layer][docs] = sq_out.clamp_min(0).sqrt().cpu().numpy()
        bar.advance(len(docs))
    return [WeightGradients(layer, corpus, g_in[layer], g_out[layer]) for layer in layers]


def _leaf(act: Tensor, hook: object = None) -> Tensor:
    """A hook making its activation a leaf that records gradients."""
    return act.detach().requires_grad_(True)


def _keeper(store: dict[tuple[int, str], Tensor], key: tuple[int, str]) -> HookFn:
    """A hook keeping its activation in ``store[key]`` (its gradient retained)."""
    def fn(act: Tensor, hook: object = None) -> Tensor:
        if act.requires_grad:
            act.retain_grad()
        store[key] = act
        return act
    return fn


def _grad(t: Tensor) -> Tensor:
    """The gradient the backward pass left on ``t`` (every kept hook is on the loss's path)."""
    assert t.grad is not None, "a kept activation received no gradient"
    return t.grad
