"""Reading a Hugging Face checkpoint (a folder, or the hub and its local cache) with
neurospec's checks: no pickle unless trusted, no model code unless trusted, no weights that
transformers would fill with random values.  Every backend loads through here."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import torch

from neurospec.errors import (
    CheckpointError,
    InvalidArgument,
    ModelUnavailable,
    UntrustedCheckpoint,
    UntrustedCode,
)
from neurospec.models.checkpoint import (
    REMOTE_CODE_HINT,
    TRUST_HINT,
    inspect_folder,
    needs_remote_code,
    read_config,
)
from neurospec.models.registry import ModelSource

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

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


def _load_folder(folder: Path, trust_pickle: bool, dtype: torch.dtype, trust_remote_code: bool
                 ) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, str]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    files = inspect_folder(folder, trust_pickle=trust_pickle)
    wants = needs_remote_code(read_config(folder))
    if wants and not trust_remote_code:
        raise UntrustedCode(f"{folder}: its config.json asks transformers to import the "
                            f"model's own Python code ({wants}); {REMOTE_CODE_HINT}",
                            value=folder)
    try:
        tok = AutoTokenizer.from_pretrained(folder, local_files_only=True,
                                            trust_remote_code=trust_remote_code)
    except Exception as exc:  # noqa: BLE001 - tokenizers raise many kinds
        raise CheckpointError(f"{folder}: cannot load its tokenizer ({exc}); the folder "
                              f"needs tokenizer.json (tokenizer.save_pretrained(folder))",
                              value=folder) from exc
    try:
        loaded = AutoModelForCausalLM.from_pretrained(
            folder, local_files_only=True, use_safetensors=not files.uses_pickle,
            attn_implementation="eager", dtype=dtype, output_loading_info=True,
            trust_remote_code=trust_remote_code)
        # with output_loading_info=True it returns (model, info); its annotation says model
        hf, info = cast("tuple[PreTrainedModel, dict[str, Any]]", loaded)
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(f"{folder}: the weights do not load ({exc}); rebuild or "
                              f"re-download the checkpoint", value=folder) from exc
    if info.get("missing_keys") or info.get("mismatched_keys"):
        # transformers fills missing weights with random ones: a different model, silently.
        bad = sorted(map(str, set(info.get("missing_keys") or ()) | {
            str(k[0] if isinstance(k, tuple) else k) for k in info.get("mismatched_keys") or ()}))
        raise CheckpointError(f"{folder}: the weight files lack or misshape {bad[:5]} "
                              f"({len(bad)} in all), which loading would fill with random "
                              f"values; rebuild or re-download the checkpoint", value=folder)
    return hf, tok, str(folder)


def _ask_hub(source: ModelSource, hub_id: str, how: str) -> None:
    """One metadata request (5 s timeout) before a download: without network it fails in about
    a second, where transformers' own download retries for about 30 s per model."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    try:
        HfApi().model_info(hub_id, revision=source.revision, timeout=5)
    except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
        from neurospec.errors import ModelNotFound

        raise ModelNotFound(f"the Hugging Face hub has no {hub_id}"
                            f"{'@' + source.revision if source.revision else ''}: check the name "
                            f"(or pass the path of a local checkpoint folder)",
                            value=source.name) from exc
    except Exception as exc:  # noqa: BLE001 - connection errors come in many kinds
        raise ModelUnavailable(f"weights for {source.name} are not reachable here (the hub did "
                               f"not answer: {type(exc).__name__}): {how}",
                               value=source.name) from exc


def _load_hub(source: ModelSource, dtype: torch.dtype, trust_remote_code: bool
              ) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, str]:
    # The hub library's own cache and offline logic: a model already in the local Hugging Face
    # cache loads from it without any network call; one that is not cached is fetched unless
    # HF_HUB_OFFLINE is set, in which case it is unavailable at once (no retries).
    from huggingface_hub import constants, try_to_load_from_cache
    from transformers import AutoModelForCausalLM, AutoTokenizer

    hub_id = source.hub_id
    assert hub_id is not None, "resolve() gives a folder or a hub id"
    cached = isinstance(try_to_load_from_cache(hub_id, "config.json",
                                               revision=source.revision), str)
    offline = bool(constants.HF_HUB_OFFLINE) or \
        os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
    rev = f" --revision {source.revision}" if source.revision else ""
    at = f"@{source.revision}" if source.revision else ""
    how = (f"{source.name} ({hub_id}{at}) loads from the Hugging Face hub "
           f"or its local cache. To run it: on a machine with network, "
           f"`huggingface-cli download {hub_id}{rev}` "
           f"(or run once without HF_HUB_OFFLINE), or pass the path of a local checkpoint folder")
    if offline and not cached:
        raise ModelUnavailable(f"weights for {source.name} are not reachable here (not in the "
                               f"local Hugging Face cache, and HF_HUB_OFFLINE is set): {how}",
                               value=source.name)
    if not cached:
        _ask_hub(source, hub_id, how)
    try:
        kwargs = dict(revision=source.revision, local_files_only=offline or cached,
                      trust_remote_code=trust_remote_code)
        tok = AutoTokenizer.from_pretrained(hub_id, **kwargs)
        hf = AutoModelForCausalLM.from_pretrained(
            hub_id, use_safetensors=True, attn_implementation="eager", dtype=dtype, **kwargs)
    except ValueError as exc:
        if "trust_remote_code" not in str(exc):
            raise
        raise UntrustedCode(f"{hub_id} needs its own Python code to load; "
                            f"{REMOTE_CODE_HINT}", value=source.name) from exc
    except OSError as exc:
        text = str(exc)
        if "safetensors" in text.lower() and "pytorch_model.bin" in text:
            raise UntrustedCheckpoint(f"{hub_id} is published only as pickle weights; "
                                      f"{TRUST_HINT}", value=source.name) from exc
        raise ModelUnavailable(f"weights for {source.name} are not reachable here: {how}. "
                               f"({type(exc).__name__}: {text.splitlines()[0][:200]})",
                               value=source.name) from exc
    return hf, tok, hub_id


def load_hf(source: ModelSource, name: str, *, trust_pickle: bool, dtype: str,
            trust_remote_code: bool) -> tuple[Any, Any, str, Any, dict[str, torch.Tensor]]:
    """The Hugging Face model and tokenizer of ``source`` (a folder or a hub name) as both
    backends load them: checked to fit each other, fingerprinted, and the weights held for
    later edit checks.  Returns (model, tokenizer, where it came from, fingerprint, tensors)."""
    import warnings

    from transformers.utils import logging as hf_logging

    from neurospec.models.fingerprint import check_tokenizer_fits, fingerprint

    # one bar per load floods CI logs
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # unannotated upstream
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if source.folder is not None:
            hf, tok, where = _load_folder(source.folder, trust_pickle, DTYPES[dtype],
                                          trust_remote_code)
        else:
            hf, tok, where = _load_hub(source, DTYPES[dtype], trust_remote_code)
        check_tokenizer_fits(tok, hf, name, where)
        prints = fingerprint(hf, tok)
    return hf, tok, where, prints, hf.state_dict(keep_vars=True)

