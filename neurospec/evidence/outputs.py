"""Where an output may be written: a results file or a report page replaces only a file of
its own kind, goes through a symbolic link only after saying so, and keeps the link.

``--neurospec-json notes.json`` pointing at someone's notes, or ``-o`` at a page that is not
a report, would otherwise be overwritten without a word.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from neurospec.errors import OutputError

KINDS = ("results", "html")
# What marks a file as an output of each kind (read from its first bytes).
HTML_MARKS = ('<meta name="generator" content="neurospec">',
              'pypi/pytest-html">pytest-html</a>')
SNIFF_BYTES = 1 << 20


def is_kind(path: Path, kind: str) -> bool:
    """Whether the existing file ``path`` is a neurospec output of ``kind``."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError:
        return False
    text = head.decode("utf-8", "replace")
    if kind == "html":
        return any(mark in text for mark in HTML_MARKS)
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and str(doc.get("schema", "")).startswith("neurospec.results/")


def prepare(path: Path | str, kind: str, option: str) -> tuple[Path, str]:
    """Check that ``path`` may receive an output of ``kind``; return where the bytes go (the
    link's target, when ``path`` is a symbolic link) and a note to show the user ("" when
    there is nothing to say).

    Raises:
        OutputError: ``path`` holds something else than a neurospec output of that kind (it
            would be overwritten), or is a folder.
    """
    path = Path(path)
    target, note = path, ""
    if path.is_symlink():
        target = Path(os.path.realpath(path))
        note = (f"{option}={path} is a symbolic link: writing to its target {target} (the link "
                f"stays)")
    if target.is_dir():
        raise OutputError(f"{option}={path} is a folder; give a file path, e.g. "
                          f"{option}={path / ('run.json' if kind == 'results' else 'run.html')}",
                          value=path)
    if target.exists() and not is_kind(target, kind):
        what = "a neurospec results file" if kind == "results" else "a neurospec or pytest-html report"
        raise OutputError(f"{option}={path}: {target} exists and is not {what}, so writing there "
                          f"would destroy it; choose another path, or delete the file if it may "
                          f"go", value=path)
    return target, note
