"""What a loaded model's layout is, as far as exact shortcuts care: the final norm (LayerNorm,
RMSNorm, Gemma's ``1 + w`` RMSNorm), gated MLPs, grouped-query attention, parallel residual,
post-attention / post-MLP norms, final logit soft-capping, tied embeddings.

Read from the bridge's own modules and checked numerically where a formula depends on it (a
norm's form is identified by applying the module to a probe input), so that a layout nobody
has described here is reported as unknown and every shortcut that needs it refuses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from neurospec.errors import UnsupportedArchitecture


@dataclass(frozen=True)
class Norm:
    """A normalisation ``y = (x - [mean x]) / sqrt(mean((x - [mean x])^2) + eps) * weight + bias``.

    ``kind`` is ``layernorm`` (mean subtracted) or ``rmsnorm`` (not); ``weight`` is the
    effective per-channel scale (Gemma's ``1 + w`` already added), ``None`` for none.
    """

    kind: str
    weight: Tensor | None = field(repr=False)
    bias: Tensor | None = field(repr=False)
    eps: float
    module: str  # the class name, for messages

    @property
    def centred(self) -> bool:
        return self.kind == "layernorm"

    def __call__(self, x: Tensor) -> Tensor:
        x = x.double()
        if self.centred:
            x = x - x.mean(-1, keepdim=True)
        y = x / torch.sqrt((x * x).mean(-1, keepdim=True) + self.eps)
        if self.weight is not None:
            y = y * self.weight.double().to(y.device)
        if self.bias is not None:
            y = y + self.bias.double().to(y.device)
        return y


@dataclass(frozen=True)
class Architecture:
    """The layout facts exact shortcuts depend on (see module docstring)."""

    model_type: str
    final_norm: Norm | None  # None: a norm of a form neurospec does not know
    final_norm_module: str
    gated_mlp: bool
    parallel_residual: bool
    post_attn_norm: bool
    post_mlp_norm: bool
    logit_softcap: float | None
    n_heads: int
    n_key_value_heads: int
    tied_embeddings: bool

    def rank_one_blocker(self) -> str | None:
        """Why a neuron's change does *not* enter the residual as ``delta * W_out[n]``
        (None: it does)."""
        if self.post_mlp_norm:
            return (f"{self.model_type} normalises the MLP output before adding it to the "
                    f"residual (post-MLP norm), so a neuron's change is not rank-one there")
        return None

    def closed_form_blocker(self) -> str | None:
        """Why the last-layer closed form does not hold for this model (None: it holds)."""
        if (why := self.rank_one_blocker()) is not None:
            return why
        if self.final_norm is None:
            return (f"its final norm {self.final_norm_module} is neither a LayerNorm nor an "
                    f"RMSNorm of a known form")
        if self.logit_softcap is not None:
            return (f"{self.model_type} soft-caps its final logits (tanh, cap "
                    f"{self.logit_softcap:g}), which the closed form does not model")
        return None


def describe(bridge: Any) -> Architecture:
    """The :class:`Architecture` of a TransformerBridge (its HF config and modules)."""
    hf_cfg = getattr(getattr(bridge, "original_model", None), "config", None)
    cfg = bridge.cfg
    block = bridge.blocks[0]
    children = dict(block.named_children())
    ln = bridge.ln_final.original_component
    n_heads = cfg.n_heads
    n_kv = getattr(cfg, "n_key_value_heads", None) or n_heads
    cap = getattr(hf_cfg, "final_logit_softcapping", None)
    return Architecture(
        model_type=str(getattr(hf_cfg, "model_type", None) or type(bridge).__name__),
        final_norm=identify_norm(ln),
        final_norm_module=type(ln).__name__,
        gated_mlp="gate" in dict(block.mlp.named_children()),
        parallel_residual="blocks.0.hook_resid_mid" not in bridge.hook_dict,
        post_attn_norm="ln1_post" in children,
        post_mlp_norm="ln2_post" in children,
        logit_softcap=float(cap) if cap else None,
        n_heads=n_heads, n_key_value_heads=int(n_kv),
        tied_embeddings=bool(getattr(hf_cfg, "tie_word_embeddings", False)))


@torch.no_grad()
def identify_norm(module: Any) -> Norm | None:
    """The :class:`Norm` a module computes, found by trying the known forms on a probe input
    (small and large vectors, so that ``eps`` matters); None when none matches."""
    weight = getattr(module, "weight", None)
    bias = getattr(module, "bias", None)
    eps = getattr(module, "eps", getattr(module, "variance_epsilon", None))
    if weight is None or eps is None:
        return None
    weight, eps = weight.detach(), float(eps)
    bias = bias.detach() if isinstance(bias, Tensor) else None
    d = weight.shape[-1]
    gen = torch.Generator().manual_seed(0)
    probe = torch.randn(4, d, generator=gen, dtype=torch.float64)
    probe[:2] *= torch.tensor([[1e-3], [30.0]], dtype=torch.float64)
    probe = probe.to(device=weight.device, dtype=weight.dtype)
    out = module(probe).double()
    tol = 1e-4 if weight.dtype == torch.float32 else 2e-2
    name = type(module).__name__
    for kind in ("layernorm", "rmsnorm"):
        for w in (weight, 1.0 + weight.double()):
            norm = Norm(kind, w, bias, eps, name)
            ref = norm(probe)
            if torch.allclose(out, ref, rtol=tol, atol=tol * float(ref.abs().max())):
                return norm
    return None


def refuse(what: str, why: str, instead: str) -> UnsupportedArchitecture:
    """An error for a shortcut that does not hold: names the feature and what to use."""
    return UnsupportedArchitecture(f"{what} does not hold for this model: {why}; {instead}",
                                   value=why)
