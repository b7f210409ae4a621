"""The assertion helpers: ``expect(unit)`` runs measurements, decides a verdict from the
confidence interval, records evidence (pass or fail) and raises a readable failure.

Example::

    expect(neuron("L1N417")).activates_more(on=corpus("german"), than=corpus("english"),
                                            effect_size_at_least=1.5)
    (expect(neuron("L1N417")).ablated(to="mean", over=corpus("english"))
        .raises_loss(on=corpus("german"), by_at_least=0.01)
        .and_not_on(corpus("english"), tolerance=0.005))
"""


from __future__ import annotations

from pathlib import Path
from typing import Any

from neurospec.claims import context
from neurospec.claims.ablated import Ablated
from neurospec.claims.activation_claims import ActivationClaims
from neurospec.claims.common import ClaimResult, _corpus, _underpowered
from neurospec.claims.head_claims import HeadClaims
from neurospec.claims.layer import LayerExpectation
from neurospec.claims.rerun import current_call, finish_quietly, vacuity
from neurospec.claims.sae_claims import SAEClaims
from neurospec.claims.verdict import failure_message
from neurospec.claims.weight_claims import WeightClaims
from neurospec.data.corpus import Corpus
from neurospec.errors import ClaimFailed, InvalidArgument, Underpowered
from neurospec.evidence.record import Record
from neurospec.evidence.sink import emit
from neurospec.measure.activations import neuron_activations
from neurospec.units import Neuron, check_unit, neuron, parse_unit

__all__ = ["Ablated", "ClaimResult", "LayerExpectation", "UnitExpectation", "expect", "expect_layer"]


def expect_layer(layer: int, model: Any = None) -> "LayerExpectation":
    """Start a claim about MLP ``layer`` as a whole (e.g. how concentrated an effect is)."""
    return LayerExpectation(layer, model)


def expect(unit: str | Neuron, model: Any = None, *, sae: Any = None) -> "UnitExpectation":
    """Start a claim about ``unit`` (a name such as ``'L1N417'`` or a parsed unit).

    Args:
        unit: the unit the claim is about.
        model: the model; under pytest the plugin supplies the test's model.
    """
    return UnitExpectation(unit, model, sae=sae)


class UnitExpectation(ActivationClaims, WeightClaims, HeadClaims, SAEClaims):
    """Claims about one unit of one model."""

    def __init__(self, unit: str | Neuron, model: Any = None, sae: Any = None) -> None:
        from neurospec.units import Feature

        self.unit = parse_unit(unit)
        self.model = context.model_or_current(model)
        check_unit(self.unit, self.model)
        self.ctx = context.current()
        self.sae = None
        if isinstance(self.unit, Feature):
            from neurospec.measure.sae import check_sae, load_sae

            if sae is None:
                raise InvalidArgument(f"{self.unit} is an SAE feature: pass sae=load_sae(path) "
                                      f"(or a path) to expect()", value=self.unit)
            self.sae = sae if not isinstance(sae, (str, Path)) else load_sae(sae)
            check_sae(self.model, self.sae, self.unit)

    def _acts(self, corpus: Corpus):
        if self.sae is not None:
            from neurospec.measure.sae import feature_activations

            return feature_activations(self.model, self.sae, corpus, self.unit)
        return neuron_activations(self.model, corpus, neuron(self.unit))

    def _record(self, **kw: Any) -> Record:
        return Record(unit=self.unit.name, model=self.model.info(), seed=self.ctx.seed,
                      test=self.ctx.test, **kw)

    def _with_unit(self, unit: Any) -> "UnitExpectation":
        """The same expectation about another unit (for random-unit reruns)."""
        return UnitExpectation(unit, self.model, sae=self.sae)

    def _finish(self, record: Record) -> ClaimResult:
        """Emit the record (after the vacuity check, when on) and raise if it failed."""
        __tracebackhide__ = True
        finish_quietly(record)  # a rerun for another unit: hand the record back, stop here
        call = current_call()
        # "within" claims (off-target damage) are meant to hold for most units: not checked
        if call is not None and record.passed and self.ctx.vacuity > 0 \
                and record.direction != "within":
            record = vacuity(record, call, self.ctx.vacuity, self.ctx.seed, self.model,
                             self.ctx.strict, self.sae)
        emit(record)
        if record.verdict == "underpowered":
            raise Underpowered(failure_message(record), record)
        if not record.passed:
            raise ClaimFailed(failure_message(record), record)
        return ClaimResult(record, call)

    def _enough(self, claim: str, kind: str, sets: dict[str, int], data: dict) -> Record | None:
        return _underpowered(claim, kind, self.unit.name, self.model, self.ctx, sets, data)

    def ablated(self, to: str | float = "mean", over: Corpus | str | None = None) -> "Ablated":
        """Ablate the neuron: ``to='zero'``, ``'mean'`` or ``'resample'`` (over a reference
        corpus), or a fixed number; then state what that does with :class:`Ablated`'s
        methods."""
        return Ablated(self, to, _corpus(over) if over is not None else None)
