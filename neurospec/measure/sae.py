"""Sparse autoencoders on MLP activations: loading (SAELens's saved layout, read directly;
or a plain safetensors file), checking them against a model, and feature activations.

SAELens itself pins transformer-lens < 4, so neurospec never imports it.  Layouts:

- a folder with ``cfg.json`` (``d_in``, ``d_sae``, ``hook_name``) and
  ``sae_weights.safetensors`` (``W_enc [d_in, d_sae]``, ``b_enc``, ``W_dec [d_sae, d_in]``,
  ``b_dec``): SAELens's ``save_model`` output;
- a single ``.safetensors`` file with those four tensors, plus ``hook=`` given by the caller.

Feature ``i`` at a position: ``relu((x - b_dec) @ W_enc[:, i] + b_enc[i])``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from neurospec.bundled import bundled
from neurospec.data.corpus import Corpus
from neurospec.data.tokens import tokenize
from neurospec.errors import CheckpointError, InvalidArgument, UnitOutOfRange
from neurospec.measure.activations import (
    NeuronActivations, counted_tokens, hook_pass, split_docs)
from neurospec.units import Feature


@dataclass(frozen=True)
class SAE:
    w_enc: Tensor
    b_enc: Tensor
    w_dec: Tensor
    b_dec: Tensor
    hook: str
    source: str

    @property
    def d_in(self) -> int:
        return self.w_enc.shape[0]

    @property
    def d_sae(self) -> int:
        return self.w_enc.shape[1]

    @property
    def layer(self) -> int:
        parts = self.hook.split(".")
        if len(parts) < 3 or parts[0] != "blocks" or not parts[1].isdigit():
            raise InvalidArgument(f"the SAE from {self.source} reads {self.hook!r}, which is not "
                                  f"inside a block; neurospec reads SAEs at block hooks such as "
                                  f"'blocks.0.mlp.hook_post'", value=self.hook)
        return int(parts[1])

    def encode(self, x: Tensor) -> Tensor:
        return torch.relu((x - self.b_dec) @ self.w_enc + self.b_enc)

    def decode(self, f: Tensor) -> Tensor:
        return f @ self.w_dec + self.b_dec


def load_sae(path: str | Path, hook: str | None = None) -> SAE:
    """Load an SAE from a SAELens-style folder or a plain safetensors file (never a pickle);
    a relative path that does not exist is looked up among the bundled SAEs."""
    from safetensors.torch import load_file

    from neurospec.models.checkpoint import check_safetensors, read_settings

    path = Path(path)
    if not path.exists() and (bundled("saes") / path).exists():
        path = bundled("saes") / path  # a bundled SAE by name, e.g. "tiny-bilingual/L0"
    if path.is_dir():
        cfg_path, weights = path / "cfg.json", path / "sae_weights.safetensors"
        if not cfg_path.is_file() or not weights.is_file():
            raise CheckpointError(f"{path} is not an SAE folder: it needs cfg.json and "
                                  f"sae_weights.safetensors (SAELens's saved layout)", value=path)
        cfg = read_settings(cfg_path, "restore the SAE's cfg.json (SAELens writes it with "
                                      "the weights), or load the .safetensors file with hook=")
        hook = hook or cfg.get("hook_name")
        if not isinstance(hook, str):
            raise CheckpointError(f"{cfg_path}: hook_name={hook!r} is not a hook name such as "
                                  f"'blocks.0.mlp.hook_post'; fix cfg.json or pass hook=",
                                  value=cfg_path)
    elif path.suffix == ".safetensors" and path.is_file():
        weights, cfg = path, {}
    else:
        raise CheckpointError(f"no SAE at {path}: pass a folder (cfg.json + "
                              f"sae_weights.safetensors) or a .safetensors file", value=path)
    if not hook:
        raise InvalidArgument(f"{path}: say which hook the SAE reads, e.g. "
                              f"hook='blocks.0.mlp.hook_post'", value=path)
    check_safetensors(weights)
    t = load_file(weights)
    missing = [k for k in ("W_enc", "b_enc", "W_dec", "b_dec") if k not in t]
    if missing:
        raise CheckpointError(f"{weights} lacks {missing}; an SAE needs W_enc, b_enc, W_dec, "
                              f"b_dec", value=path)
    sae = SAE(t["W_enc"].float(), t["b_enc"].float(), t["W_dec"].float(), t["b_dec"].float(),
              hook, str(path))
    if sae.w_dec.shape != (sae.d_sae, sae.d_in) or sae.b_enc.shape != (sae.d_sae,) \
            or sae.b_dec.shape != (sae.d_in,):
        raise CheckpointError(f"{path}: inconsistent SAE shapes W_enc {tuple(sae.w_enc.shape)}, "
                              f"W_dec {tuple(sae.w_dec.shape)}, b_enc {tuple(sae.b_enc.shape)}, "
                              f"b_dec {tuple(sae.b_dec.shape)}", value=path)
    for key in ("d_in", "d_sae"):
        if key in cfg and cfg[key] != getattr(sae, key):
            raise CheckpointError(f"{path}: cfg.json says {key}={cfg[key]} but the weights have "
                                  f"{getattr(sae, key)}", value=path)
    return sae


def check_sae(model, sae: SAE, feature: Feature | None = None) -> None:
    """The SAE's hook must exist in the model with width ``d_in``; the feature in range."""
    model.check_hook_name(sae.hook)
    width = model.d_mlp if sae.hook.endswith("mlp.hook_post") else model.d_model
    if sae.d_in != width:
        raise CheckpointError(f"the SAE from {sae.source} reads {sae.d_in}-dim vectors but "
                              f"{model.name}'s {sae.hook} has {width}; it belongs to another "
                              f"model or hook", value=sae.source)
    if feature is not None:
        if feature.layer != sae.layer:
            raise InvalidArgument(f"{feature} is a layer-{feature.layer} feature but the SAE "
                                  f"reads {sae.hook}", value=feature)
        if not 0 <= feature.index < sae.d_sae:
            raise UnitOutOfRange(f"{feature}: the SAE has features 0..{sae.d_sae - 1}",
                                 value=feature)


