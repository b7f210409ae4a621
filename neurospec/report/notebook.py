"""Notebook display: the report's views for neurospec's objects in Jupyter.

:func:`register` adds HTML formatters to IPython for a claim's result, a failed claim and a
list of records (``session_records()``, ``read_results(...)``), by type *name*, so that this
module imports neither the claims nor torch.  neurospec registers them when it is imported
inside IPython; :func:`to_html` is the same rendering for any caller.
"""

from __future__ import annotations

from typing import Any

from neurospec.evidence.record import Record

# (module, class name) -> how to get what to render from an object of that type
_TYPES = {
    ("neurospec.claims.result", "ClaimResult"): "record",
    ("neurospec.errors", "ClaimFailed"): "record",
    ("neurospec.errors", "Underpowered"): "record",
    ("neurospec.evidence.results", "Results"): "records",
    ("neurospec.evidence.record", "Record"): "self",
}


def to_html(obj: Any) -> str | None:
    """The report's HTML for ``obj``: one evidence card for a record (or an object carrying
    one as ``.record``), the summary and cards for a list of records; None for anything else."""
    from neurospec.report.html import render_fragment, render_record

    if isinstance(obj, Record):
        return render_record(obj)
    record = getattr(obj, "record", None)
    if isinstance(record, Record):
        return render_record(record)
    if isinstance(obj, (list, tuple)) and obj and all(isinstance(r, Record) for r in obj):
        return render_fragment(list(obj))
    return None


def register(shell: Any = None) -> bool:
    """Register the HTML formatters with ``shell`` (default: the running IPython, if any).
    Returns whether there was a shell to register with."""
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
        if shell is None:
            return False
    html = shell.display_formatter.formatters["text/html"]
    for module, name in _TYPES:
        html.for_type_by_name(module, name, to_html)
    return True
