"""Loading models: bundled names, checkpoint folders, hub names, and model objects a caller
already holds (a Hugging Face ``PreTrainedModel``, a ``TransformerBridge``), each booted into
a TransformerLens bridge and wrapped as a :class:`~neurospec.models.bridge.Model`."""

from __future__ import annotations

import os
import warnings
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from torch import Tensor

from neurospec.errors import (
    InvalidArgument,
    UnsupportedArchitecture,
)
from neurospec.models.bridge import Model
from neurospec.models.checkpoint import (
    check_config_values,
)
from neurospec.models.fingerprint import check_tokenizer_fits, fingerprint
from neurospec.models.hf_loading import DTYPES, load_hf, pick_device
from neurospec.models.registry import resolve

if TYPE_CHECKING:
    from transformers import PreTrainedModel

ACCEPTED = ("a model name or checkpoint folder (str or Path), a neurospec Model, a "
            "TransformerLens TransformerBridge, or a Hugging Face PreTrainedModel (with its "
            "tokenizer as tokenizer= or as its .tokenizer attribute)")


def load_model(name: Any, *, checkpoint: str | None = None, device: str = "auto",
               dtype: str = "float32", prepend_bos: bool = True, compatibility_mode: bool = False,
               trust_pickle: bool = False, model_dirs: tuple[Path, ...] = (),
               tokenizer: Any = None, trust_remote_code: bool = False,
               max_context: int | None = None, backend: str | None = None,
               remote: bool | str = False) -> Any:
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
        backend: ``transformer_lens`` (the default: a TransformerLens ``TransformerBridge``)
            or ``nnsight`` (the Hugging Face model driven through nnsight; needs
            ``pip install 'neurospec[nnsight]'``).  The same claims mean the same on both.
        remote: with the nnsight backend, ``True`` runs the traces on NDIF (a hub model it
            hosts; key from ``NDIF_API_KEY``), ``"local"`` through nnsight's local
            simulation of a remote run (the bundled model, offline: what a remote run sends
            and receives, checked here).  ``remote`` implies ``backend="nnsight"``.

    Example:
        >>> model = load_model("tiny-bilingual")
    """
    if is_loaded_model(name):
        return name
    backend = check_backend(backend, remote)
    if backend != "transformer_lens":
        return BACKENDS[backend](
            name, checkpoint=checkpoint, device=device, dtype=dtype, prepend_bos=prepend_bos,
            compatibility_mode=compatibility_mode, trust_pickle=trust_pickle,
            model_dirs=model_dirs, tokenizer=tokenizer, trust_remote_code=trust_remote_code,
            max_context=max_context, remote=remote)
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
    hf, tok, where, prints, tensors = load_hf(source, str(name), trust_pickle=trust_pickle,
                                              dtype=dtype, trust_remote_code=trust_remote_code)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
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


def is_loaded_model(obj: Any) -> bool:
    """Whether ``obj`` is already a neurospec model of some backend."""
    return isinstance(obj, Model) or type(obj).__name__ == "NNsightModel" and hasattr(
        obj, "run_passes")


def check_backend(backend: Any, remote: Any) -> str:
    """The backend asked for (``None``: the default, or nnsight when ``remote`` is set)."""
    if remote not in (False, True, "local", None):
        raise InvalidArgument(f"remote={remote!r}: use True (run on NDIF), 'local' (nnsight's "
                              f"local simulation of a remote run) or False", value=remote)
    if backend is None:
        return "nnsight" if remote else "transformer_lens"
    if backend not in BACKENDS:
        raise InvalidArgument(f"backend={backend!r} is not one of neurospec's backends "
                              f"({', '.join(sorted(BACKENDS))})", value=backend)
    if remote and backend != "nnsight":
        raise InvalidArgument(f"remote={remote!r} runs traces through nnsight, but "
                              f"backend={backend!r} was asked for; use backend='nnsight' (or "
                              f"leave backend unset)", value=backend)
    return str(backend)


def _load_nnsight(name: Any, **kw: Any) -> Any:
    from neurospec.models.nnsight_loading import load_nnsight

    return load_nnsight(name, **kw)


# The backends a model can be loaded with: a name and a loader taking load_model's
# arguments.  The TransformerLens bridge is load_model's own body.
BACKENDS: dict[str, Any] = {"transformer_lens": None, "nnsight": _load_nnsight}


def _finish(bridge: Any, *, compatibility_mode: bool, prints: Any, tensors: dict[str, Tensor],
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
    hf: PreTrainedModel
    if isinstance(obj, TransformerBridge):
        # nn.Module's __getattr__ types it as Tensor | Module: it is the wrapped HF model
        hf = cast("PreTrainedModel", obj.original_model)
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


