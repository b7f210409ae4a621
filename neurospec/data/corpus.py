"""Named text sets: documents loaded from JSON-lines or plain-text files, with a hash.

A corpus file ``<name>.jsonl`` holds one document per line: ``{"text": ..., "id": ...}``.
A ``<name>.txt`` file holds documents separated by blank lines.  No torch here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from neurospec.bundled import bundled
from neurospec.data.dedupe import drop_duplicates
from neurospec.errors import DatasetError


@dataclass(frozen=True)
class Corpus:
    """An ordered, immutable set of distinct documents with a content hash.

    Repeated documents (equal after whitespace / Unicode normalisation) are kept once;
    ``dropped`` pairs each removed id with the id it repeats.

    Example:
        >>> Corpus.from_texts(["Der Hund bellt.", "Die Katze schläft."], name="tiny-de").hash
    """

    name: str
    texts: tuple[str, ...]
    ids: tuple[str, ...] = ()
    source: str = ""
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
        texts, ids, dropped = drop_duplicates(self.texts, self.ids)
        object.__setattr__(self, "texts", texts)
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "dropped", dropped)
        digest = hashlib.sha256(json.dumps(self.texts, ensure_ascii=False).encode()).hexdigest()
        object.__setattr__(self, "hash", digest[:16])

    def __len__(self) -> int:
        return len(self.texts)

    def __repr__(self) -> str:
        return f"Corpus({self.name!r}, {len(self)} docs, hash={self.hash})"

    @classmethod
    def from_texts(cls, texts, name: str = "inline") -> "Corpus":
        """A corpus from a list of strings."""
        if isinstance(texts, str):
            raise DatasetError(f"dataset {name!r}: expected a list of documents, got one string; "
                               f"wrap it in a list: [{texts[:30]!r}...]", value=name)
        return cls(name=name, texts=tuple(texts), source="inline")

    @classmethod
    def from_file(cls, path: Path, name: str | None = None) -> "Corpus":
        """Load ``.jsonl`` (a ``text`` field per line) or ``.txt`` (blank-line separated)."""
        path = Path(path)
        name = name or path.stem
        try:
            raw = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise DatasetError(f"cannot read dataset {name!r} from {path}: {exc}", value=name) from exc
        except UnicodeDecodeError as exc:
            raise DatasetError(f"dataset {path} is not UTF-8 text ({exc}); re-encode it as UTF-8",
                               value=name) from exc
        if path.suffix == ".jsonl":
            texts, ids = [], []
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
            return cls(name=name, texts=tuple(texts), ids=tuple(ids), source=str(path))
        docs = tuple(d.strip() for d in raw.split("\n\n") if d.strip())
        return cls(name=name, texts=docs, source=str(path))

    def subset(self, n: int, start: int = 0) -> "Corpus":
        """Documents ``start .. start+n-1`` as a corpus of its own (name and hash change)."""
        name = f"{self.name}[:{n}]" if start == 0 else f"{self.name}[{start}:{start + n}]"
        return Corpus(name=name, texts=self.texts[start:start + n],
                      ids=self.ids[start:start + n], source=self.source)


def default_data_dirs() -> list[Path]:
    """The bundled datasets (``fixtures/data``, or the installed wheel's copy)."""
    return [bundled("data")]


def load_corpus(name: str, data_dirs: list[Path] | tuple[Path, ...] = ()) -> Corpus:
    """Find dataset ``name`` (``name.jsonl`` or ``name.txt``) in the data folders, or a path.

    Raises:
        DatasetError: nothing by that name; the message lists what is available.
    """
    if isinstance(name, Corpus):
        return name
    path = Path(name)
    if path.suffix in (".jsonl", ".txt") and path.is_file():
        return Corpus.from_file(path)
    dirs = [Path(d) for d in data_dirs] + default_data_dirs()
    for d in dirs:
        for suffix in (".jsonl", ".txt"):
            if (d / f"{name}{suffix}").is_file():
                return Corpus.from_file(d / f"{name}{suffix}", name=name)
    have = sorted({p.stem for d in dirs if d.is_dir() for p in d.iterdir()
                   if p.suffix in (".jsonl", ".txt")})
    raise DatasetError(f"no dataset named {name!r} in {', '.join(map(str, dirs))}; available: "
                       f"{', '.join(have) or 'none'}. Add {name}.jsonl there (one "
                       f'{{"text": ...}} per line) or pass --neurospec-data DIR', value=name)
