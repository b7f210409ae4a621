"""Where model names point: bundled fixture folders, local folders, and hub models.

No torch here: resolving a name only looks at the file system.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from neurospec.bundled import bundled
from neurospec.errors import ModelNotFound

# Short names researchers use for hub models, as in the seed notebooks.
HUB_ALIASES = {
    "pythia-70m": "EleutherAI/pythia-70m",
    "pythia-160m": "EleutherAI/pythia-160m",
    "pythia-410m": "EleutherAI/pythia-410m",
    "gpt2-small": "gpt2",
    "gpt2": "gpt2",
    "gelu-1l": "NeelNanda/GELU_1L512W_C4_Code",
    "gelu-2l": "NeelNanda/GELU_2L512W_C4_Code",
    "tiny-stories-2l-33m": "roneneldan/TinyStories-2Layers-33M",
}
MODELS_ENV = "NEUROSPEC_MODELS"


@dataclass(frozen=True)
class ModelSource:
    """A resolved model name: a local folder, or a hub id; ``revision`` is the training
    checkpoint (a sub-folder of ``checkpoints/``, or a hub revision such as ``step1000``)."""

    name: str
    folder: Path | None = None
    hub_id: str | None = None
    revision: str | None = None


def bundled_dirs(extra: tuple[Path, ...] = ()) -> list[Path]:
    """Folders searched for models by name, first match wins.

    ``extra`` (from ``--neurospec-model-dir`` / ini), then ``$NEUROSPEC_MODELS``
    (colon-separated), then the bundled models (``fixtures/models``, or the wheel's copy).
    """
    dirs = [Path(p) for p in extra]
    dirs += [Path(p) for p in os.environ.get(MODELS_ENV, "").split(os.pathsep) if p]
    dirs.append(bundled("models"))
    return dirs


def available_models(extra: tuple[Path, ...] = ()) -> list[str]:
    """Names of every local model found in the search folders, plus hub aliases."""
    names = []
    for d in bundled_dirs(extra):
        if d.is_dir():
            names += sorted(p.name for p in d.iterdir() if (p / "config.json").is_file())
    return names


def resolve(name: str, checkpoint: str | None = None,
            extra: tuple[Path, ...] = ()) -> ModelSource:
    """Resolve a model name (optionally ``name@checkpoint``) to a folder or a hub id.

    Raises:
        ModelNotFound: the name is neither a bundled model, a folder, nor a hub name;
            the message lists what is available.
    """
    if not isinstance(name, str) or not name.strip():
        raise ModelNotFound(f"a model name must be a non-empty string, got {name!r}", value=name)
    if "@" in name and checkpoint is None:
        name, checkpoint = name.split("@", 1)
    path = Path(name).expanduser()
    try:
        here = path.is_dir()
    except OSError:  # a name too long for the file system is no folder
        here = False
    if here and path_like(name):
        return ModelSource(name, folder=_checkpoint_folder(path, checkpoint, name),
                           revision=checkpoint)
    found = next((d / name for d in bundled_dirs(extra) if (d / name / "config.json").is_file()),
                 None)
    hub = name in HUB_ALIASES or bool(HUB_ID.match(name))
    if here and (found is not None or hub):
        other = (f"the model {name!r} in {found.parent}" if found is not None
                 else f"the hub model {HUB_ALIASES.get(name, name)!r}")
        raise ModelNotFound(
            f"model {name!r} names two models: the folder {path.resolve()} in the working "
            f"folder, and {other}; write './{name}' (or its full path) for the folder, or "
            f"rename or move that folder to use the other", value=name)
    if here:
        return ModelSource(name, folder=_checkpoint_folder(path, checkpoint, name),
                           revision=checkpoint)
    if found is not None:
        return ModelSource(name, folder=_checkpoint_folder(found, checkpoint, name),
                           revision=checkpoint)
    if path_like(name) or path.exists():
        what = "a file, not a folder" if path.exists() else "no such folder"
        raise ModelNotFound(
            f"model {name!r} looks like a path but is {what}; give the folder that holds "
            f"config.json and *.safetensors, a bundled name ({', '.join(available_models(extra))}) "
            f"or a hub name such as 'EleutherAI/pythia-70m'", value=name)
    if name in HUB_ALIASES or HUB_ID.match(name):
        return ModelSource(name, hub_id=HUB_ALIASES.get(name, name), revision=checkpoint)
    local = ", ".join(available_models(extra)) or "none"
    raise ModelNotFound(
        f"unknown model {name!r}. Bundled/local models: {local}; hub names: "
        f"{', '.join(sorted(HUB_ALIASES))} or any 'org/name' on the Hugging Face hub; or pass the "
        f"path of a checkpoint folder (config.json + *.safetensors)", value=name)


# A Hugging Face repository id: "org/name" of letters, digits, "-", "_" and "." (no "..").
HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")


def path_like(name: str) -> bool:
    """Whether ``name`` is written as a file-system path (absolute, ``./``, ``../``, ``~``,
    a backslash, or more than one ``/``) rather than a model or hub name."""
    return (name.startswith(("/", "./", "../", "~", ".\\")) or "\\" in name
            or name.count("/") > 1 or name in (".", "..") or ".." in name.split("/"))


def _checkpoint_folder(folder: Path, checkpoint: str | None, name: str) -> Path:
    if checkpoint is None:
        return folder
    sub = folder / "checkpoints" / checkpoint
    if (sub / "config.json").is_file():
        return sub
    have = sorted(p.name for p in (folder / "checkpoints").glob("*") if p.is_dir())
    raise ModelNotFound(
        f"model {name!r} has no checkpoint {checkpoint!r}; available: {', '.join(have) or 'none'}",
        value=checkpoint)
