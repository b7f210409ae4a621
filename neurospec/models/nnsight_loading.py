"""Loading a model for the nnsight backend: the same folders, hub names and safety checks as
the bridge (:mod:`neurospec.models.loading`), and for NDIF a hub model that stays remote."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import torch

from neurospec.errors import CheckpointError, InvalidArgument, ModelUnavailable
from neurospec.models.fingerprint import (
    Fingerprint,
    check_tokenizer_fits,
    config_digest,
    fingerprint,
    tokenizer_digest,
)
from neurospec.models.hf_loading import DTYPES, load_hf, pick_device
from neurospec.models.nnsight_backend import NNsightModel, Remote
from neurospec.models.registry import resolve

INSTALL_HINT = "pip install 'neurospec[nnsight]' (nnsight 0.8)"


def nnsight_version() -> str:
    """nnsight's version, or an error saying how to install it."""
    try:
        import nnsight
    except ImportError:
        raise InvalidArgument(f"the nnsight backend needs nnsight, which is not installed: "
                              f"{INSTALL_HINT}", value="nnsight") from None
    from neurospec.models.ndif import quiet_nnsight

    quiet_nnsight()
    return str(nnsight.__version__)


def load_nnsight(name: Any, *, checkpoint: str | None = None, device: str = "auto",
                 dtype: str = "float32", prepend_bos: bool = True,
                 compatibility_mode: bool = False, trust_pickle: bool = False,
                 model_dirs: tuple[Path, ...] = (), tokenizer: Any = None,
                 trust_remote_code: bool = False, max_context: int | None = None,
                 remote: bool | str = False) -> NNsightModel:
    """:func:`~neurospec.models.loading.load_model` with ``backend="nnsight"``."""
    nnsight_version()
    if compatibility_mode:
        raise InvalidArgument("compatibility_mode is TransformerLens's weight processing; the "
                              "nnsight backend runs the Hugging Face model as it is. Drop "
                              "compatibility_mode, or use the default backend",
                              value="compatibility_mode")
    if max_context is not None and (type(max_context) is not int or max_context < 2):
        raise InvalidArgument(f"max_context={max_context!r}: give a number of tokens >= 2",
                              value=max_context)
    if dtype not in DTYPES:
        raise InvalidArgument(f"dtype {dtype!r} is not supported; use one of {sorted(DTYPES)}",
                              value=dtype)
    if not isinstance(name, (str, os.PathLike)):
        return _wrap(name, tokenizer, prepend_bos, max_context, remote)
    source = resolve(str(name), checkpoint, model_dirs)
    if remote is True:
        if source.hub_id is None:
            raise InvalidArgument(
                f"{name!r} is a local folder; NDIF runs the models it hosts, named by hub id "
                f"(e.g. 'meta-llama/Llama-3.1-8B'). Use remote='local' to run this folder "
                f"through nnsight's simulation of a remote run", value=name)
        return _remote(source.name, source.hub_id, source.revision, dtype, prepend_bos,
                       max_context, trust_remote_code)
    device = pick_device(device)
    hf, tok, where, prints, tensors = load_hf(source, str(name), trust_pickle=trust_pickle,
                                              dtype=dtype, trust_remote_code=trust_remote_code)
    hf = hf.to(device)
    return _finish(hf, tok, name=source.name, source=where, prints=prints, tensors=tensors,
                   prepend_bos=prepend_bos, dtype=dtype, device=device,
                   checkpoint=source.revision, remote=remote, max_context=max_context)


