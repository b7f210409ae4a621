"""The same claim on other units: random-unit baselines and the vacuity check.

Every unit claim method is a function that measures and returns a :class:`Record`; the
:func:`unit_claim` decorator then concludes the claim (emit or raise) and remembers the call.
A rerun calls that same function on the claims object built for a random unit of the same
layer (``owner.for_unit(unit)``: same arguments, same data, same seed, a scope marked as a
rerun) and keeps the records it returns: nothing is emitted and nothing is raised.

- :func:`baseline`: the unit's percentile among ``k`` random units, measured the same way,
  and the p-value ``(1 + #{units at least as extreme}) / (k + 1)``
  (``ClaimResult.beats_random_units``);
- :func:`vacuity`: with ``--neurospec-vacuity K``, how many of ``K`` random units also
  pass a claim that passed; the record is flagged ``vacuous`` when the Clopper-Pearson
  lower bound of that pass rate exceeds 5%, and left "not checked" when no unit could be
  measured.

Random units come from one seeded stream, :func:`random_units`, which ``against_random=k``
uses too.  Measurements of other units of the same layer share the cached per-layer
activations, so a baseline of activation claims costs no new forward pass.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Concatenate, ParamSpec, TypeVar

import numpy as np

from neurospec.claims.charts import null_chart
from neurospec.errors import InvalidArgument, NeurospecError
from neurospec.evidence.payloads import Details
from neurospec.evidence.record import Record
from neurospec.stats.inference import percentile_among
from neurospec.units import Unit, kind_of, layer_size, unit_kinds

VACUITY_RATE = 0.05  # a claim passing for more than this share of random units is vacuous

P = ParamSpec("P")
C = TypeVar("C")


@dataclass(frozen=True)
class Call:
    """A unit claim call: the object it was made on, the claim function, its arguments."""

    owner: Any
    fn: Callable[..., Record]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]

    def record_for(self, unit: Unit) -> Record | None:
        """The record this call produces for ``unit``, as a rerun (nothing concluded, no
        example charts); None when it errors."""
        try:
            return self.fn(self.owner.for_unit(unit), *self.args, **self.kwargs)
        except NeurospecError:
            return None

    def parameters(self) -> list[str]:
        return list(inspect.signature(self.fn).parameters)[1:]  # without self

    def changed(self, **changes: Any) -> Call:
        """The same call with the arguments in ``changes`` replaced (all as keywords)."""
        bound = inspect.signature(self.fn).bind(self.owner, *self.args, **self.kwargs)
        kwargs = dict(bound.arguments)
        kwargs.pop(next(iter(kwargs)))  # self
        return Call(self.owner, self.fn, (), {**kwargs, **changes})


def unit_claim(fn: Callable[Concatenate[C, P], Record]) -> Callable[Concatenate[C, P], Any]:
    """Make a claim method from a function that measures and returns its record: the method
    concludes the claim (:func:`neurospec.claims.conclude.conclude`) and returns its
    :class:`~neurospec.claims.result.ClaimResult`; on a chain of claims about one ablation it
    returns the chain (``.raises_loss(...).and_not_on(...)``).  The function stays reachable
    as ``method.measure`` (the claim as a plain function, for reruns and tests)."""
    def method(self: C, /, *args: P.args, **kwargs: P.kwargs) -> Any:
        __tracebackhide__ = True
        record = fn(self, *args, **kwargs)
        # C is any claim class; each defines concluded() (Expectation, AblatedUnit)
        return self.concluded(record, Call(self, fn, args, kwargs))  # type: ignore[attr-defined]
    functools.update_wrapper(method, fn)
    # an attribute on the function object, which typeshed's Callable does not declare
    method.measure = fn  # type: ignore[attr-defined]
    return method


def call_corpus(call: Call) -> Any:
    """The corpus a call is about (its ``on=`` or ``corpus=`` argument), or None."""
    params = inspect.signature(call.fn).bind(call.owner, *call.args, **call.kwargs).arguments
    return params.get("on", params.get("corpus"))


def random_units(model: Any, unit: Unit, k: int, seed: int, sae: Any = None) -> list[Unit]:
    """``k`` distinct random units of ``unit``'s layer and kind, never ``unit`` itself
    (fewer when the layer has fewer), drawn reproducibly from ``seed`` and the unit."""
    size = layer_size(unit, model, sae)
    tag = list(unit_kinds()).index(kind_of(unit))  # neurons 0, heads 1, features 2 ...
    rng = np.random.default_rng([seed, tag, unit.layer, unit.index])
    pool = np.array([i for i in range(size) if i != unit.index])
    chosen = sorted(int(i) for i in rng.choice(pool, size=min(k, len(pool)), replace=False))
    return [type(unit)(unit.layer, i) for i in chosen]


def check_k(model: Any, unit: Unit, k: int, sae: Any = None, what: str = "k") -> int:
    """``k`` random units must exist besides ``unit`` in its layer."""
    others = layer_size(unit, model, sae) - 1
    if k > others:
        raise InvalidArgument(f"{what}={k}: layer {unit.layer} has only {others} other "
                              f"{kind_of(unit).name}s than {unit}; ask for at most {others}",
                              value=k)
    return k


def signed(direction: str, value: float) -> float:
    """Map an effect so that larger is better in the claim's direction."""
    if direction == "<=":
        return -value
    if direction == "within":
        return -abs(value)
    return value


