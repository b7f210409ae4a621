"""Inspecting checkpoint folders before anything loads them: which weights they hold,
whether safetensors files are whole, and whether loading would unpickle anything.

Pure file inspection: no torch, no transformers.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from neurospec.errors import CheckpointError, UntrustedCheckpoint

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
TRUST_HINT = ("pass trust_pickle=True to load_model (or --neurospec-trust-pickle to pytest) only if "
              "you trust whoever made the file: unpickling runs arbitrary code. Better: convert it "
              "once to safetensors (model.save_pretrained(dir, safe_serialization=True))")


@dataclass(frozen=True)
class CheckpointFiles:
    """What a checkpoint folder holds."""

    folder: Path
    safetensors: tuple[Path, ...]
    pickles: tuple[Path, ...]

    @property
    def uses_pickle(self) -> bool:
        return not self.safetensors and bool(self.pickles)


def inspect_folder(folder: Path, trust_pickle: bool = False) -> CheckpointFiles:
    """Check that ``folder`` is a loadable HF checkpoint and say which weights it uses.

    Raises:
        CheckpointError: no config, no weights, or a truncated / corrupt safetensors file.
        UntrustedCheckpoint: only pickle weights and ``trust_pickle`` is false.
    """
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise CheckpointError(
            f"{folder} has no config.json, so it is not a Hugging Face checkpoint folder; "
            f"point at the folder that holds config.json and model.safetensors", value=folder)
    safet = tuple(sorted(folder.glob("*.safetensors")))
    pickles = tuple(sorted(p for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES))
    if not safet and not pickles:
        raise CheckpointError(
            f"{folder} has a config.json but no weights (*.safetensors); copy the weights "
            f"next to config.json, or rebuild the model", value=folder)
    config = read_config(folder)
    check_config_values(config, folder / "config.json")
    headers = [check_safetensors(path) for path in safet]
    if headers:
        check_config_against_weights(config, headers, folder)
    verify_manifest(folder)
    files = CheckpointFiles(folder, safet, pickles)
    if files.uses_pickle and not trust_pickle:
        names = ", ".join(p.name for p in pickles)
        raise UntrustedCheckpoint(
            f"{folder} holds only pickle weights ({names}); neurospec never unpickles a "
            f"checkpoint by default. {TRUST_HINT}", value=folder)
    return files


def check_safetensors(path: Path) -> dict:
    """Validate a safetensors file's header against its size; return the header.

    A truncated download or a file that is not safetensors at all fails here with a
    message, rather than deep inside a loader.
    """
    size = path.stat().st_size
    fix = "re-download or rebuild it (bundled models: python fixtures/build/build_tiny_bilingual.py)"
    if size < 8:
        raise CheckpointError(f"{path} is {size} bytes, too short for safetensors; {fix}", value=path)
    with path.open("rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        if n > size - 8 or n > 100_000_000:
            raise CheckpointError(
                f"{path} is not a valid safetensors file (header length {n} > file size "
                f"{size}); it is corrupt or truncated: {fix}", value=path)
        try:
            header = json.loads(fh.read(n))
        except ValueError as exc:
            raise CheckpointError(f"{path} has an unreadable safetensors header ({exc}); {fix}",
                                  value=path) from exc
    end = max((_entry(path, k, v, fix) for k, v in _tensors(path, header, fix)), default=0)
    if 8 + n + end != size:
        raise CheckpointError(
            f"{path} is truncated or corrupt: its header describes {8 + n + end} bytes but the "
            f"file has {size}; {fix}", value=path)
    return header


DTYPE_BYTES = {"F64": 8, "I64": 8, "U64": 8, "F32": 4, "I32": 4, "U32": 4, "F16": 2, "BF16": 2,
               "I16": 2, "U16": 2, "I8": 1, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}


def _tensors(path: Path, header, fix: str) -> list[tuple[str, object]]:
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: the safetensors header is a JSON {type(header).__name__}, "
                              f"not an object of tensors; the file is corrupt: {fix}", value=path)
    return [(k, v) for k, v in header.items() if k != "__metadata__"]


def _entry(path: Path, name: str, entry, fix: str) -> int:
    """Validate one tensor entry of a safetensors header; return where its data ends."""
    def bad(what: str) -> CheckpointError:
        return CheckpointError(f"{path}: tensor {name!r} in the safetensors header {what}; the "
                               f"file is corrupt: {fix}", value=path)

    if not isinstance(entry, dict):
        raise bad(f"is a JSON {type(entry).__name__}, not an object")
    missing = [k for k in ("dtype", "shape", "data_offsets") if k not in entry]
    if missing:
        raise bad(f"has no {' / '.join(missing)} (keys: {', '.join(map(str, entry))})")
    shape, offsets, dtype = entry["shape"], entry["data_offsets"], entry["dtype"]
    if not (isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)):
        raise bad(f"has shape {shape!r}, not a list of sizes")
    if not (isinstance(offsets, list) and len(offsets) == 2
            and all(type(o) is int for o in offsets) and 0 <= offsets[0] <= offsets[1]):
        raise bad(f"has data_offsets {offsets!r}, not [begin, end]")
    width = DTYPE_BYTES.get(dtype) if isinstance(dtype, str) else None
    if width is None:
        raise bad(f"has dtype {dtype!r}, not one of {', '.join(DTYPE_BYTES)}")
    if offsets[1] - offsets[0] != math.prod(shape) * width:
        raise bad(f"spans {offsets[1] - offsets[0]} bytes but shape {shape} of {dtype} needs "
                  f"{math.prod(shape) * width}")
    return offsets[1]


def read_config(folder: Path) -> dict:
    """``config.json`` as a dict, or a :class:`CheckpointError` that names the file (a broken
    config is not the tokenizer's fault, which is what transformers would blame)."""
    return read_settings(Path(folder) / "config.json",
                         "restore it from the model's source (model.config.save_pretrained(folder))")


def read_settings(path: Path, fix: str) -> dict:
    """A JSON settings file (``config.json``, an SAE's ``cfg.json``) as a dict.

    Raises:
        CheckpointError: unreadable, not JSON, or not a JSON object; names the file and ``fix``.
    """
    try:
        config = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path} is not valid JSON ({exc}); {fix}", value=path) from exc
    if not isinstance(config, dict):
        raise CheckpointError(f"{path} holds a JSON {type(config).__name__}, not an object of "
                              f"settings; {fix}", value=path)
    return config


