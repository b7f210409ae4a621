"""Results files: all records of a run as one JSON document, written atomically."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from pathlib import Path

from neurospec.errors import OutputError, ResultsFileError
from neurospec.evidence.payloads import Charts, Data, Details, check
from neurospec.evidence.record import READABLE_SCHEMAS, SCHEMA, SKIPPED, Record, outcome_record
from neurospec.evidence.results import Results


def atomic_write_text(path: Path, text: str, option: str = "--neurospec-json=reports/run.json"
                      ) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never
    a truncated mix (temporary file in the same folder, fsync, rename).  A process killed
    mid-write leaves at most a hidden ``.<name>.*.tmp`` file beside the old one.

    Raises:
        OutputError: the folder cannot be created or written (read-only, disk full), or
            ``path`` is a folder; the message suggests ``option`` with a writable path.
    """
    path = Path(path)
    if path.is_symlink():  # write the link's target and keep the link
        path = Path(os.path.realpath(path))
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; give a file path such as "
                          f"{path / 'run.json'}", value=path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}; choose a writable path "
                          f"(e.g. {option})", value=path) from exc
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; results are for sharing
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}; free space there or "
                              f"choose another path (e.g. {option})", value=path) from exc
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
    if schema not in READABLE_SCHEMAS:
        raise ResultsFileError(f"{path} has schema {str(schema)[:80]!r}, but this neurospec "
                               f"reads {' and '.join(map(repr, READABLE_SCHEMAS))}; {regen}, or "
                               f"compare it with the neurospec version that wrote it", value=path)
    try:
        records = doc["records"]
        meta = doc.get("meta", {})
        if not isinstance(records, list):
            raise ValueError(f"'records' is a {type(records).__name__}, not a list")
        if not isinstance(meta, dict):
            raise ValueError(f"'meta' is a {type(meta).__name__}, not an object")
        for i, r in enumerate(records):
            check_record(r, i)
        check_meta(meta)
        out = [Record.from_dict(r) for r in records]
        return Results(out + _skipped_v1(meta, schema), meta)
    except ValueError as exc:
        raise ResultsFileError(f"{path} has schema {schema!r} but {exc}; {regen}",
                               value=path) from exc
    except (KeyError, TypeError, AttributeError) as exc:
        raise ResultsFileError(f"{path} has schema {schema!r} but malformed records "
                               f"({type(exc).__name__}: {exc}); {regen}", value=path) from exc


def _skipped_v1(meta: dict, schema: str) -> list[Record]:
    """Schema /1 listed skipped tests in ``meta["skipped"]``; they are records now."""
    return [outcome_record(str(s.get("test", "")), SKIPPED, str(s.get("reason", "")),
                           outcome="skipped") for s in meta.get("skipped", [])]


def check_meta(meta: dict) -> None:
    """Raise ``ValueError`` naming the field when ``meta`` holds fields of the wrong type."""
    skipped = meta.get("skipped", [])
    if not (isinstance(skipped, list) and all(isinstance(s, dict) for s in skipped)):
        raise ValueError("meta.skipped is not a list of {test, reason} objects")
    for key in ("collected",):
        v = meta.get(key)
        if v is not None and not (isinstance(v, list) and all(isinstance(x, str) for x in v)):
            raise ValueError(f"meta.{key} is not a list of test ids")
    for key in ("environment", "selection"):
        if not isinstance(meta.get(key, {}), dict):
            raise ValueError(f"meta.{key} is not an object")
    if not isinstance(meta.get("complete", True), bool):
        raise ValueError("meta.complete is not true or false")


_TEXT = ("claim", "kind", "unit", "verdict", "direction", "metric", "method", "missed", "test",
         "checkpoint", "outcome")
_NUMBERS = ("effect", "p", "threshold")
_OPTIONAL = ("percentile", "p_adjusted")


def _is_number(v) -> bool:
    # Non-finite numbers are stored as the strings "nan", "inf", "-inf" (JSON has none).
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) or v in ("nan", "inf", "-inf")


def check_record(r, i: int) -> None:
    """Raise ``ValueError`` naming the record and field when a record's fields have the wrong
    types: rendering or comparing it would otherwise fail with a traceback (or, worse, a
    comparison would read as a regression)."""
    if not isinstance(r, dict):
        raise ValueError(f"record {i} is a {type(r).__name__}, not an object")
    wrong = [k for k in _TEXT if k in r and not isinstance(r[k], str)]
    wrong += [k for k in ("model", "data", "details", "charts") if k in r
              and not isinstance(r[k], dict)]
    wrong += [k for k in ("n", "seed") if k in r and (type(r[k]) is not int)]
    wrong += [k for k in _NUMBERS if k in r and not _is_number(r[k])]
    wrong += [k for k in _OPTIONAL if r.get(k) is not None and not _is_number(r[k])]
    if r.get("vacuous") is not None and not isinstance(r["vacuous"], bool):
        wrong.append("vacuous")
    ci = r.get("ci")
    if ci is not None and not (isinstance(ci, list) and len(ci) == 2 and all(map(_is_number, ci))):
        wrong.append("ci")
    if wrong:
        shown = ", ".join(f"{k}={r[k]!r:.40}" for k in wrong)
        raise ValueError(f"record {i} ({str(r.get('claim', '?'))[:60]!r}) has fields of the "
                         f"wrong type: {shown}")
    for key, hint in (("charts", Charts), ("data", Data), ("details", Details)):
        if key in r:
            try:
                check(r[key], hint, key)
            except ValueError as exc:
                raise ValueError(f"record {i} ({str(r.get('claim', '?'))[:60]!r}): {exc}") from None


def read_frame(path: Path):
    """A results file as a pandas DataFrame, one row per claim check."""
    return read_results(path).to_frame()