def percentile_of(record: Record, values: list[float]) -> float:
    """``record``'s unit's percentile among ``values`` in the claim's direction."""
    return percentile_among(signed(record.direction, record.effect),
                            np.array([signed(record.direction, v) for v in values]))


def random_p(value: float, null: list[float], direction: str = ">=") -> float:
    """``(1 + #{null at least as extreme as value}) / (len(null) + 1)`` in the claim's
    direction (NaN when there is no null)."""
    if not null:
        return float("nan")
    mine = signed(direction, value)
    return (1 + sum(signed(direction, v) >= mine for v in null)) / (len(null) + 1)


def baseline_details(value: float, null: list[float], requested: int, percentile: float,
                     direction: str = ">=") -> Details:
    """The details every random-unit baseline records: how many random units were measured
    (and asked for), the unit's percentile among them, the rank p and their median."""
    return {"random_k": len(null), "random_k_requested": requested,
            "random_percentile": percentile, "random_p": random_p(value, null, direction),
            "random_median": float(np.median(null)) if null else float("nan")}


def rerun_many(call: Call, units: list[Unit]) -> list[tuple[Unit, Record]]:
    """``call``'s records for ``units`` that reached a verdict with a finite effect.  A claim
    object may measure all the units at once first (``prefetch(call, units)``, e.g. ablations
    as one stacked replay); each rerun then reads its share."""
    prefetch = getattr(call.owner, "prefetch", None)
    if prefetch is not None:
        prefetch(call, units)
    out = []
    for u in units:
        r = call.record_for(u)
        if r is not None and r.verdict in ("pass", "fail") and np.isfinite(r.effect):
            out.append((u, r))
    return out


def baseline(record: Record, call: Call, k: int, seed: int, model: Any,
             sae: Any = None) -> tuple[Record, list[tuple[Unit, Record]]]:
    """``record`` with the unit's percentile among ``k`` random units of its layer (the
    share of them it beats in the claim's direction) and their effects as a null chart."""
    unit = call.owner.unit
    runs = rerun_many(call, random_units(model, unit, check_k(model, unit, k, sae), seed, sae))
    values = [r.effect for _, r in runs]
    focal = record
    if record.details.get("sequential", {}).get("mode") == "sequential":
        # a rank test compares units on the same fixed documents: the reruns read every
        # document (fixed-n), so the unit itself is measured again the same way
        focal = call.record_for(unit) or record
    pct = percentile_of(focal, values)
    charts = record.charts.copy()
    charts["null"] = null_chart(
        f"{record.metric or 'effect'} of {unit} vs {len(values)} random units of layer "
        f"{unit.layer}, measured the same way", focal.effect, values, [u.name for u, _ in runs])
    details = record.details.copy()
    details.update(baseline_details(focal.effect, values, k, pct, record.direction))
    return replace(record, percentile=pct, details=details, charts=charts), runs


def is_vacuous(passed: int, k: int) -> bool | None:
    """Whether ``passed`` of ``k`` random units passing shows a pass rate above
    :data:`VACUITY_RATE` (its Clopper-Pearson lower bound, one-sided 97.5%, exceeds it);
    None ("not checked") when no random unit was measured."""
    from neurospec.stats.proportion import share_ci

    return None if k == 0 else share_ci(passed, k).ci[0] > VACUITY_RATE


def vacuity(record: Record, call: Call, k: int, seed: int, model: Any, strict: bool,
            sae: Any = None) -> Record:
    """``record`` flagged ``vacuous`` when random units of the same layer pass the same claim
    at a rate shown to exceed 5% (the one-sided 95% Clopper-Pearson lower bound of the pass
    rate among ``k`` of them is above 5%); ``vacuous`` stays None ("not checked") when no
    random unit could be measured.  Under ``strict`` a vacuous claim fails."""
    from neurospec.stats.proportion import share_ci

    unit = call.owner.unit
    k = min(k, layer_size(unit, model, sae) - 1)
    runs = rerun_many(call, random_units(model, unit, k, seed + 1, sae))
    passing = [u.name for u, r in runs if r.passed]
    rate = share_ci(len(passing), len(runs)) if runs else None
    vacuous = is_vacuous(len(passing), len(runs))
    details = record.details.copy()
    details["vacuity"] = {
        "k": len(runs), "requested": k, "passed": len(passing),
        "rate": rate.estimate if rate else float("nan"),
        "rate_lower_bound": rate.ci[0] if rate else float("nan"),
        "checked": rate is not None, "passing_units": passing[:20], "limit": VACUITY_RATE}
    charts = record.charts.copy()
    if "null" not in charts and runs:
        charts["null"] = null_chart(
            f"{record.metric or 'effect'} of {unit} vs {len(runs)} random units of layer "
            f"{unit.layer} (vacuity check)", record.effect, [r.effect for _, r in runs],
            [u.name for u, _ in runs])
    pct = record.percentile
    if pct is None and runs:  # the reruns are a null distribution too
        pct = percentile_of(record, [r.effect for _, r in runs])
    out = replace(record, vacuous=vacuous, details=details, charts=charts, percentile=pct)
    if vacuous and strict:
        out = replace(out, verdict="fail", missed=(
            f"vacuous: the same claim also holds for {len(passing)} of {len(runs)} random units "
            f"of layer {unit.layer} ({', '.join(passing[:5])}"
            f"{', ...' if len(passing) > 5 else ''}), so it does not single out {unit}; raise "
            f"the threshold or require "
            f".beats_random_units(percentile=...)"))
    return out