# Sizes a model's config must give as whole numbers >= 1 where it gives them (any of the
# names a family uses).
_SIZES = (("num_hidden_layers", "n_layer", "num_layers"), ("hidden_size", "n_embd", "d_model"),
          ("num_attention_heads", "n_head"), ("num_key_value_heads",), ("vocab_size",),
          ("max_position_embeddings", "n_positions", "n_ctx", "seq_length"), ("head_dim",),
          ("intermediate_size", "n_inner"))
_FLAGS = ("use_parallel_residual", "tie_word_embeddings", "scale_attn_weights")
REMOTE_CODE_HINT = (
    "neurospec never runs a model folder's own Python code by default. Pass "
    "trust_remote_code=True to load_model (or --neurospec-trust-remote-code to pytest) only if "
    "you have read that code and trust whoever made it: it runs with your permissions")


def _setting(config: dict, keys: tuple[str, ...]):
    return next(((k, config[k]) for k in keys if k in config), (None, None))


def check_config_values(config: dict, path: Path | str) -> None:
    """Refuse a config whose sizes make no sense (a negative context length would silently
    drop tokens, a head count that does not divide the width would fail deep inside a
    forward pass), before anything is allocated.

    Raises:
        CheckpointError: naming the setting, its value and what it must be.
    """
    def bad(key: str, value, need: str) -> CheckpointError:
        return CheckpointError(f"{path}: {key}={value!r} {need}; restore the config saved with "
                               f"these weights", value=path)

    for keys in _SIZES:
        key, value = _setting(config, keys)
        if key is None or (value is None and key in ("intermediate_size", "n_inner", "head_dim",
                                                     "num_key_value_heads")):
            continue
        if type(value) is not int or value < 1:
            raise bad(key, value, "is not a whole number >= 1")
    for key in _FLAGS:
        if key in config and not isinstance(config[key], bool):
            raise bad(key, config[key], "is not true or false")
    _, width = _setting(config, ("hidden_size", "n_embd", "d_model"))
    hk, heads = _setting(config, ("num_attention_heads", "n_head"))
    _, head_dim = _setting(config, ("head_dim",))
    if isinstance(width, int) and isinstance(heads, int) and head_dim is None and width % heads:
        raise bad(hk, heads, f"does not divide the width {width} (and no head_dim is given)")
    kv = config.get("num_key_value_heads")
    if isinstance(kv, int) and isinstance(heads, int) and heads % kv:
        raise bad("num_key_value_heads", kv, f"does not divide the {heads} attention heads")


