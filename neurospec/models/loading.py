"""Loading models: bundled names, checkpoint folders, hub names, and model objects a caller
already holds (a Hugging Face ``PreTrainedModel``, a ``TransformerBridge``), each booted into
a TransformerLens bridge and wrapped as a :class:`~neurospec.models.bridge.Model`."""

from __future__ import annotations

import os
import warnings
import weakref
from pathlib import Path
from typing import Any

import torch

from neurospec.errors import (
    CheckpointError,
    InvalidArgument,
    ModelUnavailable,
    UnsupportedArchitecture,
    UntrustedCheckpoint,
    UntrustedCode,
)
from neurospec.models.bridge import Model
from neurospec.models.checkpoint import (
    REMOTE_CODE_HINT,
    TRUST_HINT,
    check_config_values,
    inspect_folder,
    needs_remote_code,
    read_config,
)
from neurospec.models.fingerprint import check_tokenizer_fits, fingerprint
from neurospec.models.registry import ModelSource, resolve

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
          "float64": torch.float64}


def pick_device(device: str) -> str:
    """Resolve ``auto`` / ``cpu`` / ``cuda[:N]``, failing clearly when CUDA is missing."""
    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidArgument(f"--device {device} was asked for but this machine has no CUDA "
                              f"device (torch {torch.__version__}); use --device cpu or auto",
                              value=device)
    if device != "cpu" and not device.startswith("cuda"):
        raise InvalidArgument(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N",
                              value=device)
    return device


ACCEPTED = ("a model name or checkpoint folder (str or Path), a neurospec Model, a "
            "TransformerLens TransformerBridge, or a Hugging Face PreTrainedModel (with its "
            "tokenizer as tokenizer= or as its .tokenizer attribute)")


def load_model(name: Any, *, checkpoint: str | None = None, device: str = "auto",
               dtype: str = "float32", prepend_bos: bool = True, compatibility_mode: bool = False,
               trust_pickle: bool = False, model_dirs: tuple[Path, ...] = (),
               tokenizer: Any = None, trust_remote_code: bool = False,
               max_context: int | None = None) -> Model:
    """Load a model by bundled name, local folder, or hub name, or wrap one you already hold.

    Args:
        name: ``tiny-bilingual`` (bundled), a checkpoint folder, or a hub name such as
            ``pythia-70m``; ``name@step1000`` selects a checkpoint / revision. Or a model
            object: a neurospec ``Model`` (returned as it is), a ``TransformerBridge``, or a
            Hugging Face ``PreTrainedModel`` (e.g. loaded with ``device_map="auto"``); these
            keep their own device and dtype, and their fingerprint is computed from the weights.
        tokenizer: the tokenizer of a Hugging Face model passed as ``name`` (default: its
            ``.tokenizer`` attribute).
        checkpoint: the same as the ``@`` suffix.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        dtype: ``float32``, ``bfloat16`` or ``float16`` (statistics are float64 regardless).
        prepend_bos: put a BOS token in front of every document.  The seed papers did;
            TransformerLens >= 3 defaults to False for Pythia, so neurospec sets it explicitly.
        compatibility_mode: TransformerLens's old processing (folded LN, centred weights).
        trust_pickle: allow loading pickle checkpoints (``.bin``/``.pt``); they can run code.
        trust_remote_code: allow a model whose config asks for its own Python code
            (``auto_map``); that code runs with your permissions.  Off by default: such a
            model is refused with the reason.
        max_context: cut documents to at most this many tokens (default: the model's
            context length); a long-context model's attention over a long document can
            need more memory than the machine has.

    Example:
        >>> model = load_model("tiny-bilingual")
    """
    if isinstance(name, Model):
        return name
    if max_context is not None and (type(max_context) is not int or max_context < 2):
        raise InvalidArgument(f"max_context={max_context!r}: give a number of tokens >= 2",
                              value=max_context)
    if not isinstance(name, (str, os.PathLike)):
        return wrap_model(name, tokenizer=tokenizer, prepend_bos=prepend_bos,
                          compatibility_mode=compatibility_mode, max_context=max_context)
    if dtype not in DTYPES:
        raise InvalidArgument(f"dtype {dtype!r} is not supported; use one of {sorted(DTYPES)}",
                              value=dtype)
    device = pick_device(device)
    source = resolve(str(name), checkpoint, model_dirs)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # one bar per load floods CI logs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if source.folder is not None:
            hf, tok, where = _load_folder(source, trust_pickle, DTYPES[dtype], trust_remote_code)
        else:
            hf, tok, where = _load_hub(source, DTYPES[dtype], trust_remote_code)
        check_tokenizer_fits(tok, hf, str(name), where)
        prints = fingerprint(hf, tok)
        tensors = hf.state_dict(keep_vars=True)
        from transformer_lens.model_bridge import TransformerBridge

        # boot_transformers leaves a model passed as hf_model= where it is (its device= only
        # moves a model it loads itself): place it on the device before booting
        hf = hf.to(device)
        bridge = TransformerBridge.boot_transformers(
            where, hf_model=hf, tokenizer=tok, device=device, dtype=DTYPES[dtype])
    return _finish(bridge, name=source.name, source=where, prints=prints, tensors=tensors,
                   prepend_bos=prepend_bos, dtype=dtype, device=device,
                   compatibility_mode=compatibility_mode, checkpoint=source.revision,
                   max_context=max_context)


