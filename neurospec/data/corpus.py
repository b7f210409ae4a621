"""Named text sets: documents loaded from JSON-lines or plain-text files, with a hash.

A corpus file ``<name>.jsonl`` holds one document per line: ``{"text": ..., "id": ...}``,
optionally with ``"group": ...`` (a template id, a source): documents of one group are
resampled together by every CI, as near-copies are (:mod:`neurospec.data.near_duplicates`).
A ``<name>.txt`` file holds documents separated by blank lines.  No torch here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from neurospec.bundled import bundled
from neurospec.data.dedupe import first_occurrences
from neurospec.errors import DatasetError


@dataclass(frozen=True)
class Corpus:
    """An ordered, immutable set of distinct documents with a content hash.

    Repeated documents (equal after whitespace / Unicode normalisation) are kept once;
    ``dropped`` pairs each removed id with the id it repeats.  ``groups`` (empty, or one
    label per document, None for a document of no group) declares documents that are not
    independent -- prompts made from one template, paragraphs of one source: statistics
    resample each group as one unit (:func:`~neurospec.data.near_duplicates.corpus_groups`
    adds the near-copies it finds).

    Example:
        >>> Corpus.from_texts(["Der Hund bellt.", "Die Katze schläft."], name="tiny-de").hash
    """

    name: str
    texts: tuple[str, ...]
    ids: tuple[str, ...] = ()
    source: str = ""
    file_hash: str = ""  # sha256 of the file's bytes (16 hex digits) when loaded from a file
    groups: tuple[str | None, ...] = ()
    hash: str = field(init=False)
    dropped: tuple[tuple[str, str], ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        if not self.texts:
            raise DatasetError(f"dataset {self.name!r} is empty ({self.source or 'no file'}); "
                               f"a claim needs at least a few documents per set", value=self.name)
        bad = [i for i, t in enumerate(self.texts) if not isinstance(t, str) or not t.strip()]
        if bad:
            raise DatasetError(f"dataset {self.name!r}: documents {bad[:5]} are empty or not text; "
                               f"remove them from {self.source or 'the list'}", value=self.name)
        if not self.ids:
            object.__setattr__(self, "ids", tuple(str(i) for i in range(len(self.texts))))
        groups = _checked_groups(self.name, self.groups, len(self.texts))
        keep, dropped = first_occurrences(self.texts, self.ids)
        object.__setattr__(self, "texts", tuple(self.texts[k] for k in keep))
        object.__setattr__(self, "ids", tuple(self.ids[k] for k in keep))
        object.__setattr__(self, "groups", tuple(groups[k] for k in keep) if groups else ())
        object.__setattr__(self, "dropped", dropped)
        digest = hashlib.sha256(json.dumps(self.texts, ensure_ascii=False).encode()).hexdigest()
        object.__setattr__(self, "hash", digest[:16])

    def __len__(self) -> int:
        return len(self.texts)

    def __repr__(self) -> str:
        return f"Corpus({self.name!r}, {len(self)} docs, hash={self.hash})"

    @classmethod
    def from_texts(cls, texts: Iterable[str], name: str = "inline",
                   groups: Iterable[str] | None = None) -> Corpus:
        """A corpus from a list of strings; ``groups``: one label per text (e.g. the
        template each prompt was made from), resampled as one unit by every CI.

        Example:
            >>> Corpus.from_texts(["Paris is in", "Rome is in", "Berlin lies in"],
            ...                   groups=["t1", "t1", "t2"])
        """
        if isinstance(texts, str):
            raise DatasetError(f"dataset {name!r}: expected a list of documents, got one string; "
                               f"wrap it in a list: [{texts[:30]!r}...]", value=name)
        return cls(name=name, texts=tuple(texts), source="inline",
                   groups=() if groups is None else tuple(groups))

    @classmethod
    def from_file(cls, path: Path, name: str | None = None) -> Corpus:
        """Load ``.jsonl`` (a ``text`` field per line) or ``.txt`` (documents separated by
        blank lines; a line of only spaces or tabs is blank), whatever the suffix's case.

        Raises:
            DatasetError: unreadable, not UTF-8, a malformed line, or another suffix.
        """
        path = Path(path)
        name = name or path.stem
        try:
            data = path.read_bytes()
            # utf-8-sig: a byte-order mark (Windows editors write one) is not text.
            raw = data.decode("utf-8-sig")
        except OSError as exc:
            raise DatasetError(f"cannot read dataset {name!r} from {path}: {exc}",
                               value=name) from exc
        except UnicodeDecodeError as exc:
            raise DatasetError(f"dataset {path} is not UTF-8 text ({exc}); re-encode it as UTF-8",
                               value=name) from exc
        digest = hashlib.sha256(data).hexdigest()[:16]
        suffix = path.suffix.lower()
        if suffix not in SUFFIXES:
            raise DatasetError(f"{path}: a dataset file is .jsonl (one {{\"text\": ...}} a line) "
                               f"or .txt (documents separated by blank lines), not "
                               f"{path.suffix or 'a file without a suffix'}", value=name)
        if suffix == ".jsonl":
            texts: list[str] = []
            ids: list[str] = []
            groups: list[str | None] = []
            for lineno, line in enumerate(raw.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    texts.append(row["text"])
                except (ValueError, KeyError, TypeError) as exc:
                    raise DatasetError(
                        f"{path}:{lineno} is not a JSON object with a 'text' field "
                        f"({type(exc).__name__}: {exc}); each line must be like "
                        f'{{"text": "..."}}', value=name) from exc
                ids.append(str(row.get("id", len(ids))))
                group = row.get("group")
                if group is not None and not isinstance(group, (str, int)):
                    raise DatasetError(f"{path}:{lineno}: 'group' must be a string or a "
                                       f"number (a template id, a source), got {group!r}",
                                       value=name)
                groups.append(None if group is None else str(group))
            return cls(name=name, texts=tuple(texts), ids=tuple(ids), source=_shown(path),
                       file_hash=digest,
                       groups=tuple(groups) if any(g is not None for g in groups) else ())
        lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        docs: list[str] = []
        current: list[str] = []
        for line in lines + [""]:
            if line.strip(" \t"):
                current.append(line)
            elif current:
                docs.append("\n".join(current).strip())
                current = []
        return cls(name=name, texts=tuple(d for d in docs if d), source=_shown(path),
                   file_hash=digest)

    def subset(self, n: int, start: int = 0) -> Corpus:
        """Documents ``start .. start+n-1`` as a corpus of its own (name and hash change)."""
        for arg, value, least in (("n", n, 1), ("start", start, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise DatasetError(f"{self.name}.subset({arg}={value!r}): {arg} must be a whole "
                                   f"number >= {least}, e.g. subset(100) for the first 100 "
                                   f"documents", value=value)
        if start >= len(self):
            raise DatasetError(f"{self.name}.subset(start={start}): the dataset has only "
                               f"{len(self)} documents (0..{len(self) - 1})", value=start)
        name = f"{self.name}[:{n}]" if start == 0 else f"{self.name}[{start}:{start + n}]"
        return Corpus(name=name, texts=self.texts[start:start + n],
                      ids=self.ids[start:start + n], source=self.source,
                      file_hash=self.file_hash, groups=self.groups[start:start + n])

    def origin(self) -> dict[str, str | None]:
        """Where the documents came from, for a record: the file (relative to the working
        folder when under it) and the sha256 of its bytes; inline corpora say "inline"."""
        return {"file": self.source or "inline", "sha256": self.file_hash or None}


def _checked_groups(name: str, groups, n: int) -> tuple:
    """``groups`` as a tuple of labels (str or None), one per document, or ()."""
    if groups is None or len(groups) == 0:
        return ()
    if isinstance(groups, str) or len(groups) != n:
        raise DatasetError(f"dataset {name!r}: groups= needs one label per document ({n}), got "
                           f"{len(groups) if not isinstance(groups, str) else 'one string'}; "
                           f"e.g. groups=['t1', 't1', 't2'] for three prompts of two "
                           f"templates", value=name)
    bad = [g for g in groups if g is not None and not isinstance(g, (str, int))]
    if bad:
        raise DatasetError(f"dataset {name!r}: group labels are strings or numbers, got "
                           f"{bad[0]!r}", value=name)
    return tuple(None if g is None else str(g) for g in groups)


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when it lies under it (records and reports
    should not carry the absolute layout of someone's machine), else as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _unique(dirs: list[Path]) -> list[Path]:
    """The folders in order, each once (``fixtures/data`` may also be given explicitly)."""
    seen: dict[Path, Path] = {}
    for d in dirs:
        seen.setdefault(d.resolve(), d)
    return list(seen.values())


SUFFIXES = (".jsonl", ".txt")
NAME_LIMIT = 200  # file systems hold names of 255 bytes; a dataset name is one


def _files_named(folder: Path, name: str) -> list[Path]:
    """``name.jsonl`` / ``name.txt`` in ``folder``, whatever the case of the suffix."""
    try:
        return sorted(p for p in folder.iterdir() if p.stem == name
                      and p.suffix.lower() in SUFFIXES and p.is_file())
    except OSError:  # no such folder (checked by the caller's options), or unreadable
        return []


def default_data_dirs() -> list[Path]:
    """The bundled datasets (``fixtures/data``, or the installed wheel's copy)."""
    return [bundled("data")]


def load_corpus(name: str, data_dirs: list[Path] | tuple[Path, ...] = ()) -> Corpus:
    """Find dataset ``name`` (``name.jsonl`` or ``name.txt``) in the data folders.

    A name is a name, never a path: ``corpus("../x")`` would read files outside the data
    folders.  Load a file on purpose with :meth:`Corpus.from_file`.

    Raises:
        DatasetError: nothing by that name (the message lists what is available), a name
            that is a path, or the same name in two data folders (both files named).
    """
    if isinstance(name, Corpus):
        return name
    if not isinstance(name, str) or not name.strip():
        raise DatasetError(f"a dataset name must be a non-empty string, got {name!r}",
                           value=name)
    if "/" in name or "\\" in name or name.startswith(".") or Path(name).is_absolute():
        raise DatasetError(
            f"dataset {name!r} is a path, not a name; names are looked up in the data folders "
            f"only. To load a file on purpose use Corpus.from_file({name!r}), or pass its "
            f"folder with --neurospec-data DIR and use the name", value=name)
    if len(name) > NAME_LIMIT:
        raise DatasetError(f"dataset name {name[:40]!r}... is {len(name)} characters long; a "
                           f"dataset is a file <name>.jsonl / <name>.txt, whose name holds at "
                           f"most {NAME_LIMIT} characters", value=name[:NAME_LIMIT])
    dirs = [Path(d) for d in data_dirs] + default_data_dirs()
    found = [f for d in _unique(dirs) for f in _files_named(d, name)]
    if len(found) > 1:
        raise DatasetError(
            f"dataset {name!r} is defined twice: {found[0]} and {found[1]}; rename or remove "
            f"one of them so that the name means one file", value=name)
    if found:
        return Corpus.from_file(found[0], name=name)
    have = sorted({p.stem for d in dirs if d.is_dir() for p in d.iterdir()
                   if p.suffix.lower() in SUFFIXES})
    raise DatasetError(f"no dataset named {name!r} in {', '.join(map(str, dirs))}; available: "
                       f"{', '.join(have) or 'none'}. Add {name}.jsonl there (one "
                       f'{{"text": ...}} per line) or pass --neurospec-data DIR', value=name)
