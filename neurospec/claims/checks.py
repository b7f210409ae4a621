"""Argument checks shared by the claim methods: counts, thresholds, shares, corpora and
token sets.  Each raises :class:`~neurospec.errors.InvalidArgument` naming the argument,
its value and what to write instead."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, cast

from neurospec.claims import context
from neurospec.data.corpus import Corpus, load_corpus
from neurospec.errors import InvalidArgument
from neurospec.evidence.payloads import Data, FileOrigin

if TYPE_CHECKING:
    from neurospec.models.protocol import ModelBackend


def as_corpus(x: Corpus | str | list[str] | tuple[str, ...]) -> Corpus:
    """A corpus from a corpus, a dataset name, or a list of texts."""
    if isinstance(x, Corpus):
        return x
    if isinstance(x, str):
        return load_corpus(x, context.current().data_dirs)
    if isinstance(x, (list, tuple)):
        return Corpus.from_texts(x)
    raise InvalidArgument(f"expected a corpus (corpus('german'), a dataset name or a list of "
                          f"texts), got {type(x).__name__}", value=x)


def maybe_corpus(x: Corpus | str | list[str] | tuple[str, ...] | None) -> Corpus | None:
    return None if x is None else as_corpus(x)


def count(name: str, value: Any, minimum: int = 1, maximum: int | None = None, *,
          method: str = "") -> int:
    """An integer count in ``minimum..maximum`` (the one count check of every claim)."""
    ok = not isinstance(value, bool) and isinstance(value, int) and value >= minimum \
        and (maximum is None or value <= maximum)
    if not ok:
        span = f">= {minimum}" if maximum is None else f"{minimum}..{maximum}"
        arg = f"{name}={value!r}"
        label = f"{method}({arg})" if method else arg
        raise InvalidArgument(f"{label}: expected a count {span}", value=value)
    return int(value)


def threshold(name: str, value: Any, minimum: float = 0.0) -> float:
    """A finite number >= ``minimum`` (a claim's size; its direction is the method's)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value):
        raise InvalidArgument(f"{name}={value!r}: expected a finite number such as 0.05, "
                              f"not {type(value).__name__}", value=value)
    if value < minimum:
        raise InvalidArgument(f"{name}={value!r} must be >= {minimum}; state the claim's "
                              f"direction with the method (e.g. swap on= and than=) instead of "
                              f"a negative size", value=value)
    return float(value)


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond float range (10**400)
        return False


def share(name: str, value: Any) -> float:
    """A threshold that is a fraction: a share above 1 could never be reached."""
    out = threshold(name, value)
    if out > 1:
        raise InvalidArgument(f"{name}={value!r} is a share and must lie in [0, 1] "
                              f"(write 0.9 for 90%)", value=value)
    return out


def size(method: str, what: str, by_at_least: Any, effect_size_at_least: Any
         ) -> tuple[str, float, str]:
    """The metric, threshold and wording of a two-set claim given exactly one size."""
    if (by_at_least is None) == (effect_size_at_least is None):
        raise InvalidArgument(f"{method}: give exactly one of by_at_least= (difference of "
                              f"{what}) or effect_size_at_least= (Cohen's d)")
    if by_at_least is not None:
        t = threshold("by_at_least", by_at_least)
        return "mean_diff", t, f"by >= {t:g}"
    t = threshold("effect_size_at_least", effect_size_at_least)
    return "cohens_d", t, f"with Cohen's d >= {t:g}"


def token_set(model: ModelBackend, include: Any) -> set[int]:
    """Token ids from a list of single-token strings, or from a predicate on token strings."""
    from neurospec.measure.logit_attribution import single_token_ids

    if callable(include):
        strs = model.str_tokens(range(model.d_vocab))
        found = {i for i, t in enumerate(strs) if include(t)}
        if not found:
            raise InvalidArgument("the token predicate matches no token of the vocabulary",
                                  value=include)
        return found
    if isinstance(include, str) or not include:
        raise InvalidArgument("expected a non-empty list of token strings (e.g. [' und', ' der']) "
                              "or a predicate on token strings", value=include)
    return set(single_token_ids(model, list(include)))


def describe_set(include: Any) -> str:
    """A token set as a claim's text shows it."""
    if callable(include):
        return str(include.__doc__ or getattr(include, "__name__", "the selected tokens")).strip()
    items = list(include)
    return "{" + ", ".join(repr(t) for t in items[:8]) + (", ...}" if len(items) > 8 else "}")


def origin(corpus: Corpus) -> FileOrigin:
    """Where ``corpus`` came from, for a record's ``data.files``."""
    return cast(FileOrigin, corpus.origin())


def data_of(*corpora: Corpus | None) -> Data:
    """The ``data`` field of a record: names and hashes of the sets, documents of the first
    and its resampling groups (near-copies, declared groups), and each set's file (relative
    path) with the sha256 of its bytes."""
    from neurospec.data.near_duplicates import group_summary

    sets = [c for c in corpora if c is not None]
    return {"names": [c.name for c in sets], "hashes": [c.hash for c in sets],
            "docs": [len(sets[0])], "groups": [group_summary(sets[0])],
            "files": [origin(c) for c in sets]}
