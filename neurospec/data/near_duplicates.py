"""Near-duplicate documents: versions of one text that differ in a few words are one
observation for a confidence interval, not several.

Exact repeats are dropped (:mod:`neurospec.data.dedupe`); near-copies (a templated prompt
set, a fortune quoted twice with one word changed, a boilerplate paragraph in many man pages)
are kept but *grouped*, and every statistic resamples a group as a whole.  A document is a
near-copy of a group's first document when the Jaccard similarity of their sets of character
5-grams (after Unicode NFC, lower case, runs of whitespace as one space) is at least
:data:`THRESHOLD` (:func:`near_duplicate_groups`).  Candidates come from MinHash signatures
with locality-sensitive banding (linear in the number of documents); each candidate pair is
then checked on the exact 5-gram sets, so the grouping does not depend on the hashing.

Measured on the bundled corpora: one word of a German fortune replaced leaves a similarity of
0.54-1.0 with the original (0.67 at the 5% quantile, 0.75 at 10%); 90% of documents have no
other document of their corpus above 0.22-0.34.  Found at 0.6: templated man-page paragraphs
("Der Befehl ipcmk ist Teil des Pakets util-linux ..."), translators' credits, a series of
fortunes on one joke ("Wie man sein Kind nicht nennen sollte: ..."); in the synthetic planted
corpora (sentences of a 20-word vocabulary) some independent sentences reach it too, which
only makes their CIs more cautious.
"""

from __future__ import annotations

import unicodedata
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

THRESHOLD = 0.6  # Jaccard similarity of character 5-gram sets to a group's first document
SHINGLE = 5  # characters per shingle
BANDS, ROWS = 40, 3  # LSH: a pair at Jaccard 0.6 becomes a candidate with probability 0.9998
_MASK = np.uint64((1 << 64) - 1)


def _normal(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).lower().split())


def shingles(text: str, k: int = SHINGLE) -> np.ndarray:
    """Sorted distinct 64-bit hashes of the character ``k``-grams of the normalised ``text``
    (one hash of the whole text when it is shorter than ``k``)."""
    codes = np.frombuffer(_normal(text).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(codes) == 0:
        return np.zeros(1, dtype=np.uint64)
    k = min(k, len(codes))
    h = np.zeros(len(codes) - k + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k):  # a polynomial hash mod 2**64 (uint64 arithmetic wraps)
            h = h * np.uint64(1_000_003) + codes[j:len(codes) - k + 1 + j]
        h ^= h >> np.uint64(29)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(32)
    return np.unique(h)


def _signatures(sets: list[np.ndarray], seed: int = 0) -> np.ndarray:
    """``[docs, BANDS * ROWS]`` MinHash signatures (multiply-shift hashes of each shingle)."""
    rng = np.random.default_rng([seed, 41])
    a = rng.integers(1, 2 ** 63, BANDS * ROWS, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2 ** 63, BANDS * ROWS, dtype=np.uint64)
    out = np.empty((len(sets), BANDS * ROWS), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i, s in enumerate(sets):
            out[i] = (a[:, None] * s[None, :] + b[:, None]).min(1)
    return out


def _jaccard(x: np.ndarray, y: np.ndarray) -> float:
    inter = len(np.intersect1d(x, y, assume_unique=True))
    return inter / (len(x) + len(y) - inter)


def near_duplicate_groups(texts: Sequence[str], threshold: float = THRESHOLD
                          ) -> NDArray[np.int64]:
    """A group id per document (0.. in order of first appearance).  Documents are taken in
    order; each joins the group of the first earlier *group leader* (a document that opened a
    group) whose 5-gram set it shares a Jaccard similarity >= ``threshold`` with, else opens
    a group.  Comparing with leaders, not with every member, keeps similarity from chaining
    through a corpus: independent sentences of a small vocabulary resemble their neighbours,
    but a family of near-copies resembles its first member.

    Example:
        >>> near_duplicate_groups(["Weißt Du was, ich nenne Dich Harald. -- Biene Maya",
        ...                        "Weißt Du was, ich nenne Dich Klaus. -- Biene Maya",
        ...                        "Ein ganz anderer Satz."]).tolist()
        [0, 0, 1]
    """
    sets = [shingles(t) for t in texts]
    n = len(sets)
    candidates: list[set[int]] = [set() for _ in range(n)]  # earlier documents sharing a band
    if n > 1:
        sig = _signatures(sets)
        for band in range(BANDS):
            _, inverse = np.unique(sig[:, band * ROWS:(band + 1) * ROWS], axis=0,
                                   return_inverse=True)
            inverse = inverse.ravel()
            order = np.argsort(inverse, kind="stable")
            bounds = np.flatnonzero(np.diff(inverse[order])) + 1
            for bucket in np.split(order, bounds):
                for x in range(1, len(bucket)):
                    candidates[int(bucket[x])].update(int(i) for i in bucket[:x])
    group = np.full(n, -1, dtype=np.int64)
    leader = np.zeros(n, dtype=bool)
    for j in range(n):
        for i in sorted(candidates[j]):
            if leader[i] and _jaccard(sets[i], sets[j]) >= threshold:
                group[j] = group[i]
                break
        if group[j] < 0:
            group[j] = int(leader.sum())
            leader[j] = True
    return group


def merge_groups(*labels: Sequence[Hashable | None] | NDArray[np.int64]) -> NDArray[np.int64]:
    """Group ids of the finest grouping that keeps together every pair of documents that
    any of ``labels`` (one label per document each; None: no group) puts together; ids 0..
    in order."""
    n = len(labels[0])
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for lab in labels:
        first: dict[Hashable, int] = {}
        for i, g in enumerate(lab):
            if g is None:
                continue
            j = first.setdefault(g, i)
            if j != i:
                parent[find(i)] = find(j)
    ids: dict[int, int] = {}
    return np.array([ids.setdefault(find(i), len(ids)) for i in range(n)], dtype=np.int64)


_GROUPS: OrderedDict[tuple[str, tuple[str | None, ...]], NDArray[np.int64]] = OrderedDict()
_HELD = 64  # corpora whose groups are kept (random-unit reruns ask about the same corpus)


def corpus_groups(corpus: Any) -> NDArray[np.int64]:
    """The resampling group of each document of ``corpus``: its declared group
    (``Corpus.groups``) joined with its near-copies (:func:`near_duplicate_groups`);
    remembered by the corpus's content hash."""
    key = (corpus.hash, corpus.groups)
    if key in _GROUPS:
        _GROUPS.move_to_end(key)
        return _GROUPS[key]
    near = near_duplicate_groups(corpus.texts)
    out = merge_groups(near, corpus.groups) if corpus.groups else near
    out.flags.writeable = False
    _GROUPS[key] = out
    while len(_GROUPS) > _HELD:
        _GROUPS.popitem(last=False)
    return out


def group_summary(corpus: Any) -> Any:
    """For a record: how many resampling groups ``corpus`` has, how many documents are in a
    group of more than one, and whether groups were declared."""
    g = corpus_groups(corpus)
    sizes = np.bincount(g)
    return {"groups": int(len(sizes)), "docs_in_shared_groups": int(sizes[sizes > 1].sum()),
            "largest_group": int(sizes.max()), "declared": bool(corpus.groups)}
