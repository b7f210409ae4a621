"""Direct logit attribution of MLP neurons: what a neuron writes straight to the logits.

``W_out[L][n] @ W_U`` with the final norm folded as TransformerLens's compatibility mode
folds it (the seeds' setting): the neuron's output direction is centred (a LayerNorm subtracts
the mean; an RMSNorm does not), scaled by the norm's weight (Gemma's ``1 + w``), projected on
``W_U``, and centred over the
vocabulary (only logit differences matter).  The per-position ``1/std`` of the LayerNorm is
not folded: it is a positive factor per position and changes no ranking.  ``folded=False``
gives the raw ``W_out[n] @ W_U``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from neurospec.errors import InvalidArgument
from neurospec.models.architecture import refuse
from neurospec.models.protocol import ModelBackend
from neurospec.units import Neuron, check_unit


def neuron_logit_weights(model: ModelBackend, layer: int, folded: bool = True) -> Tensor:
    """DLA of every neuron of MLP ``layer``: ``[d_mlp, d_vocab]`` (float64)."""
    # on the unembedding's device (a model spread over GPUs has its layers elsewhere)
    w_u = model.unembed_weight().double()  # [d_model, d_vocab]
    w_out = model.mlp_out_weight(layer).double().to(w_u.device)  # [d_mlp, d_model]
    if not folded:
        raw: Tensor = w_out @ w_u
        return raw
    norm = model.final_norm
    if (why := model.architecture.rank_one_blocker()) is not None:
        raise refuse("a neuron's direct logit attribution", why, "use folded=False for the raw "
                     "W_out @ W_U, or measure the neuron's effect by ablation")
    if norm is None:
        raise refuse("folding the final norm into the logit attribution",
                     f"its final norm {model.architecture.final_norm_module} is of an unknown "
                     f"form", "use folded=False")
    if norm.centred:  # a LayerNorm subtracts the mean; an RMSNorm does not
        w_out = w_out - w_out.mean(-1, keepdim=True)
    if norm.weight is not None:
        w_out = w_out * norm.weight.double().to(w_out.device)
    dla: Tensor = w_out @ w_u
    centred: Tensor = dla - dla.mean(-1, keepdim=True)
    return centred


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


def logit_attribution(model: ModelBackend, unit: Neuron, folded: bool = True
                      ) -> LogitAttribution:
    """The tokens ``unit`` writes most (``top``) and least (``bottom``)."""
    check_unit(unit, model)
    values = model.cache.get_or_compute(
        ("dla", unit.layer, folded), lambda: neuron_logit_weights(model, unit.layer, folded))
    return LogitAttribution(unit, values[unit.index], folded)


def top_writers(model: ModelBackend, token: int, layer: int, k: int = 10,
                folded: bool = True) -> list[tuple[Neuron, float]]:
    """The ``k`` neurons of ``layer`` whose direct effect on ``token``'s logit is largest."""
    dla = model.cache.get_or_compute(("dla", layer, folded),
                                     lambda: neuron_logit_weights(model, layer, folded))
    vals, idx = torch.topk(dla[:, token], k)
    return [(Neuron(layer, int(i)), float(v)) for i, v in zip(idx, vals)]


def single_token_ids(model: ModelBackend, strings: list[str]) -> list[int]:
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
