"""Transcoders: a sparse dictionary that reads an MLP's input and predicts its output, read from
the files researchers ship without importing SAELens or circuit-tracer.

A transcoder of block ``L`` reads ``blocks.L.mlp.hook_in`` (the MLP's input, after the block's
second norm: SAELens's and Gemma Scope's ``blocks.L.ln2.hook_normalized`` is the same tensor
and is read as ``mlp.hook_in``) and predicts ``blocks.L.hook_mlp_out`` (what the MLP adds to the
residual stream).  A cross-layer transcoder's features of block ``L`` also write to the MLP
outputs of every later block: its decoder has one slice per target block.

Layouts read here (anything else that changes the numbers is refused with the fix):

- SAELens 6 (``cfg.json`` + ``sae_weights.safetensors``): ``architecture`` ``transcoder`` /
  ``skip_transcoder`` (ReLU), ``jumprelu_transcoder`` / ``jumprelu_skip_transcoder`` (tensor
  ``threshold``: ``f = pre * [pre > threshold]``); ``W_enc [d_in, d_sae]``, ``b_enc``,
  ``W_dec [d_sae, d_out]``, ``b_dec [d_out]``, ``W_skip [d_out, d_in]`` (out ``+= x @
  W_skip.T``); hooks ``hook_name`` / ``hook_name_out`` at the top level or under ``metadata``;
  ``apply_b_dec_to_input`` must be false and ``normalize_activations`` ``none``;
- a plain ``.safetensors`` file with the same tensor names and ``hook_in=`` (``hook_out=``
  defaults to the block's ``hook_mlp_out``), ``activation="relu" | "jumprelu" | "topk"``
  (``k=``); a ``cfg.json`` beside it may say the same (``hook_name``, ``activation``, ``k``);
- circuit-tracer's per-layer and cross-layer files (:mod:`neurospec.measure.transcoder_files`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from neurospec.errors import CheckpointError, InvalidArgument

ACTIVATIONS = ("relu", "jumprelu", "topk")
SAELENS_ARCHITECTURES = {"transcoder": "relu", "skip_transcoder": "relu",
                         "jumprelu_transcoder": "jumprelu", "jumprelu_skip_transcoder": "jumprelu"}
IN_HOOK, OUT_HOOK = "mlp.hook_in", "hook_mlp_out"


@dataclass(frozen=True)
class Transcoder:
    """The transcoder features of one block: encoder, activation rule and decoder.

    ``w_dec[:, j]`` is what a unit of feature activation adds to the MLP output of block
    ``layer + j`` (one slice for a per-layer transcoder; ``n_layers - layer`` for a
    cross-layer one).  ``b_dec`` and ``w_skip`` belong to the output of block ``layer``.
    """

    w_enc: Tensor  # [d_in, d_tc]
    b_enc: Tensor  # [d_tc]
    w_dec: Tensor  # [d_tc, n_targets, d_out]
    b_dec: Tensor  # [d_out]
    layer: int
    source: str
    activation: str = "relu"
    threshold: Tensor | None = field(default=None, repr=False)  # jumprelu
    k: int | None = None  # topk
    w_skip: Tensor | None = field(default=None, repr=False)  # [d_out, d_in]
    hook_in_name: str = IN_HOOK  # within the block
    hook_out_name: str = OUT_HOOK
    kind: str = "per-layer"  # or "cross-layer"

    @property
    def d_in(self) -> int:
        return int(self.w_enc.shape[0])

    @property
    def d_tc(self) -> int:
        return int(self.w_enc.shape[1])

    @property
    def d_out(self) -> int:
        return int(self.w_dec.shape[2])

    @property
    def hook_in(self) -> str:
        return f"blocks.{self.layer}.{self.hook_in_name}"

    @property
    def hook(self) -> str:
        """Where its features are read (as for an SAE)."""
        return self.hook_in

    def hook_out(self, target: int | None = None) -> str:
        """The output hook of block ``target`` (default: the transcoder's own block)."""
        return f"blocks.{self.layer if target is None else target}.{self.hook_out_name}"

    @property
    def targets(self) -> range:
        """The blocks whose MLP output its features write to."""
        return range(self.layer, self.layer + int(self.w_dec.shape[1]))

    def pre(self, x: Tensor) -> Tensor:
        """Pre-activations ``[..., d_tc]`` of inputs ``[..., d_in]``."""
        return x.to(self.w_enc) @ self.w_enc + self.b_enc

    def encode(self, x: Tensor) -> Tensor:
        """Feature activations ``[..., d_tc]``."""
        pre = self.pre(x)
        if self.activation == "jumprelu":
            assert self.threshold is not None, "a JumpReLU transcoder is read with its threshold"
            return pre * (pre > self.threshold)
        if self.activation == "topk":
            assert self.k is not None, "a TopK transcoder is read with its k"
            top = pre.topk(self.k, dim=-1)
            return torch.zeros_like(pre).scatter(-1, top.indices, torch.relu(top.values))
        return torch.relu(pre)

    def feature(self, x: Tensor, index: int) -> Tensor:
        """Feature ``index`` alone ``[...]`` (one encoder column, except under TopK)."""
        if self.activation == "topk":
            return self.encode(x)[..., index]
        pre = x.to(self.w_enc) @ self.w_enc[:, index] + self.b_enc[index]
        if self.activation == "jumprelu":
            assert self.threshold is not None, "a JumpReLU transcoder is read with its threshold"
            return pre * (pre > self.threshold[index])
        return torch.relu(pre)

    def decode(self, f: Tensor, target: int | None = None) -> Tensor:
        """What features ``f`` write to the MLP output of block ``target`` (no bias, no skip)."""
        j = 0 if target is None else target - self.layer
        if not 0 <= j < self.w_dec.shape[1]:
            raise InvalidArgument(f"the transcoder of block {self.layer} writes to blocks "
                                  f"{self.targets.start}..{self.targets.stop - 1}, not "
                                  f"{target}", value=target)
        return f @ self.w_dec[:, j]

    def own_output(self, x: Tensor, f: Tensor) -> Tensor:
        """Its own block's decoded output with the bias and skip term (no other layer's
        features: for a cross-layer transcoder, add the earlier blocks' ``decode``)."""
        out = self.decode(f) + self.b_dec
        if self.w_skip is not None:
            out = out + x.to(self.w_skip) @ self.w_skip.T
        return out

    def to(self, device: Any) -> Transcoder:
        """The same transcoder with its tensors on ``device`` (itself where they are)."""
        device = torch.device(device)
        moved: dict[str, Any] = {f.name: v.to(device) for f in fields(self)
                                 if isinstance(v := getattr(self, f.name), Tensor)
                                 and v.device != device}
        return replace(self, **moved) if moved else self


@dataclass(frozen=True)
class TranscoderSet:
    """Transcoders of several blocks (a per-layer set, or a cross-layer transcoder)."""

    layers: tuple[Transcoder, ...]
    source: str

    def at(self, layer: int) -> Transcoder:
        for tc in self.layers:
            if tc.layer == layer:
                return tc
        raise InvalidArgument(f"the transcoders from {self.source} read blocks "
                              f"{[t.layer for t in self.layers]}, not {layer}", value=layer)


def split_hook(hook: str, what: str, source: str) -> tuple[int, str]:
    """``blocks.L.rest`` as ``(L, rest)``; ``ln2.hook_normalized`` is read as ``mlp.hook_in``."""
    parts = hook.split(".", 2)
    if len(parts) < 3 or parts[0] != "blocks" or not parts[1].isdigit():
        raise CheckpointError(f"{source}: {what} {hook!r} is not a block hook such as "
                              f"'blocks.0.mlp.hook_in'", value=hook)
    rest = parts[2]
    if rest == "ln2.hook_normalized":
        rest = IN_HOOK  # the MLP's input: the output of the block's second norm
    if rest == "hook_mlp_in":
        raise CheckpointError(f"{source}: {what} {hook!r}: TransformerLens 4 accepts this name "
                              f"but never calls it (TL #1688); if the transcoder reads the MLP's "
                              f"normalised input, say hook_in='blocks.{parts[1]}.mlp.hook_in'",
                              value=hook)
    return int(parts[1]), rest


def transcoder(tensors: dict[str, Tensor], *, hook_in: str, hook_out: str | None,
               activation: str, k: Any, source: str, kind: str = "per-layer",
               threshold_key: str = "threshold") -> Transcoder:
    """Build a :class:`Transcoder` from SAELens-named tensors (``W_enc [d_in, d_tc]``,
    ``W_dec [d_tc, d_out]`` or ``[d_tc, n_targets, d_out]``, ``W_skip [d_out, d_in]``)."""
    if activation not in ACTIVATIONS:
        raise CheckpointError(f"{source}: activation {activation!r} is not supported; neurospec "
                              f"reads {', '.join(ACTIVATIONS)}", value=activation)
    needs = ["W_enc", "b_enc", "W_dec", "b_dec"] + (
        [threshold_key] if activation == "jumprelu" else [])
    missing = [n for n in needs if n not in tensors]
    if missing:
        raise CheckpointError(f"{source} lacks {missing}; a {activation} transcoder needs "
                              f"tensors {needs}", value=source)
    t = {n: v.float() for n, v in tensors.items()}
    layer, rest_in = split_hook(hook_in, "hook_in", source)
    out_layer, rest_out = split_hook(hook_out or f"blocks.{layer}.{OUT_HOOK}", "hook_out",
                                     source)
    if out_layer != layer:
        raise CheckpointError(f"{source}: it reads block {layer} ({hook_in}) but writes block "
                              f"{out_layer} ({hook_out}); a transcoder predicts its own block's "
                              f"MLP output", value=hook_out)
    w_dec = t["W_dec"] if t["W_dec"].dim() == 3 else t["W_dec"][:, None]
    w_enc = t["W_enc"]
    d_tc = w_enc.shape[1] if w_enc.dim() == 2 else -1
    if activation == "topk" and not (type(k) is int and 0 < k <= d_tc):
        raise CheckpointError(f"{source}: a TopK transcoder needs a whole number k in 1..{d_tc} "
                              f"(its features), got {k!r}", value=k)
    tc = Transcoder(w_enc, t["b_enc"], w_dec, t["b_dec"], layer, source, activation,
                    threshold=t.get(threshold_key), k=k if activation == "topk" else None,
                    w_skip=t.get("W_skip"), hook_in_name=rest_in, hook_out_name=rest_out,
                    kind=kind)
    check_shapes(tc)
    return tc


def check_shapes(tc: Transcoder) -> None:
    d_in, d_tc = tc.w_enc.shape if tc.w_enc.dim() == 2 else (-1, -1)
    bad = [f"{n} {tuple(v.shape)}" for n, v, want in (
        ("b_enc", tc.b_enc, (d_tc,)), ("W_dec", tc.w_dec, (d_tc, tc.w_dec.shape[1], tc.d_out)),
        ("b_dec", tc.b_dec, (tc.d_out,)), ("threshold", tc.threshold, (d_tc,)),
        ("W_skip", tc.w_skip, (tc.d_out, d_in))) if v is not None and tuple(v.shape) != want
        and not (n == "threshold" and v.numel() == 1)]
    if tc.w_enc.dim() != 2 or bad:
        raise CheckpointError(f"{tc.source}: inconsistent transcoder shapes: W_enc "
                              f"{tuple(tc.w_enc.shape)} (expected [d_in, d_tc]), "
                              f"{', '.join(bad)}", value=tc.source)


def _flag_false(cfg: dict[str, Any], key: str, path: Path) -> None:
    value = cfg.get(key, False)
    if value not in (False, "false", "False"):
        raise CheckpointError(f"{path}: cfg.json has {key}={value!r}; a transcoder's decoder "
                              f"bias lives in the output space, so it cannot be subtracted from "
                              f"the input (SAELens refuses it too): set it to false", value=value)


def read_saelens(path: Path, hook_in: str | None = None, hook_out: str | None = None
                 ) -> Transcoder:
    """A SAELens 6 transcoder folder (``cfg.json`` + ``sae_weights.safetensors``)."""
    from safetensors.torch import load_file

    from neurospec.models.checkpoint import check_safetensors, read_settings

    cfg = read_settings(path / "cfg.json", "restore the transcoder's cfg.json (SAELens writes "
                                           "it with the weights)")
    meta: dict[str, Any] = cfg["metadata"] if isinstance(cfg.get("metadata"), dict) else {}
    arch = str(cfg.get("architecture", ""))
    if arch not in SAELENS_ARCHITECTURES:
        raise CheckpointError(f"{path}: architecture {arch!r} is not a transcoder neurospec "
                              f"reads ({', '.join(SAELENS_ARCHITECTURES)}); an SAE folder is "
                              f"loaded with load_sae", value=arch)
    _flag_false(cfg, "apply_b_dec_to_input", path)
    norm = str(cfg.get("normalize_activations") or "none")
    if norm != "none":
        raise CheckpointError(f"{path}: normalize_activations={norm!r}: SAELens applies it to "
                              f"the input only, with a factor the files do not hold; fold it into "
                              f"W_enc / W_dec and save with 'none'", value=norm)
    if str(cfg.get("reshape_activations") or "none") != "none":
        raise CheckpointError(f"{path}: reshape_activations={cfg['reshape_activations']!r}: "
                              f"a transcoder reads the MLP's input as one vector per token; "
                              f"save it with 'none'", value=cfg["reshape_activations"])
    hook_in = hook_in or cfg.get("hook_name") or meta.get("hook_name")
    hook_out = hook_out or cfg.get("hook_name_out") or meta.get("hook_name_out")
    if not isinstance(hook_in, str):
        raise CheckpointError(f"{path}/cfg.json: hook_name={hook_in!r} (top level or metadata) "
                              f"is not a hook name such as 'blocks.0.mlp.hook_in'; fix cfg.json "
                              f"or pass hook_in=", value=hook_in)
    weights = path / "sae_weights.safetensors"
    check_safetensors(weights)
    tensors = load_file(weights)
    if arch.startswith("skip") or "_skip_" in arch:
        if "W_skip" not in tensors:
            raise CheckpointError(f"{path}: a {arch} needs its W_skip tensor", value=path)
    elif "W_skip" in tensors:
        raise CheckpointError(f"{path}: W_skip is saved but architecture {arch!r} has no skip "
                              f"connection; say skip_transcoder (or drop the tensor)", value=arch)
    tc = transcoder(tensors, hook_in=hook_in, hook_out=hook_out if isinstance(hook_out, str)
                    else None, activation=SAELENS_ARCHITECTURES[arch], k=None, source=str(path))
    for key, have in (("d_in", tc.d_in), ("d_sae", tc.d_tc), ("d_out", tc.d_out)):
        if key in cfg and cfg[key] != have:
            raise CheckpointError(f"{path}: cfg.json says {key}={cfg[key]} but the weights have "
                                  f"{have}", value=path)
    return tc


def read_plain(path: Path, hook_in: str | None, hook_out: str | None,
               activation: str | None, k: int | None) -> Transcoder:
    """A plain ``.safetensors`` file (SAELens tensor names), with its hooks and activation
    from the arguments or a ``cfg.json`` beside it."""
    from safetensors.torch import load_file

    from neurospec.models.checkpoint import check_safetensors, read_settings

    side = path.with_name("cfg.json")
    cfg = read_settings(side, "fix or remove the cfg.json beside the transcoder file") \
        if side.is_file() else {}
    hook_in = hook_in or cfg.get("hook_name")
    if not hook_in:
        raise InvalidArgument(f"{path}: say which hook the transcoder reads, e.g. "
                              f"hook_in='blocks.0.mlp.hook_in'", value=str(path))
    check_safetensors(path)
    return transcoder(load_file(path), hook_in=hook_in, hook_out=hook_out or
                      cfg.get("hook_name_out"), activation=activation or
                      cfg.get("activation", "relu"), k=k if k is not None else cfg.get("k"),
                      source=str(path))
