"""Duplicated documents: a repeated document is one observation, not several.

Texts are compared after normalisation (Unicode NFC, runs of whitespace as one space, ends
stripped).  Within a set, repeats are dropped and recorded; across the two sets of a
contrast they are an error (the same document cannot be evidence for both sides).
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections import OrderedDict
from typing import Protocol

from neurospec.errors import DatasetError


class Documents(Protocol):
    """A corpus as the checks here read it (:class:`neurospec.data.corpus.Corpus`, which
    imports this module)."""

    @property
    def name(self) -> str: ...

    @property
    def hash(self) -> str: ...

    @property
    def texts(self) -> tuple[str, ...]: ...

    @property
    def ids(self) -> tuple[str, ...]: ...


def text_key(text: str) -> str:
    """Hash of the normalised text: equal for documents that differ only in whitespace or
    Unicode composition."""
    normal = " ".join(unicodedata.normalize("NFC", text).split())
    return hashlib.sha256(normal.encode()).hexdigest()


def drop_duplicates(texts: tuple[str, ...], ids: tuple[str, ...]
                    ) -> tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[str, str], ...]]:
    """Keep each distinct document's first occurrence.

    Returns:
        (texts, ids, dropped): ``dropped`` pairs each removed id with the id it repeats.
    """
    keep, dropped = first_occurrences(texts, ids)
    return tuple(texts[k] for k in keep), tuple(ids[k] for k in keep), dropped


def first_occurrences(texts: tuple[str, ...], ids: tuple[str, ...]
                      ) -> tuple[list[int], tuple[tuple[str, str], ...]]:
    """The positions of each distinct document's first occurrence, and (removed id, id it
    repeats) for the others."""
    seen: dict[str, str] = {}
    keep, dropped = [], []
    for k, (text, i) in enumerate(zip(texts, ids)):
        key = text_key(text)
        if key in seen:
            dropped.append((i, seen[key]))
            continue
        seen[key] = i
        keep.append(k)
    return keep, tuple(dropped)


_KEYS: OrderedDict[tuple[str, int], tuple[str, ...]] = OrderedDict()
_KEYS_HELD = 64  # corpora whose keys are kept (random-unit reruns check the same pair again)


def corpus_keys(corpus: Documents) -> tuple[str, ...]:
    """:func:`text_key` of every document of ``corpus``, remembered by its content hash."""
    key = (corpus.hash, len(corpus.texts))
    if key in _KEYS:
        _KEYS.move_to_end(key)
        return _KEYS[key]
    keys = tuple(text_key(t) for t in corpus.texts)
    _KEYS[key] = keys
    while len(_KEYS) > _KEYS_HELD:
        _KEYS.popitem(last=False)
    return keys


def require_disjoint(a: Documents, b: Documents) -> None:
    """Raise :class:`DatasetError` when corpora ``a`` and ``b`` share a document.

    Args:
        a, b: :class:`~neurospec.data.corpus.Corpus` objects (the two sets of a contrast).
    """
    keys = dict(zip(corpus_keys(a), a.ids))
    shared = [(keys[k], i) for k, i in zip(corpus_keys(b), b.ids) if k in keys]
    if shared:
        pairs = ", ".join(f"{x!r} = {y!r}" for x, y in shared[:5])
        raise DatasetError(
            f"{len(shared)} documents are in both {a.name!r} and {b.name!r} ({pairs}"
            f"{' ...' if len(shared) > 5 else ''}); a contrast needs two disjoint sets. Remove "
            f"them from one set", value=[x for x, _ in shared])
