"""Results files: all records of a run as one JSON document, written atomically."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from pathlib import Path

from neurospec.errors import NeurospecError
from neurospec.evidence.record import SCHEMA, Record
from neurospec.evidence.results import Results


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never
    a truncated mix (temporary file in the same folder, fsync, rename)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise NeurospecError(f"cannot write {path}: {exc}; choose a writable path "
                             f"(e.g. --neurospec-json=reports/run.json)", value=path) from exc
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; results are for sharing
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def results_document(records: list[Record], meta: dict | None = None) -> dict:
    return {"schema": SCHEMA, "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "meta": meta or {}, "records": [r.to_dict() for r in records]}


def write_results(path: Path, records: list[Record], meta: dict | None = None) -> None:
    """Write all ``records`` to ``path`` atomically."""
    atomic_write_text(path, json.dumps(results_document(records, meta), indent=1,
                                       ensure_ascii=False) + "\n")


def read_results(path: Path) -> Results:
    """Read a results file: a list of records with ``.to_frame()`` (pandas) and ``.meta``.

    A file of another schema gets a clear error (:class:`NeurospecError`).

    Example::

        df = read_results("reports/run.json").to_frame()
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NeurospecError(f"cannot read results file {path}: {exc}", value=path) from exc
    schema = doc.get("schema") if isinstance(doc, dict) else None
    if schema != SCHEMA:
        raise NeurospecError(f"{path} has schema {schema!r}, but this neurospec reads {SCHEMA!r}; "
                             f"re-run the suite with this version to regenerate it", value=path)
    try:
        return Results([Record.from_dict(r) for r in doc.get("records", [])], doc.get("meta"))
    except (TypeError, AttributeError) as exc:
        raise NeurospecError(f"{path} is not a valid {SCHEMA} file: {exc}", value=path) from exc


def read_frame(path: Path):
    """A results file as a pandas DataFrame, one row per claim check."""
    return read_results(path).to_frame()
