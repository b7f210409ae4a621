"""Token-level effect sizes with CIs that resample whole documents (tokens of one document are
not independent, so the document -- or a group of near-copies -- is the unit of resampling).

- :func:`token_auroc_ci`: the chance that a counted token of set A activates more than one of
  set B (ties count 1/2);
- :func:`token_d_ci`: the difference of token means over the token standard deviation of the
  two sets weighted equally, ``sqrt((var_A + var_B) / 2)`` (each set's token variance with
  ddof 1): unlike a d of document means it does not grow with document length, and unlike a
  token-count-weighted pooled SD it does not change when one set is larger (the German neuron
  on the bundled German and English corpora: 1.58 for 1000 vs 200 documents, 3.57 for 200 vs
  1000 and 2.01 for 200 vs 200 with the pooled SD; 2.04, 1.95 and 1.94 with equal weights,
  which move only with the documents drawn).

Both CIs are a studentized bootstrap over documents with a Satterthwaite and small-sample
floor (:mod:`neurospec.stats.cluster_t`), the AUROC's on the logit scale.  ``groups`` (a
group id per document, one array per set) makes each group one resampling unit: its
documents' tokens are pooled (near-copies, documents of one template).  A CI that cannot be
computed (no spread) is NaN, which fails a claim; a sample whose every document is perfectly
separated gets the exact bound of :func:`_separated`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence

import numpy as np
from numpy.typing import NDArray

from neurospec.errors import InvalidArgument
from neurospec.stats.bootstrap import claim_p
from neurospec.stats.cluster_t import (
    IDENTITY,
    ClusterT,
    Influence,
    StatSE,
    cluster_t,
    logit_scale,
)
from neurospec.stats.grouping import GroupIds
from neurospec.stats.inference import CONFIDENCE, Estimate

N_RESAMPLES = 2000
Groups = tuple[GroupIds, GroupIds] | None  # a group id per document of A and of B


def _flat(docs: Sequence[NDArray[np.float64]], name: str
          ) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    docs = [np.asarray(d, dtype=np.float64).ravel() for d in docs]
    sizes = np.array([len(d) for d in docs])
    if len(docs) == 0 or sizes.sum() == 0:
        raise InvalidArgument(f"set {name} has no counted tokens", value=len(docs))
    return np.concatenate(docs), np.repeat(np.arange(len(docs)), sizes)


def pool_groups(docs: Sequence[NDArray[np.float64]], groups: GroupIds | None
                ) -> list[NDArray[np.float64]]:
    """The documents' token arrays with each group's documents concatenated (groups in order
    of first appearance); the documents themselves when ``groups`` is None."""
    docs = [np.asarray(d, dtype=np.float64).ravel() for d in docs]
    if groups is None:
        return docs
    if len(groups) != len(docs):
        raise InvalidArgument(f"{len(groups)} group ids for {len(docs)} documents",
                              value=len(groups))
    out: dict[Hashable, list[NDArray[np.float64]]] = {}
    for d, g in zip(docs, groups):
        out.setdefault(g, []).append(d)
    return [np.concatenate(v) for v in out.values()]


def _pair_counts(a: NDArray[np.float64], da: NDArray[np.int64], n_a: int,
                 b: NDArray[np.float64], db: NDArray[np.int64], n_b: int, group: int = 64
                 ) -> NDArray[np.float64]:
    """``[n_a, n_b]``: for A's document i and B's document j, the pairs of a token of i above
    a token of j (ties 1/2).  With ``C[k, i]`` = tokens of document i among the k smallest of
    A, a token y of B is below ``n_i - C[right(y), i]`` tokens of i and ties
    ``C[right(y), i] - C[left(y), i]``; documents of A go ``group`` at a time to bound memory."""
    order = np.argsort(a, kind="stable")
    a_sorted, doc_sorted = a[order], da[order]
    left = np.searchsorted(a_sorted, b, "left")
    right = np.searchsorted(a_sorted, b, "right")
    na = np.bincount(da, minlength=n_a).astype(np.float64)
    nb = np.bincount(db, minlength=n_b).astype(np.float64)
    out = np.empty((n_a, n_b))
    present = np.flatnonzero(nb)  # B's tokens come grouped by document, in order
    starts = np.concatenate([[0], np.cumsum(nb)[:-1]]).astype(np.int64)[present]
    for start in range(0, n_a, group):
        docs = np.arange(start, min(start + group, n_a))
        c = np.zeros((len(a) + 1, len(docs)), dtype=np.int64)
        np.cumsum(doc_sorted[:, None] == docs[None], axis=0, out=c[1:])
        s = c[left] + c[right]  # [b tokens, group]
        per_b = np.zeros((n_b, len(docs)))
        per_b[present] = np.add.reduceat(s, starts, axis=0)
        out[docs] = na[docs, None] * nb[None] - 0.5 * per_b.T
    return out


def pair_counts(a_docs: Sequence[NDArray[np.float64]], b_docs: Sequence[NDArray[np.float64]]
                ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(pairs ``[n_a, n_b]``, A's token counts, B's token counts) of two sets of documents:
    everything the token AUROC of any subsets of them needs (:func:`auroc_from_pairs`)."""
    a, da = _flat(a_docs, "A")
    b, db = _flat(b_docs, "B")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise InvalidArgument("token AUROC of non-finite values", value="nan/inf")
    return (_pair_counts(a, da, len(a_docs), b, db, len(b_docs)),
            np.bincount(da, minlength=len(a_docs)).astype(np.float64),
            np.bincount(db, minlength=len(b_docs)).astype(np.float64))