def _finish(hf: Any, tok: Any, *, name: str, source: str, prints: Fingerprint,
            tensors: dict[str, torch.Tensor], prepend_bos: bool, dtype: str, device: str,
            checkpoint: str | None, remote: bool | str, max_context: int | None,
            revision: str | None = None, host: str | None = None) -> NNsightModel:
    from nnsight import TransformersModel

    hf.eval()
    for p in hf.parameters():
        p.requires_grad_(False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nn = TransformersModel(hf, tokenizer=tok)
    model = NNsightModel(nn, name=name, source=source, fingerprint=prints.combined,
                         fingerprint_parts=prints.parts(), weight_tensors=tensors,
                         prepend_bos=prepend_bos, dtype=dtype, device=device,
                         checkpoint=checkpoint, revision=revision,
                         remote=Remote(mode=remote, host=host))
    if max_context is not None and max_context < model.n_ctx:
        model.n_ctx = max_context
    return model


def _wrap(obj: Any, tokenizer: Any, prepend_bos: bool, max_context: int | None,
          remote: bool | str) -> NNsightModel:
    """A Hugging Face ``PreTrainedModel`` the caller holds, through nnsight."""
    from transformers import PreTrainedModel

    if not isinstance(obj, PreTrainedModel):
        raise InvalidArgument(f"the nnsight backend wraps a Hugging Face PreTrainedModel (or "
                              f"loads a name or folder), not a {type(obj).__name__}",
                              value=type(obj).__name__)
    if remote is True:
        raise InvalidArgument("a model object is local; NDIF runs the models it hosts (load "
                              "one by hub id with remote=True)", value="remote")
    tok = tokenizer if tokenizer is not None else getattr(obj, "tokenizer", None)
    if tok is None:
        raise InvalidArgument(f"a Hugging Face {type(obj).__name__} needs its tokenizer: "
                              f"load_model(model, backend='nnsight', tokenizer=...)",
                              value=type(obj).__name__)
    name = str(getattr(obj.config, "name_or_path", "") or type(obj).__name__)
    check_tokenizer_fits(tok, obj, name, "the model's folder")
    param = next(obj.parameters())
    dtype = next((k for k, v in DTYPES.items() if v == param.dtype), str(param.dtype))
    return _finish(obj, tok, name=name, source=f"{type(obj).__name__} object",
                   prints=fingerprint(obj, tok), tensors=obj.state_dict(keep_vars=True),
                   prepend_bos=prepend_bos, dtype=dtype, device=str(param.device),
                   checkpoint=None, remote=remote, max_context=max_context)


def _remote(name: str, hub_id: str, revision: str | None, dtype: str, prepend_bos: bool,
            max_context: int | None, trust_remote_code: bool) -> NNsightModel:
    """A hub model that stays on NDIF: its config and tokenizer come from the hub (or the
    local hub cache), its weights are never downloaded; the fingerprint's weights part is the
    hub commit the revision resolves to."""
    from neurospec.models import ndif

    ndif.check_reachable(hub_id, revision, name)
    try:
        from huggingface_hub import HfApi
        from nnsight import TransformersModel

        info = HfApi().model_info(hub_id, revision=revision, timeout=10)
        commit = str(info.sha)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nn = TransformersModel(hub_id, revision=commit, task="text-generation",
                                   trust_remote_code=trust_remote_code)
    except Exception as exc:  # noqa: BLE001 - hub and network errors come in many kinds
        raise ModelUnavailable(
            f"{name} runs on NDIF, but its config and tokenizer come from the Hugging Face "
            f"hub, which did not answer ({type(exc).__name__}: {ndif.scrub(str(exc))[:160]}); "
            f"for gated models (Llama) set HF_TOKEN", value=name) from None
    hf = nn._module
    tok = nn.tokenizer
    if tok is None:
        raise CheckpointError(f"{hub_id} has no tokenizer on the hub", value=name)
    prints = Fingerprint(f"hub:{commit[:12]}", config_digest(hf.config), tokenizer_digest(tok))
    model = NNsightModel(nn, name=name, source=hub_id, fingerprint=prints.combined,
                         fingerprint_parts=prints.parts(), weight_tensors={},
                         prepend_bos=prepend_bos, dtype=dtype, device="remote",
                         checkpoint=revision, revision=commit,
                         remote=Remote(mode=True, host=ndif.host(),
                                       deadline_s=ndif.deadline_s()))
    if max_context is not None and max_context < model.n_ctx:
        model.n_ctx = max_context
    return model
