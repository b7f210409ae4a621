"""Text that is safe to show: invisible and reordering characters made visible.

HTML escaping stops text from becoming markup, but bidi overrides, zero-width characters and
NUL still act on what a reader sees; they are shown as escapes such as ``\\u202e``.
"""

from __future__ import annotations

import dataclasses

from neurospec.evidence.format import visible
from neurospec.evidence.record import Record
from neurospec.report.escape import md_text as markdown_cell  # noqa: F401 - the table cell's escape


def _visible_all(value):
    """``value`` (nested dicts / lists of JSON data) with :func:`visible` applied to strings."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, dict):
        return {_visible_all(k): _visible_all(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_visible_all(v) for v in value)
    return value


def displayable(r: Record) -> Record:
    """A copy of ``r`` whose every string is safe to show as text (see :func:`visible`);
    HTML escaping itself is left to the templates and ``escape``."""
    return dataclasses.replace(r, **{f.name: _visible_all(getattr(r, f.name))
                                     for f in dataclasses.fields(r)})