def _auc_se(pairs: NDArray[np.float64], na: NDArray[np.float64], nb: NDArray[np.float64]
            ) -> tuple[StatSE, Influence]:
    """The closed forms of the AUROC and its cluster-robust SE for document weights."""
    n_a, n_b = pairs.shape

    def parts(wa: NDArray[np.float64], wb: NDArray[np.float64]
              ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        rows, cols = wb @ pairs.T, wa @ pairs  # [m, n_a], [m, n_b]
        ta, tb = wa @ na, wb @ nb
        th = np.einsum("mi,mi->m", wa, rows) / (ta * tb)
        ia = (rows / tb[:, None] - th[:, None] * na[None]) / ta[:, None]
        ib = (cols / ta[:, None] - th[:, None] * nb[None]) / tb[:, None]
        return th, ia, ib

    def stat_se(wa: NDArray[np.float64], wb: NDArray[np.float64]
                ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        th, ia, ib = parts(wa, wb)
        var = (np.einsum("mi,mi->m", wa, ia * ia) * n_a / max(n_a - 1, 1)
               + np.einsum("mi,mi->m", wb, ib * ib) * n_b / max(n_b - 1, 1))
        return th, np.sqrt(var)

    def influence() -> list[NDArray[np.float64]]:
        _, ia, ib = parts(np.ones((1, n_a)), np.ones((1, n_b)))
        return [ia[0], ib[0]]
    return stat_se, influence


def auroc_from_pairs(pairs: NDArray[np.float64], na: NDArray[np.float64],
                     nb: NDArray[np.float64], *, seed: int = 0,
                     n_resamples: int = N_RESAMPLES, confidence: float = CONFIDENCE,
                     null: float = 0.5, direction: str = ">=") -> Estimate:
    """:func:`token_auroc_ci` from :func:`pair_counts` (of these documents, or rows and
    columns of a larger set's)."""
    n_a, n_b = pairs.shape
    est = float(pairs.sum() / (na.sum() * nb.sum()))
    what = "token AUROC"
    if n_a < 2 or n_b < 2:
        return _nan(est, n_a + n_b, what, "fewer than 2 documents (groups) in a set")
    stat_se, influence = _auc_se(pairs, na, nb)
    if est in (0.0, 1.0):
        return _separated(est, n_a, n_b, confidence, null, direction)
    engine = cluster_t(stat_se, influence, n_a, n_b, seed=seed, n_resamples=n_resamples,
                       scale=logit_scale(0.5 / (na.sum() * nb.sum())))
    return _decided(engine, est, n_a, n_b, confidence, null, direction, what)


def token_auroc_ci(a_docs: Sequence[NDArray[np.float64]], b_docs: Sequence[NDArray[np.float64]],
                   *, seed: int = 0, n_resamples: int = N_RESAMPLES,
                   confidence: float = CONFIDENCE, null: float = 0.5, direction: str = ">=",
                   groups: Groups = None) -> Estimate:
    """Token AUROC of A over B with a studentized CI resampling whole documents of each set.

    The Mann-Whitney count splits into document pairs, ``U[i, j]`` = pairs of a token of
    A's document i above a token of B's document j (ties 1/2); a resample with document
    counts ``wa``, ``wb`` has ``AUROC = wa @ U @ wb / ((wa @ na) (wb @ nb))`` and a
    cluster-robust SE in closed form: exact for every resample, without re-ranking tokens.

    Args:
        a_docs, b_docs: per-document arrays of counted-token values.
        null: the threshold the one-sided p-value tests against ("AUROC >= null").
        groups: a group id per document of A and of B; a group is resampled as one.

    Example:
        >>> token_auroc_ci([np.array([2., 3.])] * 10, [np.array([0., 1.])] * 10).estimate
        1.0
    """
    a_docs = pool_groups(a_docs, None if groups is None else groups[0])
    b_docs = pool_groups(b_docs, None if groups is None else groups[1])
    pairs, na, nb = pair_counts(a_docs, b_docs)
    return auroc_from_pairs(pairs, na, nb, seed=seed, n_resamples=n_resamples,
                            confidence=confidence, null=null, direction=direction)


def _separated(est: float, n_a: int, n_b: int, confidence: float, null: float,
               direction: str) -> Estimate:
    """Every token of every document of one set above every token of the other's (AUROC
    exactly 1, or 0): no spread to resample.  The bound assumes the worst of what was not
    seen: with ``k`` of ``n`` documents of a set separating, the share of such documents is
    at least ``(a / 2) ** (1 / n)`` (exact binomial bound at level a / 2 per set), and a
    document that does not separate counts as an inversion of all its pairs."""
    def bound(alpha: float) -> float:
        # float ** float is Any in typeshed (complex for a negative base; alpha > 0 here)
        miss: float = sum(1 - (alpha / 2) ** (1 / n) for n in (n_a, n_b))
        return max(0.0, 1 - miss) if est == 1.0 else min(1.0, miss)

    alpha = (1 - confidence) / 2
    ci = (bound(alpha), 1.0) if est == 1.0 else (0.0, bound(alpha))

    def p(t: float, side: str) -> float:
        if (side == "lo") != (est == 1.0):  # the bound on the other side is the estimate
            return 1.0 if (t > est if side == "lo" else t < est) else 1 / (1 + N_RESAMPLES)
        lo, hi = 1e-12, 1.0  # the smallest level whose bound clears t (bound is monotone)
        clears: Callable[[float], bool] = ((lambda a: bound(a) >= t) if side == "lo"
                                           else (lambda a: bound(a) <= t))
        if not clears(hi):
            return 1.0
        for _ in range(60):
            mid = math.sqrt(lo * hi)
            lo, hi = (lo, mid) if clears(mid) else (mid, hi)
        return hi

    return Estimate(est, ci, claim_p(p, null, direction), n_a + n_b,
                    "token AUROC; every document separated: exact binomial bound on the "
                    "share of separating documents")


def doc_sums(docs: Sequence[NDArray[np.float64]], centre: float) -> NDArray[np.float64]:
    """``[3, docs]``: token count, sum and sum of squares (values minus ``centre``) of each
    document: everything the token d of any subset needs (:func:`d_from_sums`)."""
    return np.array([[len(d), float(np.sum(d - centre)), float(np.sum((d - centre) ** 2))]
                     for d in docs], dtype=np.float64).T.reshape(3, len(docs))


def _d_se(sa: NDArray[np.float64], sb: NDArray[np.float64]) -> tuple[StatSE, Influence]:
    """Closed forms of the token d and its cluster-robust SE for document weights."""
    n_a, n_b = sa.shape[1], sb.shape[1]

    def parts(wa: NDArray[np.float64], wb: NDArray[np.float64]
              ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        out = []
        for w, (n, x, q) in ((wa, sa), (wb, sb)):
            tot = w @ n
            m = (w @ x) / tot
            ss = np.maximum(w @ q - tot * m * m, 0.0)
            var = ss / np.maximum(tot - 1, 1)
            dev = q[None] - 2 * m[:, None] * x[None] + (m * m)[:, None] * n[None]
            out.append((tot, m, var, (x[None] - m[:, None] * n[None]) / tot[:, None],
                        (dev - var[:, None] * n[None]) / tot[:, None]))
        (_, ma, va, mua, vra), (_, mb, vb, mub, vrb) = out
        s2 = (va + vb) / 2
        s = np.sqrt(s2)
        with np.errstate(divide="ignore", invalid="ignore"):
            d = (ma - mb) / s
            ia = mua / s[:, None] - d[:, None] * vra / (4 * s2[:, None])
            ib = -mub / s[:, None] - d[:, None] * vrb / (4 * s2[:, None])
        return np.where(s > 0, d, np.nan), ia, ib

    def stat_se(wa: NDArray[np.float64], wb: NDArray[np.float64]
                ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        d, ia, ib = parts(wa, wb)
        with np.errstate(invalid="ignore"):
            var = (np.einsum("mi,mi->m", wa, ia * ia) * n_a / max(n_a - 1, 1)
                   + np.einsum("mi,mi->m", wb, ib * ib) * n_b / max(n_b - 1, 1))
        return d, np.sqrt(var)

    def influence() -> list[NDArray[np.float64]]:
        _, ia, ib = parts(np.ones((1, n_a)), np.ones((1, n_b)))
        return [ia[0], ib[0]]
    return stat_se, influence


def d_from_sums(sa: NDArray[np.float64], sb: NDArray[np.float64], *, seed: int = 0,
                n_resamples: int = N_RESAMPLES, confidence: float = CONFIDENCE,
                null: float = 0.0, direction: str = ">=") -> Estimate:
    """:func:`token_d_ci` from :func:`doc_sums` of the two sets (one common centre)."""
    n_a, n_b = sa.shape[1], sb.shape[1]
    stat_se, influence = _d_se(sa, sb)
    est = float(stat_se(np.ones((1, n_a)), np.ones((1, n_b)))[0][0])
    what = "token mean difference / SD of the two sets' tokens weighted equally"
    if n_a < 2 or n_b < 2:
        return _nan(est, n_a + n_b, what, "fewer than 2 documents (groups) in a set")
    engine = cluster_t(stat_se, influence, n_a, n_b, seed=seed, n_resamples=n_resamples)
    return _decided(engine, est, n_a, n_b, confidence, null, direction, what)


def token_d_ci(a_docs: Sequence[NDArray[np.float64]], b_docs: Sequence[NDArray[np.float64]], *,
               seed: int = 0, n_resamples: int = N_RESAMPLES, confidence: float = CONFIDENCE,
               null: float = 0.0, direction: str = ">=", groups: Groups = None) -> Estimate:
    """``(mean of A's tokens - mean of B's tokens) / sqrt((var_A + var_B) / 2)`` with a
    studentized CI resampling whole documents (or ``groups``) of each set; NaN CI when the
    tokens have no variance."""
    a_docs = pool_groups(a_docs, None if groups is None else groups[0])
    b_docs = pool_groups(b_docs, None if groups is None else groups[1])
    a, _ = _flat(a_docs, "A")
    b, _ = _flat(b_docs, "B")
    centre = float(np.concatenate([a, b]).mean())  # centred sums keep SS = Q - S^2/N stable
    return d_from_sums(doc_sums(a_docs, centre), doc_sums(b_docs, centre), seed=seed,
                       n_resamples=n_resamples, confidence=confidence, null=null,
                       direction=direction)


def _nan(est: float, n: int, what: str, why: str) -> Estimate:
    return Estimate(est, (math.nan, math.nan), math.nan, n, what,
                    f"the CI of the {what} is undefined: {why}")


def _decided(engine: ClusterT | None, est: float, n_a: int, n_b: int, confidence: float,
             null: float, direction: str, what: str) -> Estimate:
    if engine is None:
        return _nan(est, n_a + n_b, what, "no spread (every document of a set alike)")
    alpha = (1 - confidence) / 2
    lo, hi = engine.bound("lo", alpha), engine.bound("hi", alpha)
    p = claim_p(engine.p_value, null, direction)
    scale = "" if engine.scale is IDENTITY else f" on the {engine.scale.name} scale"
    method = (f"{what}; studentized bootstrap over documents{scale}, bound no narrower than "
              f"Student's t with Satterthwaite df ({engine.df:.1f}) or at the two-sided 99% "
              f"level ({engine.n_min - 1} df)")
    undefined = "" if math.isfinite(lo) and math.isfinite(hi) else (
        f"the CI of the {what} is undefined: too many resamples without spread")
    return Estimate(est, (lo, hi), p, n_a + n_b, method, undefined)