def feature_activations(model, sae: SAE, corpus: Corpus, feature: Feature) -> NeuronActivations:
    """Feature activations at every counted position of every document."""
    check_sae(model, sae, feature)
    tc = tokenize(model, corpus)
    flat, sizes = hook_pass(model, tc, sae.hook)
    w, b = sae.w_enc[:, feature.index], sae.b_enc[feature.index]
    values = torch.relu((flat - sae.b_dec) @ w + b).double().numpy()
    return NeuronActivations(feature, corpus, split_docs(values, sizes),
                             counted_tokens(model, tc), tc.truncated)


def reconstruction_error(model, sae: SAE, corpus: Corpus) -> float:
    """Fraction of variance of the hook's activations the SAE does not explain."""
    tc = tokenize(model, corpus)
    x, _ = hook_pass(model, tc, sae.hook)  # the pass feature claims on this corpus share
    r = sae.decode(sae.encode(x))
    return float(((r - x) ** 2).sum() / ((x - x.mean(0)) ** 2).sum())


def feature_attribution(model, early: SAE, late: SAE, corpus: Corpus, target: Feature
                        ) -> np.ndarray:
    """Per document, how much each early-layer feature drives a later-layer feature:
    ``sum_p f0[p, i] * d(sum_q f1[q, target]) / d f0[p, i]`` (gradient x activation).

    The early SAE is spliced in exactly: the hook's value becomes ``decode(f0) + error`` with
    the error held fixed, so the forward pass is unchanged and gradients flow through the
    early features' decoder directions.  Returns ``[n_docs, early.d_sae]``.
    """
    check_sae(model, early)
    check_sae(model, late, target)
    if early.layer >= late.layer:
        raise InvalidArgument(f"the early SAE ({early.hook}) must read a layer before the late "
                              f"one ({late.hook})", value=early.hook)
    tc = tokenize(model, corpus)
    out = np.zeros((len(tc.docs), early.d_sae))
    for docs, ids, lengths in tc.batches(model.batch_tokens):
        store = {}

        def splice(x, hook=None):
            f0 = early.encode(x.detach()).requires_grad_(True)
            err = (x - early.decode(f0)).detach()
            store["f0"] = f0
            return early.decode(f0) + err

        def read(x, hook=None):
            store["f1"] = torch.relu((x - late.b_dec) @ late.w_enc[:, target.index]
                                     + late.b_enc[target.index])

        try:
            with torch.enable_grad():
                model.bridge.add_hook(early.hook, splice)
                model.bridge.add_hook(late.hook, read)
                model.bridge(ids.to(model.device))
                mask = torch.arange(ids.shape[1])[None] < lengths[:, None]
                mask[:, :tc.first] = False
                (store["f1"] * mask).sum().backward()
        finally:
            model.bridge.reset_hooks()
        f0 = store["f0"]
        attr = (f0 * f0.grad).detach()
        for row, (k, length) in enumerate(zip(docs, lengths.tolist())):
            out[k] = attr[row, tc.first:length].sum(0).double().numpy()
    return out
