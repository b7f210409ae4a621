"""What produced a run: library versions, device and dtype, recorded in every results file's
``meta`` so that two runs that differ only in their environment can be told apart."""

from __future__ import annotations

import platform
from collections.abc import Iterable, Mapping
from importlib import metadata
from typing import Any

# distribution name -> key in meta["environment"]
PACKAGES = {"torch": "torch", "transformers": "transformers",
            "transformer-lens": "transformer_lens", "neurospec": "neurospec"}
KEYS = ("python", *PACKAGES.values(), "device", "dtype")


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def environment(models: Iterable[Mapping[str, Any]] = ()) -> dict[str, str]:
    """Python and library versions, and the devices and dtypes of the ``models`` measured
    (each a record's ``model`` dict); several are joined with ", "."""
    env = {"python": platform.python_version()}
    env.update({key: _version(dist) for dist, key in PACKAGES.items()})
    for key in ("device", "dtype"):
        seen = sorted({str(m[key]) for m in models if m.get(key) is not None})
        env[key] = ", ".join(seen) or "none measured"
    return env


def differences(base: dict[str, Any], head: dict[str, Any]) -> list[str]:
    """``key: base -> head`` for every environment entry in which two runs differ (an entry
    one run did not record counts as a difference)."""
    out = []
    for key in KEYS:
        a, b = base.get(key, "not recorded"), head.get(key, "not recorded")
        if a != b:
            out.append(f"{key}: {a} -> {b}")
    return out