def _finish(bridge: Any, *, compatibility_mode: bool, prints: Any, tensors: dict,
            max_context: int | None, **info: Any) -> Model:
    if compatibility_mode:
        bridge.enable_compatibility_mode()
    bridge.eval()
    for p in bridge.parameters():
        # Bridge parameters require grad by default; measurements ask for grads explicitly.
        p.requires_grad_(False)
    model = Model(bridge, compatibility_mode=compatibility_mode, fingerprint=prints.combined,
                  **info)
    model.fingerprint_parts = prints.parts()
    model.weight_tensors = tensors
    if max_context is not None and max_context < model.n_ctx:
        model.n_ctx = max_context
    return model


def wrap_model(obj: Any, *, tokenizer: Any = None, prepend_bos: bool = True,
               compatibility_mode: bool = False, max_context: int | None = None) -> Model:
    """A neurospec ``Model`` around a ``TransformerBridge`` or a Hugging Face
    ``PreTrainedModel`` the caller already holds (weights stay where they are: a model
    dispatched over devices with ``device_map`` keeps its placement).

    Raises:
        InvalidArgument: ``obj`` is none of the accepted kinds, or a Hugging Face model
            comes without a tokenizer.
    """
    from transformer_lens.model_bridge import TransformerBridge
    from transformers import PreTrainedModel

    try:
        held = _WRAPPED.get(obj)
    except TypeError:  # not weak-referenceable: certainly not a model
        held = None
    if held is not None:
        effective = tokenizer if tokenizer is not None else getattr(obj, "tokenizer", None)
        _same_settings(held, effective, prepend_bos, compatibility_mode, max_context)
        return held[0]
    if isinstance(obj, TransformerBridge):
        hf = obj.original_model
        bridge = obj
        tok = obj.tokenizer
    elif isinstance(obj, PreTrainedModel):
        hf = obj
        tok = tokenizer if tokenizer is not None else getattr(obj, "tokenizer", None)
        if tok is None:
            raise InvalidArgument(
                f"a Hugging Face {type(obj).__name__} needs its tokenizer: "
                f"load_model(model, tokenizer=AutoTokenizer.from_pretrained(...)), or set "
                f"model.tokenizer", value=type(obj).__name__)
        bridge = None
    else:
        raise InvalidArgument(f"cannot use a {type(obj).__module__}.{type(obj).__qualname__} as "
                              f"a model; neurospec accepts {ACCEPTED}", value=type(obj).__name__)
    offloaded = [n for n, p in hf.named_parameters() if p.is_meta]
    if offloaded:
        raise UnsupportedArchitecture(
            f"{len(offloaded)} weights of this {type(hf).__name__} are offloaded (on the meta "
            f"device, e.g. {offloaded[0]}): neurospec measures and fingerprints real weights. "
            f"Place every layer on a device (device_map='auto' with enough GPU memory, or load "
            f"on CPU)", value=type(hf).__name__)
    param = next(hf.parameters())
    dtype = next((k for k, v in DTYPES.items() if v == param.dtype), str(param.dtype))
    name = str(getattr(hf.config, "name_or_path", "") or type(hf).__name__)
    check_config_values(hf.config.to_dict(), f"{name} (its config)")
    check_tokenizer_fits(tok, hf, name, "the model's folder")
    prints = fingerprint(hf, tok)
    tensors = hf.state_dict(keep_vars=True)
    if bridge is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bridge = TransformerBridge.boot_transformers(name, hf_model=hf, tokenizer=tok,
                                                         dtype=param.dtype)
    model = _finish(bridge, name=name, source=f"{type(obj).__name__} object",
                    prints=prints, tensors=tensors, prepend_bos=prepend_bos, dtype=dtype,
                    device=str(param.device), compatibility_mode=compatibility_mode,
                    checkpoint=None, max_context=max_context)
    _WRAPPED[obj] = (model, tok)
    return model


