"""Inspecting checkpoint folders before anything loads them: which weights they hold,
whether safetensors files are whole, and whether loading would unpickle anything.

Pure file inspection: no torch, no transformers.
"""

from __future__ import annotations

import json
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
    for path in safet:
        check_safetensors(path)
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
    end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
    if 8 + n + end != size:
        raise CheckpointError(
            f"{path} is truncated or corrupt: its header describes {8 + n + end} bytes but the "
            f"file has {size}; {fix}", value=path)
    return header
