"""Results files: all records of a run as one JSON document, written atomically."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from pathlib import Path

from neurospec.errors import OutputError, ResultsFileError
from neurospec.evidence.record import SCHEMA, Record
from neurospec.evidence.results import Results


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never
    a truncated mix (temporary file in the same folder, fsync, rename).  A process killed
    mid-write leaves at most a hidden ``.<name>.*.tmp`` file beside the old one.

    Raises:
        OutputError: the folder cannot be created or written, or ``path`` is a folder.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; give a file path such as "
                          f"{path / 'run.json'}", value=path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}; choose a writable path "
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


def record_json(record: dict) -> str:
    """One record (``Record.to_dict()``) as one line of JSON."""
    return json.dumps(record, ensure_ascii=False)


def results_text(record_lines: list[str], meta: dict | None = None) -> str:
    """The results document from records already serialised by :func:`record_json`.

    The plugin rewrites the file after every test; serialising each record once, rather
    than the whole run each time, keeps that linear in the number of claims (an indented
    dump of 240 records takes ~0.2 s, paid again after every test).
    """
    head = results_document([], meta)
    del head["records"]
    top = json.dumps(head, indent=1, ensure_ascii=False)[:-2]  # without the closing "\n}"
    return top + ',\n "records": [\n' + ",\n".join(record_lines) + "\n ]\n}\n"


def write_results(path: Path, records: list[Record], meta: dict | None = None) -> None:
    """Write all ``records`` to ``path`` atomically (one record per line)."""
    atomic_write_text(path, results_text([record_json(r.to_dict()) for r in records], meta))


def read_results(path: Path) -> Results:
    """Read a results file: a list of records with ``.to_frame()`` (pandas) and ``.meta``.

    Raises:
        ResultsFileError: the file is missing, not JSON, of another schema version, or
            its records are malformed; the message says which and how to regenerate it.

    Example::

        df = read_results("reports/run.json").to_frame()
    """
    path = Path(path)
    regen = ("re-run the suite with this neurospec to regenerate it "
             "(pytest hypotheses/ --neurospec-json=PATH)")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ResultsFileError(f"cannot read results file {path}: {exc.strerror or exc}; check "
                               f"the path", value=path) from exc
    except ValueError as exc:
        raise ResultsFileError(f"{path} is not a neurospec results file (not JSON: {exc}); "
                               f"{regen}", value=path) from exc
    schema = doc.get("schema") if isinstance(doc, dict) else None
    if schema != SCHEMA:
        raise ResultsFileError(f"{path} has schema {schema!r}, but this neurospec reads "
                               f"{SCHEMA!r}; {regen}, or compare it with the neurospec "
                               f"version that wrote it", value=path)
    try:
        return Results([Record.from_dict(r) for r in doc["records"]], doc.get("meta"))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ResultsFileError(f"{path} has schema {SCHEMA!r} but malformed records "
                               f"({type(exc).__name__}: {exc}); {regen}", value=path) from exc


def read_frame(path: Path):
    """A results file as a pandas DataFrame, one row per claim check."""
    return read_results(path).to_frame()