# Booting a bridge rewires the Hugging Face model's modules in place, so each object is wrapped
# once (its fingerprint taken before that) and the same Model returned for it afterwards,
# with the tokenizer it was wrapped with.
_WRAPPED: weakref.WeakKeyDictionary[Any, tuple[Model, Any]] = weakref.WeakKeyDictionary()


def _same_settings(held: tuple[Model, Any], tokenizer: Any, prepend_bos: bool,
                   compatibility_mode: bool, max_context: int | None) -> None:
    """An object wrapped before must be asked for with the settings it was wrapped with:
    the wrapped model is shared, so other settings would silently not apply."""
    model, tok = held
    asked = {"prepend_bos": prepend_bos, "compatibility_mode": compatibility_mode}
    have = {"prepend_bos": model.prepend_bos, "compatibility_mode": model.compatibility_mode}
    differ = [k for k in asked if asked[k] != have[k]]
    if tokenizer is not None and tokenizer is not tok:
        differ.append("tokenizer (another object)")
    if max_context is not None and max_context != model.n_ctx:
        differ.append(f"max_context ({model.n_ctx} then, {max_context} now)")
    if differ:
        shown = ", ".join(f"{k}={have[k]!r} then, {asked[k]!r} now" if k in asked else k
                          for k in differ)
        raise InvalidArgument(
            f"this {model.source} was already wrapped as {model.name!r} with other settings "
            f"({shown}); wrapping rewires the model in place, so it is wrapped once. Pass the "
            f"Model returned the first time (or the same settings), or load a fresh copy of the "
            f"model for the other settings", value=differ)


def _load_folder(source: ModelSource, trust_pickle: bool, dtype: torch.dtype,
                 trust_remote_code: bool):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    files = inspect_folder(source.folder, trust_pickle=trust_pickle)
    wants = needs_remote_code(read_config(source.folder))
    if wants and not trust_remote_code:
        raise UntrustedCode(f"{source.folder}: its config.json asks transformers to import the "
                            f"model's own Python code ({wants}); {REMOTE_CODE_HINT}",
                            value=source.folder)
    try:
        tok = AutoTokenizer.from_pretrained(source.folder, local_files_only=True,
                                            trust_remote_code=trust_remote_code)
    except Exception as exc:  # noqa: BLE001 - tokenizers raise many kinds
        raise CheckpointError(f"{source.folder}: cannot load its tokenizer ({exc}); the folder "
                              f"needs tokenizer.json (tokenizer.save_pretrained(folder))",
                              value=source.folder) from exc
    try:
        hf, info = AutoModelForCausalLM.from_pretrained(
            source.folder, local_files_only=True, use_safetensors=not files.uses_pickle,
            attn_implementation="eager", dtype=dtype, output_loading_info=True,
            trust_remote_code=trust_remote_code)
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(f"{source.folder}: the weights do not load ({exc}); rebuild or "
                              f"re-download the checkpoint", value=source.folder) from exc
    if info.get("missing_keys") or info.get("mismatched_keys"):
        # transformers fills missing weights with random ones: a different model, silently.
        bad = sorted(map(str, set(info.get("missing_keys") or ()) | {
            str(k[0] if isinstance(k, tuple) else k) for k in info.get("mismatched_keys") or ()}))
        raise CheckpointError(f"{source.folder}: the weight files lack or misshape {bad[:5]} "
                              f"({len(bad)} in all), which loading would fill with random "
                              f"values; rebuild or re-download the checkpoint", value=source.folder)
    return hf, tok, str(source.folder)


