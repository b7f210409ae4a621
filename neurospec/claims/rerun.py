"""The same claim on other units: random-unit baselines and the vacuity check.

A claim about one unit means little if random units of the same layer pass it too.  Every
unit claim method is wrapped by :func:`unit_claim`, which remembers the call; the helpers
here re-run that exact call (same arguments, same data, same seed) with the unit swapped
for random units of the same layer, silently: no record is emitted and nothing is raised,
the rerun's record is handed back instead.

- :func:`baseline`: the unit's percentile among ``k`` random units, measured the same way
  (``ClaimResult.beats_random_units`` and ``Ablated.beats_random_units`` use it);
- :func:`vacuity`: with ``--neurospec-vacuity K``, how many of ``K`` random units also
  pass a claim that passed; more than 5% flags the record ``vacuous``.

Measurements of other units of the same layer share the cached per-layer activations, so a
baseline of activation claims costs no new forward pass.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from neurospec.errors import NeurospecError
from neurospec.evidence.record import Record
from neurospec.stats.inference import percentile_among
from neurospec.units import Feature, Head, Neuron

VACUITY_RATE = 0.05  # a claim passing for more than this share of random units is vacuous


@dataclass(frozen=True)
class Call:
    """A unit claim call: the object it was made on, the method, its arguments."""

    owner: Any
    fn: Callable
    args: tuple
    kwargs: dict

    def on(self, unit: Any) -> Record | None:
        """The record this call produces for ``unit`` (None when it errors)."""
        with _quiet_block() as box:
            try:
                self.fn(self.owner._with_unit(unit), *self.args, **self.kwargs)
            except _Done:
                pass
            except NeurospecError:
                return None
        return box[0] if box else None


class _Done(Exception):
    """Raised by a claim's finish in quiet mode, carrying nothing (the record is boxed)."""


_call: contextvars.ContextVar[Call | None] = contextvars.ContextVar("neurospec_call",
                                                                   default=None)
_quiet: contextvars.ContextVar[list | None] = contextvars.ContextVar("neurospec_quiet",
                                                                    default=None)


def unit_claim(fn: Callable) -> Callable:
    """Mark a claim method whose unit can be swapped (remembers the call for reruns)."""
    @functools.wraps(fn)
    def wrapper(self, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        if _quiet.get() is not None:
            return fn(self, *args, **kwargs)
        token = _call.set(Call(self, fn, args, kwargs))
        try:
            return fn(self, *args, **kwargs)
        finally:
            _call.reset(token)
    return wrapper


def current_call() -> Call | None:
    return _call.get()


def quiet() -> bool:
    """True while a claim is being re-run for another unit (skip costly extras then)."""
    return _quiet.get() is not None


def finish_quietly(record: Record) -> None:
    """In quiet mode, hand the record to the rerun and stop the claim."""
    box = _quiet.get()
    if box is not None:
        box.append(record)
        raise _Done()


@contextlib.contextmanager
def _quiet_block() -> Iterator[list]:
    box: list = []
    token = _quiet.set(box)
    try:
        yield box
    finally:
        _quiet.reset(token)


def random_units(model: Any, unit: Any, k: int, seed: int, sae: Any = None) -> list:
    """``k`` distinct random units of ``unit``'s layer and type, never ``unit`` itself
    (fewer when the layer has fewer), drawn reproducibly from ``seed`` and the unit."""
    size = {Neuron: model.d_mlp, Head: model.n_heads}.get(type(unit))
    if isinstance(unit, Feature):
        size = sae.d_sae
    kind = {Neuron: 0, Head: 1, Feature: 2}[type(unit)]
    rng = np.random.default_rng([seed, kind, unit.layer, unit.index])
    pool = np.array([i for i in range(size) if i != unit.index])
    chosen = sorted(int(i) for i in rng.choice(pool, size=min(k, len(pool)), replace=False))
    return [type(unit)(unit.layer, i) for i in chosen]


def beats(record: Record, other: Record) -> bool:
    """Whether ``record``'s unit does better than ``other``'s in the claim's direction."""
    if record.direction == "<=":
        return record.effect < other.effect
    if record.direction == "within":
        return abs(record.effect) < abs(other.effect)
    return record.effect > other.effect


def _signed(record: Record, value: float) -> float:
    """Map an effect so that larger is better in the claim's direction."""
    if record.direction == "<=":
        return -value
    if record.direction == "within":
        return -abs(value)
    return value


def rerun_many(call: Call, units: list) -> list[tuple[Any, Record]]:
    out = []
    for u in units:
        r = call.on(u)
        if r is not None and r.verdict in ("pass", "fail") and np.isfinite(r.effect):
            out.append((u, r))
    return out


def baseline(record: Record, call: Call, k: int, seed: int, model: Any,
             sae: Any = None) -> tuple[Record, list[tuple[Any, Record]]]:
    """``record`` with the unit's percentile among ``k`` random units of its layer (the
    share of them it beats in the claim's direction) and their effects as a null chart."""
    unit = call.owner.unit
    runs = rerun_many(call, random_units(model, unit, k, seed, sae))
    values = [r.effect for _, r in runs]
    pct = percentile_among(_signed(record, record.effect), [_signed(record, v) for v in values])
    charts = dict(record.charts)
    charts["null"] = {"title": f"{record.metric or 'effect'} of {unit} vs {len(values)} random "
                               f"units of layer {unit.layer}, measured the same way",
                      "unit_value": record.effect, "values": values,
                      "units": [u.name for u, _ in runs]}
    details = {**record.details, "random_k": len(values), "random_percentile": pct,
               "random_median": float(np.median(values)) if values else float("nan")}
    return replace(record, percentile=pct, details=details, charts=charts), runs


def vacuity(record: Record, call: Call, k: int, seed: int, model: Any, strict: bool,
            sae: Any = None) -> Record:
    """``record`` flagged ``vacuous`` when more than 5% of ``k`` random units of the same
    layer pass the same claim; under ``strict`` a vacuous claim fails."""
    unit = call.owner.unit
    runs = rerun_many(call, random_units(model, unit, k, seed + 1, sae))
    passing = [u.name for u, r in runs if r.passed]
    rate = len(passing) / len(runs) if runs else float("nan")
    vacuous = bool(runs) and rate > VACUITY_RATE
    details = {**record.details, "vacuity": {
        "k": len(runs), "passed": len(passing), "rate": rate, "passing_units": passing[:20],
        "limit": VACUITY_RATE}}
    charts = dict(record.charts)
    if "null" not in charts and runs:
        charts["null"] = {"title": f"{record.metric or 'effect'} of {unit} vs {len(runs)} random "
                                   f"units of layer {unit.layer} (vacuity check)",
                          "unit_value": record.effect, "values": [r.effect for _, r in runs],
                          "units": [u.name for u, _ in runs]}
    pct = record.percentile
    if pct is None and runs:  # the reruns are a null distribution too
        pct = percentile_among(_signed(record, record.effect),
                               [_signed(record, r.effect) for _, r in runs])
    out = replace(record, vacuous=vacuous, details=details, charts=charts, percentile=pct)
    if vacuous and strict:
        out = replace(out, verdict="fail", missed=(
            f"vacuous: the same claim also holds for {len(passing)} of {len(runs)} random units "
            f"of layer {unit.layer} ({', '.join(passing[:5])}{', ...' if len(passing) > 5 else ''}),"
            f" so it does not single out {unit}; raise the threshold or require "
            f".beats_random_units(percentile=...)"))
    return out
