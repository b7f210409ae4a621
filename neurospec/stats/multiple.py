"""Many claims in one run: Holm's step-down correction.

Each claim's p-value tests it against its own threshold (see
:mod:`neurospec.stats.inference`), so Holm controls the chance that *any* false claim of
the run passes.  :func:`holm_levels` gives each claim the one-sided level its CI must be
recomputed at; :func:`holm_decisions` applies the step-down rule to the re-decided claims.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from neurospec.evidence.record import Record


def holm(p_values: NDArray[np.float64] | list[float]) -> NDArray[np.float64]:
    """Holm-adjusted p-values (family-wise error control, any dependence between claims).

    Sorted ascending, ``p_(i)`` becomes ``max_{j <= i} min(1, (m - j + 1) p_(j))``; a claim
    keeps its verdict at level alpha iff its adjusted p-value is <= alpha.  NaN p-values
    (claims without a test) stay NaN and do not count towards ``m``.
    """
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(scaled)
    return out


def holm_levels(p_values: NDArray[np.float64] | list[float], alpha: float
                ) -> NDArray[np.float64]:
    """The level each claim is tested at in Holm's step-down: the claim with the j-th
    smallest p (0-based) of ``m`` gets ``alpha / (m - j)``; NaN for claims without a p."""
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    out[order] = alpha / (len(ok) - np.arange(len(ok)))
    return out


def holm_decisions(p_values: NDArray[np.float64] | list[float],
                   holds: NDArray[np.bool_] | list[bool]) -> NDArray[np.bool_]:
    """Step-down: a claim holds after correction iff it holds at its :func:`holm_levels`
    level and so does every claim with a smaller p.  Claims without a p keep ``holds``.

    Args:
        holds: per claim, whether it passes when re-decided at its Holm level.
    """
    p = np.asarray(p_values, dtype=np.float64)
    holds = np.asarray(holds, dtype=bool)
    out = holds.copy()
    ok = np.flatnonzero(np.isfinite(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    out[order] = np.logical_and.accumulate(holds[order])
    return out


def holm_records(records: list[Record], alpha: float) -> tuple[list[Record], list[Record]]:
    """The records with Holm-adjusted p-values, and those of them that it demotes: a passing
    claim whose adjusted p exceeds ``alpha`` becomes a failure (the plugin applies this once
    every claim of the run has finished, before anything is rendered)."""

    def p_of(r: Record) -> float:
        return float(r.p) if isinstance(r.p, (int, float)) else float("nan")

    adjusted = holm([p_of(r) for r in records])
    tested = int(np.isfinite(adjusted).sum())
    out, demoted = [], []
    for r, adj in zip(records, adjusted):
        if np.isfinite(adj):
            r = replace(r, p_adjusted=float(adj))
            if r.verdict == "pass" and adj > alpha:
                r = replace(r, verdict="fail", missed=f"Holm-adjusted p={adj:.3g} > {alpha} "
                                                      f"across the run's {tested} claims")
                demoted.append(r)
        out.append(r)
    return out, demoted
