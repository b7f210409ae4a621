"""Where the bundled models, datasets, SAEs, transcoders and graphs live.

In a source checkout they are the repository's ``fixtures/`` folder; an installed wheel carries
the same files as package data under ``neurospec/_fixtures``. Nothing else in neurospec builds a
path from its own file location.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
KINDS = ("models", "data", "saes", "transcoders", "graphs")


def fixtures_root() -> Path:
    """The folder holding ``models/``, ``data/``, ``saes/``, ``transcoders/`` and ``graphs/``:
    the wheel's package data if installed, else the source tree's ``fixtures/``."""
    installed = _PACKAGE / "_fixtures"
    return installed if installed.is_dir() else _PACKAGE.parent / "fixtures"


def bundled(kind: str) -> Path:
    """The folder of bundled ``models``, ``data``, ``saes``, ``transcoders`` or ``graphs``
    (attribution graphs in circuit-tracer's JSON)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return fixtures_root() / kind
