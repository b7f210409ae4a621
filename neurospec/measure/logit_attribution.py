"""Direct logit attribution of MLP neurons: what a neuron writes straight to the logits.

``W_out[L][n] @ W_U`` with the final LayerNorm folded as TransformerLens's compatibility mode
folds it (the seeds' setting): the neuron's output direction is centred (LayerNorm subtracts
the mean), scaled by the LayerNorm weight, projected on ``W_U``, and centred over the
vocabulary (only logit differences matter).  The per-position ``1/std`` of the LayerNorm is
not folded: it is a positive factor per position and changes no ranking.  ``folded=False``
gives the raw ``W_out[n] @ W_U``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from neurospec.errors import InvalidArgument
from neurospec.units import Neuron, check_unit


def _final_ln_weight(model) -> Tensor | None:
    ln = getattr(model.bridge, "ln_final", None)
    inner = getattr(ln, "original_component", None)
    return None if inner is None or inner.weight is None else inner.weight.detach()


def neuron_logit_weights(model, layer: int, folded: bool = True) -> Tensor:
    """DLA of every neuron of MLP ``layer``: ``[d_mlp, d_vocab]`` (float64)."""
    w_out = model.mlp_out_weight(layer).double()  # [d_mlp, d_model]
    w_u = model.unembed_weight().double()  # [d_model, d_vocab]
    if not folded:
        return w_out @ w_u
    w_out = w_out - w_out.mean(-1, keepdim=True)
    gamma = _final_ln_weight(model)
    if gamma is not None:
        w_out = w_out * gamma.double()
    dla = w_out @ w_u
    return dla - dla.mean(-1, keepdim=True)


@dataclass(frozen=True)
class LogitAttribution:
    """One neuron's direct effect on each vocabulary logit."""

    unit: Neuron
    values: Tensor  # [d_vocab] float64
    folded: bool

    def top(self, k: int) -> list[int]:
        return torch.topk(self.values, k).indices.tolist()

    def bottom(self, k: int) -> list[int]:
        return torch.topk(-self.values, k).indices.tolist()


def logit_attribution(model, unit: Neuron, folded: bool = True) -> LogitAttribution:
    """The tokens ``unit`` writes most (``top``) and least (``bottom``)."""
    check_unit(unit, model)
    values = model.cache.get_or_compute(
        ("dla", unit.layer, folded), lambda: neuron_logit_weights(model, unit.layer, folded))
    return LogitAttribution(unit, values[unit.index], folded)


def top_writers(model, token: int, layer: int, k: int = 10,
                folded: bool = True) -> list[tuple[Neuron, float]]:
    """The ``k`` neurons of ``layer`` whose direct effect on ``token``'s logit is largest."""
    dla = model.cache.get_or_compute(("dla", layer, folded),
                                     lambda: neuron_logit_weights(model, layer, folded))
    vals, idx = torch.topk(dla[:, token], k)
    return [(Neuron(layer, int(i)), float(v)) for i, v in zip(idx, vals)]


def single_token_ids(model, strings: list[str]) -> list[int]:
    """Each string's token id; a string that is not exactly one token is an error."""
    ids = []
    for s in strings:
        enc = model.encode([s])[0]
        if len(enc) != 1:
            raise InvalidArgument(
                f"{s!r} is not one token of {model.name}: it encodes as "
                f"{model.str_tokens(enc)}; list single tokens (mind the leading space)", value=s)
        ids.append(enc[0])
    return ids
