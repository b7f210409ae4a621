"""Path claims through transcoder features: ``expect(A, transcoder=tc).drives(T, via=B, ...)``
claims that A drives T through B (``A -> B -> T``; ``T`` a later feature or ``logit(" Berlin")``):
each edge holds as ``drives()`` decides an edge, and so does the path as a whole, whose effect
is A's linear effect on T carried through B only (:mod:`neurospec.measure.transcoder_paths`).

Why ``drives(..., via=...)``: a path claim is an edge claim with features in between; it
keeps ``drives()``'s source (``expect``'s unit), target, corpus, threshold and baseline, and
adds what only a path has (``via``, one threshold per edge in ``edges_at_least``).  Edges
whose own thresholds hold do not make a path: A may drive B where B is shut, or where B's
effect on T is small, so the path is measured and decided by itself.

Every part is decided on the same document resamples (one seed): the mean per token of the
corpus's summed effects, a studentized bootstrap over documents with Student floors
(:mod:`neurospec.stats.ratio`).  The claim passes only when
every edge and the path pass (an intersection of claims: its p-value is the largest part's);
a part whose CI cannot be computed fails it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurospec.claims import checks
from neurospec.claims.charts import null_chart
from neurospec.claims.verdict import decide
from neurospec.data.corpus import Corpus
from neurospec.errors import InvalidArgument
from neurospec.evidence.payloads import Charts, Details, Histogram, PathEdge
from neurospec.evidence.record import Record
from neurospec.stats.inference import percentile_among


@dataclass(frozen=True)
class Part:
    """One decided part of a path claim (an edge, or the path)."""

    name: str
    estimate: float
    ci: tuple[float, float]
    p: float
    threshold: float
    verdict: str
    missed: str


def per_token(means: np.ndarray) -> np.ndarray:
    """Rows ``[summed effect, counted tokens]`` of means -> the mean effect per token."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out: np.ndarray = means[..., 0] / means[..., 1]
    return out


def decide_part(name: str, sums: np.ndarray, tokens: np.ndarray, threshold: float,
                seed: int) -> Part:
    """The mean per token of ``sums`` (per document) against ``threshold`` (``>=``); the CI
    resamples documents (:func:`~neurospec.stats.ratio.ratio_ci`; ``seed`` fixes the
    resamples, shared by the parts of one claim).  An undefined CI fails with p = 1."""
    from neurospec.stats.ratio import ratio_ci

    est = ratio_ci(sums, tokens, seed=seed, threshold=threshold)
    verdict, missed = decide(est.ci, threshold, ">=", est.undefined)
    p = est.p_value if math.isfinite(est.p_value) and not est.undefined else 1.0
    return Part(name, est.estimate, est.ci, p, threshold, verdict, missed)


def decide_path(edges: Sequence[Part], path: Part) -> tuple[str, str, float]:
    """Verdict, what was missed (each failing part named) and p (the largest part's)."""
    parts = [*edges, path]
    failed = [f"{x.name}: {x.missed}" for x in parts if x.verdict != "pass"]
    return ("pass" if not failed else "fail", "; ".join(failed), max(x.p for x in parts))


def edge_thresholds(edges_at_least: Any, n: int, names: list[str]) -> list[float]:
    """One threshold per edge: a number for each (a sequence) or one number for all."""
    if edges_at_least is None:
        raise InvalidArgument(f"drives(..., via=...) decides each edge too: pass "
                              f"edges_at_least=[...] with one threshold per edge "
                              f"({', '.join(names)}; each in its target's units), e.g. "
                              f"edges_at_least={[0.05] * n}", value=None)
    if isinstance(edges_at_least, (int, float)):
        values = [edges_at_least] * n
    else:
        values = list(edges_at_least)
    if len(values) != n:
        raise InvalidArgument(f"edges_at_least has {len(values)} thresholds for {n} edges "
                              f"({', '.join(names)}); give one per edge", value=edges_at_least)
    return [checks.threshold("edges_at_least", v) for v in values]


def _edge_record(part: Part, unit: str, randoms: list[float] | None) -> PathEdge:
    out: PathEdge = {"source": part.name.split(" -> ")[0], "target": part.name.split(" -> ")[1],
                     "effect": part.estimate, "ci": list(part.ci), "threshold": part.threshold,
                     "verdict": part.verdict, "missed": part.missed, "p": part.p, "unit": unit}
    if randoms:
        out["random_k"] = len(randoms)
        out["random_percentile"] = percentile_among(part.estimate, np.array(randoms))
        out["random_median"] = float(np.median(randoms))
    return out