def needs_remote_code(config: dict) -> str:
    """What in ``config`` asks transformers to import the model's own Python code
    (``auto_map`` entries), "" when nothing does."""
    auto = config.get("auto_map")
    if not auto:
        return ""
    names = sorted({str(v) for v in (auto.values() if isinstance(auto, dict) else [auto])})
    return f"auto_map ({', '.join(names)[:200]})"


_LAYER = re.compile(r"(?:^|\.)(?:layers|h|blocks|layer)\.([0-9]+)\.")
_EMBED = ("embed_in.weight", "wte.weight", "embed_tokens.weight", "word_embeddings.weight")


def check_config_against_weights(config: dict, headers: list[dict], folder: Path) -> None:
    """Refuse a config that does not describe the weights beside it, before anything is
    allocated: a ``num_hidden_layers`` of 1000000 next to a 5 MB file would otherwise build
    a model of many gigabytes first."""
    names = {k: v["shape"] for h in headers for k, v in h.items() if k != "__metadata__"}
    layers = {int(m[1]) for k in names if (m := _LAYER.search(k))}
    path = Path(folder) / "config.json"

    def setting(*keys: str):
        return _setting(config, keys)

    def mismatch(key: str, value, held: str) -> CheckpointError:
        return CheckpointError(f"{path}: {key}={value!r} but the weights beside it hold {held}; "
                               f"config.json belongs to another model: restore the config saved "
                               f"with these weights", value=path)

    key, n_layers = setting("num_hidden_layers", "n_layer", "num_layers")
    if key is not None:
        if type(n_layers) is not int or n_layers < 1:
            raise mismatch(key, n_layers, "a positive number of layers")
        if layers and n_layers != len(layers):
            raise mismatch(key, n_layers, f"{len(layers)} layers")
    embed = next((shape for k, shape in names.items() if k.endswith(_EMBED)), None)
    if embed is None or len(embed) != 2:
        return
    for keys, held in ((("vocab_size",), embed[0]), (("hidden_size", "n_embd", "d_model"), embed[1])):
        key, value = setting(*keys)
        if key is not None and value != held:
            raise mismatch(key, value, f"an embedding of {held}")
    key, d_mlp = setting("intermediate_size", "n_inner")
    if key is not None and d_mlp is not None and layers:
        first = [shape for k, shape in names.items() if (m := _LAYER.search(k)) and m[1] == str(min(layers))]
        if not any(d_mlp in shape for shape in first):
            raise mismatch(key, d_mlp, f"no tensor of that size in layer {min(layers)}")


_VERIFIED: dict[tuple, bool] = {}


def verify_manifest(folder: Path) -> None:
    """Check the files of a bundled model folder against the sha256 hashes in its
    ``MANIFEST.json`` (in the folder, or two levels up for ``checkpoints/<name>``), so that
    a flipped bit in the weights is an error rather than a silently different model.

    Each file is hashed once per process (keyed by path, size and modification time).
    """
    folder = Path(folder).resolve()
    for manifest in [folder / "MANIFEST.json"] + [p / "MANIFEST.json" for p in folder.parents[1:2]]:
        if not manifest.is_file():
            continue
        try:
            doc = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"{manifest} is not valid JSON ({exc}); restore it with git "
                                  f"checkout, or rebuild the model", value=manifest) from exc
        # tiny-bilingual lists "files" relative to its folder; planted lists "sha256" as
        # "fixtures/models/planted/...", relative to the fixtures root's parent (in a wheel
        # the fixtures root is neurospec/_fixtures, so resolve below it).
        if isinstance(doc.get("files"), dict):
            base, hashes = manifest.parent, doc["files"]
        elif isinstance(doc.get("sha256"), dict) and len(manifest.parents) > 2:
            base = manifest.parents[2]
            hashes = {str(Path(*Path(k).parts[1:])): v for k, v in doc["sha256"].items()
                      if len(Path(k).parts) > 1}
        else:
            continue
        for rel, digest in hashes.items():
            path = (base / rel).resolve()
            if path.parent == folder and path.is_file():
                _check_hash(path, str(digest), manifest)
        return


def _check_hash(path: Path, digest: str, manifest: Path) -> None:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns, digest)
    if key in _VERIFIED:
        return
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    if sha.hexdigest() != digest:
        raise CheckpointError(
            f"{path} does not match the sha256 in {manifest} (file {sha.hexdigest()[:16]}..., "
            f"manifest {digest[:16]}...): the bundled model was changed or damaged; restore it "
            f"with `git checkout -- {path.parent}` or rebuild it (a copy changed on purpose: "
            f"delete its MANIFEST.json)", value=path)
    _VERIFIED[key] = True
