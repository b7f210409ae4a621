"""neurospec: claims about model internals as pytest tests, with real statistics and evidence.

Heavy names (anything that needs torch) are re-exported lazily, so importing the package
(as the pytest plugin does) stays cheap.
"""

from neurospec.errors import ClaimFailed, NeurospecError
from neurospec.units import head, neuron, parse_unit

__version__ = "0.1.0"

_LAZY = {
    "expect": "neurospec.claims.expect",
    "expect_layer": "neurospec.claims.expect",
    "configure": "neurospec.claims.context",
    "load_model": "neurospec.models.loading",
    "Model": "neurospec.models.bridge",
    "Corpus": "neurospec.data.corpus",
    "load_corpus": "neurospec.data.corpus",
    "read_results": "neurospec.evidence.jsonio",
    "read_frame": "neurospec.evidence.jsonio",
    "session_records": "neurospec.evidence.sink",
}

__all__ = ["ClaimFailed", "Corpus", "Model", "NeurospecError", "configure", "corpus", "expect",
           "expect_layer", "head", "load_corpus", "load_model", "neuron", "parse_unit", "read_frame",
           "read_results", "session_records"]


def corpus(name: str):
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


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'neurospec' has no attribute {name!r}")