def path_claim(exp: Any, target: Any, via: Sequence[str], c: Corpus, threshold: float,
               edges_at_least: Any, transcoder: Any, against_random: int) -> Record:
    """The record of ``exp.drives(target, via=via, ...)`` (see the module); with no ``via``,
    an edge to a logit (kind ``transcoder_edge``)."""
    from neurospec.claims.charts import top_contexts
    from neurospec.claims.rerun import baseline_details, check_k, random_units
    from neurospec.data.tokens import tokenize
    from neurospec.measure.activations import UnitActivations
    from neurospec.measure.transcoder import check_transcoder, load_transcoder
    from neurospec.measure.transcoder_paths import Logit, Step, path_effects, token_id
    from neurospec.units import TranscoderFeature, parse_unit

    def feature(name: str) -> tuple[TranscoderFeature, Any]:
        u = parse_unit(name)
        if not isinstance(u, TranscoderFeature):
            raise InvalidArgument(f"drives(): {name!r} is not a transcoder feature; a path "
                                  f"runs through features of later blocks, e.g. 'L1T3'",
                                  value=name)
        return u, check_transcoder(exp.model, load_transcoder(
            exp.loaded if transcoder is None else transcoder, search=exp.ctx.sae_dirs), u)

    mids = [feature(v) for v in via]
    if isinstance(target, Logit):
        end: Any = token_id(exp.model, target)
        end_name, unit_label = str(target), "logit"
    else:
        t_unit, t_tc = feature(target)
        end, end_name, unit_label = Step(t_tc, t_unit.index), str(t_unit), "pre-activation"
    names = [str(exp.unit), *(str(u) for u, _ in mids), end_name]
    edge_names = [f"{a} -> {b}" for a, b in zip(names, names[1:])]
    is_path = bool(mids)
    thresholds = (edge_thresholds(edges_at_least, len(edge_names), edge_names) if is_path
                  else [threshold])
    chain = " -> ".join(names)
    claim = (f"{chain}: path effect per token of {c.name} >= {threshold:g}, each edge holding "
             f"({', '.join(f'{e} >= {t:g}' for e, t in zip(edge_names, thresholds))})"
             if is_path else f"{exp.unit} drives {end_name} directly: mean direct effect per "
                             f"token of {c.name} >= {threshold:g}")
    kind = "transcoder_path" if is_path else "transcoder_edge"
    data = checks.data_of(c)
    if weak := exp.scope.underpowered(claim, kind, {c.name: len(c)}, data):
        return weak  # type: ignore[no-any-return]
    units = [(exp.unit, exp.sae), *mids]
    rerun = exp.scope.rerun
    randoms: list[list[Any]] = [[] for _ in units]
    if against_random and not rerun:
        for k, (u, tc) in enumerate(units):
            check_k(exp.model, u, against_random, tc, "against_random")
            randoms[k] = random_units(exp.model, u, against_random, exp.scope.seed, tc)
    steps = [Step(tc, u.index, tuple(r.index for r in rs))
             for (u, tc), rs in zip(units, randoms)]
    eff = path_effects(exp.model, steps, end, c)
    seed = exp.scope.seed
    edges = [decide_part(n, e[0], eff.tokens, t, seed)
             for n, e, t in zip(edge_names, eff.edges, thresholds)]
    whole = decide_part(chain, eff.path[0], eff.tokens, threshold, seed) if is_path else edges[0]
    verdict, missed, p = decide_path(edges if is_path else [], whole)
    units_of = ["pre-activation"] * len(mids) + [unit_label]
    total = eff.tokens.sum()
    base = [[float(x) for x in e[1:].sum(1) / total] for e in eff.edges]
    details: Details = {"units_label": f"({unit_label})", "transcoder": exp.sae.source,
                        "path": names}
    if isinstance(end, int):
        details["target_token_id"] = end
    if is_path:
        details["path_edges"] = [_edge_record(x, u, b) for x, u, b in zip(edges, units_of, base)]
    charts: Charts = {}
    percentile = None
    path_base = [float(x) for x in eff.path[1:].sum(1) / total]
    if path_base:
        percentile = percentile_among(whole.estimate, np.array(path_base))
        details.update(baseline_details(whole.estimate, path_base, against_random,
                                        percentile))
        charts["null"] = null_chart(
            f"{'path' if is_path else 'direct'} effect on {end_name} per token of {c.name}: "
            f"{exp.unit} vs {len(path_base)} random sources"
            f"{' through ' + ', '.join(names[1:-1]) if is_path else ''}", whole.estimate,
            path_base, [u.name for u in randoms[0]])
    if not rerun:  # the card: per-document effects, and where the path's effect comes from
        per_doc = np.maximum(eff.tokens, 1)
        charts["histogram"] = {
            "title": f"{'path' if is_path else 'direct'} effect of {chain}: mean per token of "
                     f"each document of {c.name}",
            "sets": {c.name: [float(x) for x in eff.path[0] / per_doc]}, "unit": unit_label}
        if is_path:
            charts["edge_histograms"] = [Histogram(
                title=f"edge {n}: mean direct effect per token of each document of {c.name}",
                sets={c.name: [float(x) for x in e[0] / per_doc]}, unit=u, threshold=t)
                for n, e, u, t in zip(edge_names, eff.edges, units_of, thresholds)]
        tcz = tokenize(exp.model, c)
        acts = UnitActivations(exp.unit, c, eff.by_source, eff.source_tokens, tcz.truncated)
        charts["contexts"] = {
            "title": f"where the {'path' if is_path else 'edge'}'s effect comes from: documents "
                     f"of {c.name} with the largest effect from one {exp.unit} token (each "
                     f"token's share of the {'path' if is_path else 'direct'} effect)",
            "items": top_contexts(exp.model, acts, c.name, 3)}
    return exp.scope.record(  # type: ignore[no-any-return]
        claim=claim, kind=kind, data=data, n=len(c), effect=whole.estimate, ci=whole.ci, p=p,
        threshold=threshold, direction=">=", metric="path_effect" if is_path else
        "direct_effect", verdict=verdict, missed=missed,
        method="direct linear effects (attention patterns, norm scales and MLP outputs frozen "
               "after the source's block), summed over source positions, per target token"
               + ("; the path through each intermediate feature's gate" if is_path else "")
               + "; studentized bootstrap over documents with Student floors (one set of "
                 "resamples for all parts)",
        details=details, charts=charts, percentile=percentile)
