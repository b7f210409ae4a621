"""``neurospec init [DIR]``: a starter project that passes at once.

It writes pytest settings (``pyproject.toml`` with neurospec's ini keys), ``hypotheses/`` with
two claims on the bundled tiny-bilingual, ``data/`` with a small corpus of the user's own, and
a CI workflow. Nothing is overwritten: existing files are an error naming them.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from neurospec.errors import NeurospecError

# starter file -> where it goes in the new project
FILES = {
    "pyproject.toml": "pyproject.toml",
    "hypotheses/test_german_neuron.py": "hypotheses/test_german_neuron.py",
    "data/my_german.jsonl": "data/my_german.jsonl",
    "data/my_english.txt": "data/my_english.txt",
    "workflow-claims.yml": ".github/workflows/claims.yml",
}


def init_project(folder: Path) -> list[Path]:
    """Write the starter project into ``folder`` (created if missing); return what was written.

    Raises:
        NeurospecError: a file it would write already exists (nothing is written then).
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NeurospecError(f"{folder} is a file; give a folder for the new project")
    targets = {src: folder / dst for src, dst in FILES.items()}
    existing = [str(p) for p in targets.values() if p.exists() or p.is_symlink()]
    if existing:
        raise NeurospecError(f"not overwriting {', '.join(existing)}: run neurospec init in an "
                             f"empty folder (or move those files away first)")
    # every folder a file goes into must be a real folder inside the project (a file named
    # "data", or a link "data" -> /elsewhere, would be written through or fail half-way)
    root = folder.resolve() if folder.exists() else None
    for dst in [*targets.values(), folder / "reports" / "x"]:
        for part in reversed(dst.relative_to(folder).parents[:-1]):
            sub = folder / part
            if sub.is_symlink():
                raise NeurospecError(f"{sub} is a symbolic link (to {os.readlink(sub)}); "
                                     f"neurospec init writes only inside the project folder: "
                                     f"remove the link or run init in another folder")
            if sub.exists() and not sub.is_dir():
                raise NeurospecError(f"{sub} is a file, but the starter project needs a folder "
                                     f"there; move the file away or run init in another folder")
    starter = resources.files("neurospec") / "starter"
    for src, dst in targets.items():
        dst.parent.mkdir(parents=True, exist_ok=True)
        if root is not None and not dst.parent.resolve().is_relative_to(root):
            raise NeurospecError(f"{dst.parent} lies outside {folder}: nothing more written")
        dst.write_bytes((starter / src).read_bytes())
    (folder / "reports").mkdir(exist_ok=True)
    return list(targets.values())