def _ask_hub(source: ModelSource, how: str) -> None:
    """One metadata request (5 s timeout) before a download: without network it fails in about
    a second, where transformers' own download retries for about 30 s per model."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    try:
        HfApi().model_info(source.hub_id, revision=source.revision, timeout=5)
    except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
        from neurospec.errors import ModelNotFound

        raise ModelNotFound(f"the Hugging Face hub has no {source.hub_id}"
                            f"{'@' + source.revision if source.revision else ''}: check the name "
                            f"(or pass the path of a local checkpoint folder)",
                            value=source.name) from exc
    except Exception as exc:  # noqa: BLE001 - connection errors come in many kinds
        raise ModelUnavailable(f"weights for {source.name} are not reachable here (the hub did "
                               f"not answer: {type(exc).__name__}): {how}",
                               value=source.name) from exc


def _load_hub(source: ModelSource, dtype: torch.dtype, trust_remote_code: bool):
    # The hub library's own cache and offline logic: a model already in the local Hugging Face
    # cache loads from it without any network call; one that is not cached is fetched unless
    # HF_HUB_OFFLINE is set, in which case it is unavailable at once (no retries).
    from huggingface_hub import constants, try_to_load_from_cache
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cached = isinstance(try_to_load_from_cache(source.hub_id, "config.json",
                                               revision=source.revision), str)
    offline = bool(constants.HF_HUB_OFFLINE) or \
        os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
    rev = f" --revision {source.revision}" if source.revision else ""
    how = (f"{source.name} ({source.hub_id}{'@' + source.revision if rev else ''}) loads from "
           f"the Hugging Face hub or its local cache. To run it: on a machine with network, "
           f"`huggingface-cli download {source.hub_id}{rev}` "
           f"(or run once without HF_HUB_OFFLINE), or pass the path of a local checkpoint folder")
    if offline and not cached:
        raise ModelUnavailable(f"weights for {source.name} are not reachable here (not in the "
                               f"local Hugging Face cache, and HF_HUB_OFFLINE is set): {how}",
                               value=source.name)
    if not cached:
        _ask_hub(source, how)
    try:
        kwargs = dict(revision=source.revision, local_files_only=offline or cached,
                      trust_remote_code=trust_remote_code)
        tok = AutoTokenizer.from_pretrained(source.hub_id, **kwargs)
        hf = AutoModelForCausalLM.from_pretrained(
            source.hub_id, use_safetensors=True, attn_implementation="eager", dtype=dtype, **kwargs)
    except ValueError as exc:
        if "trust_remote_code" not in str(exc):
            raise
        raise UntrustedCode(f"{source.hub_id} needs its own Python code to load; "
                            f"{REMOTE_CODE_HINT}", value=source.name) from exc
    except OSError as exc:
        text = str(exc)
        if "safetensors" in text.lower() and "pytorch_model.bin" in text:
            raise UntrustedCheckpoint(f"{source.hub_id} is published only as pickle weights; "
                                      f"{TRUST_HINT}", value=source.name) from exc
        raise ModelUnavailable(f"weights for {source.name} are not reachable here: {how}. "
                               f"({type(exc).__name__}: {text.splitlines()[0][:200]})",
                               value=source.name) from exc
    return hf, tok, source.hub_id
