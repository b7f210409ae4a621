"""neurospec: claims about model internals as pytest tests, with real statistics and evidence.

The public names are listed in ``__all__`` and visible to ``dir()``, completion and type
checkers; those that need torch are imported on first use, so that importing the package (as
the pytest plugin and ``neurospec compare`` do) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from neurospec.errors import ClaimFailed, NeurospecError
from neurospec.units import (
    HookedUnit,
    Unit,
    UnitKind,
    head,
    neuron,
    parse_unit,
    register_unit_kind,
    unit_kinds,
)

if TYPE_CHECKING:
    from neurospec.claims.context import configure
    from neurospec.claims.expect import expect, expect_layer, expect_replacement
    from neurospec.data.corpus import Corpus, load_corpus
    from neurospec.evidence.jsonio import read_frame, read_results
    from neurospec.evidence.sink import session_records
    from neurospec.measure.transcoder_paths import logit
    from neurospec.models.bridge import Model
    from neurospec.models.loading import load_model
    from neurospec.models.protocol import ModelBackend

__version__ = "0.1.0"

_LAZY = {
    "expect": "neurospec.claims.expect",
    "expect_layer": "neurospec.claims.expect",
    "expect_replacement": "neurospec.claims.expect",
    "configure": "neurospec.claims.context",
    "load_model": "neurospec.models.loading",
    "Model": "neurospec.models.bridge",
    "ModelBackend": "neurospec.models.protocol",
    "Corpus": "neurospec.data.corpus",
    "load_corpus": "neurospec.data.corpus",
    "read_results": "neurospec.evidence.jsonio",
    "read_frame": "neurospec.evidence.jsonio",
    "session_records": "neurospec.evidence.sink",
    "logit": "neurospec.measure.transcoder_paths",
}

__all__ = ["ClaimFailed", "Corpus", "HookedUnit", "Model", "ModelBackend", "NeurospecError",
           "Unit", "UnitKind", "configure", "corpus", "expect", "expect_layer",
           "expect_replacement", "head", "load_corpus", "load_model", "logit", "neuron",
           "parse_unit",
           "read_frame", "read_results", "register_unit_kind", "session_records", "unit_kinds"]


def corpus(name: str) -> Corpus:
    """A dataset by name (as the pytest ``corpus`` fixture does), for use outside pytest."""
    from neurospec.data.corpus import load_corpus as _load

    return _load(name)


def _register_notebook_display() -> None:
    """Inside IPython/Jupyter, show results and failures as the report's cards."""
    import sys

    if "IPython" in sys.modules:
        from neurospec.report.notebook import register

        register()


_register_notebook_display()


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'neurospec' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
