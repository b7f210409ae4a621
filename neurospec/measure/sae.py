"""Sparse autoencoder features on a model's activations: checking an SAE against a model,
feature activations, reconstruction error, and feature-to-feature attribution.  The SAE
formats (SAELens's architectures, plain safetensors, any object with ``encode`` / ``decode``)
are in :mod:`neurospec.measure.sae_formats`.
"""

from __future__ import annotations

import numpy as np
import torch

from neurospec.data.corpus import Corpus
from neurospec.data.tokens import tokenize
from neurospec.errors import CheckpointError, InvalidArgument, UnitOutOfRange
from neurospec.measure.activations import UnitActivations, counted_tokens, hook_pass, split_docs
from neurospec.measure.sae_formats import SAE, as_sae, load_sae
from neurospec.units import Feature

__all__ = ["SAE", "check_sae", "feature_activations", "feature_attribution", "load_sae",
           "reconstruction_error"]

# Inputs encoded at once: [tokens, d_sae] feature activations stay bounded for wide SAEs.
_ENCODE_CHUNK = 4096


def check_sae(model, sae, feature: Feature | None = None):
    """The SAE's hook must exist in the model with width ``d_in``; the feature in range.
    Returns the SAE as neurospec reads it (an object with encode/decode is wrapped)."""
    sae = as_sae(sae)
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
    return sae


def feature_activations(model, sae, corpus: Corpus, feature: Feature) -> UnitActivations:
    """Feature activations at every counted position of every document."""
    sae = check_sae(model, sae, feature)
    tc = tokenize(model, corpus)
    flat, sizes = hook_pass(model, tc, sae.hook)
    with torch.no_grad():
        if isinstance(sae, SAE) and sae.architecture != "topk":
            values = sae.feature(flat, feature.index)  # one encoder column
        else:  # every feature's pre-activation is needed to pick the top k
            values = torch.cat([sae.feature(c, feature.index)
                                for c in torch.split(flat, _ENCODE_CHUNK)])
    return UnitActivations(feature, corpus, split_docs(values.double().cpu().numpy(), sizes),
                             counted_tokens(model, tc), tc.truncated)


def reconstruction_error(model, sae, corpus: Corpus) -> float:
    """Fraction of variance of the hook's activations the SAE does not explain."""
    sae = check_sae(model, sae)
    tc = tokenize(model, corpus)
    x, _ = hook_pass(model, tc, sae.hook)  # the pass feature claims on this corpus share
    with torch.no_grad():
        sq = sum(float(((sae.decode(sae.encode(c), c) - c) ** 2).sum())
                 for c in torch.split(x, _ENCODE_CHUNK))
    return sq / float(((x - x.mean(0)) ** 2).sum())


def feature_attribution(model, early: SAE, late: SAE, corpus: Corpus, target: Feature
                        ) -> np.ndarray:
    """Per document, how much each early-layer feature drives a later-layer feature:
    ``sum_p f0[p, i] * d(sum_q f1[q, target]) / d f0[p, i]`` (gradient x activation).

    The early SAE is spliced in exactly: the hook's value becomes ``decode(f0) + error`` with
    the error held fixed, so the forward pass is unchanged and gradients flow through the
    early features' decoder directions.  Returns ``[n_docs, early.d_sae]``.
    """
    early = check_sae(model, early)
    late = check_sae(model, late, target)
    if early.layer >= late.layer:
        raise InvalidArgument(f"the early SAE ({early.hook}) must read a layer before the late "
                              f"one ({late.hook})", value=early.hook)
    tc = tokenize(model, corpus)
    out = np.zeros((len(tc.docs), early.d_sae))
    moved: dict = {}

    def at(sae, x):  # the SAE with its weights where the activations are (loaded on the CPU)
        if not isinstance(sae, SAE):
            return sae  # an object of the caller's: ExternalSAE moves the inputs to it
        key = (id(sae), x.device)
        if key not in moved:
            moved[key] = sae.to(x.device)
        return moved[key]

    for docs, ids, lengths in tc.batches(model.batch_tokens):
        store = {}

        def splice(x, hook=None):
            x = x.detach()
            sae = at(early, x)
            f0 = sae.encode(x).detach().requires_grad_(True)
            err = (x - sae.decode(f0, x)).detach()
            store["f0"] = f0
            return sae.decode(f0, x) + err

        def read(x, hook=None):
            store["f1"] = at(late, x).feature(x, target.index)

        model.run(ids, [(early.hook, splice), (late.hook, read)], grad=True)
        mask = torch.arange(ids.shape[1])[None] < lengths[:, None]
        mask[:, :tc.first] = False
        with torch.enable_grad():
            (store["f1"] * mask.to(store["f1"].device)).sum().backward()
        f0 = store["f0"]
        attr = (f0 * f0.grad).detach().cpu()
        for row, (k, length) in enumerate(zip(docs, lengths.tolist())):
            out[k] = attr[row, tc.first:length].sum(0).double().numpy()
    return out
