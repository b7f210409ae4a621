"""Claims about a unit read as one coordinate of a hook: an MLP neuron, or any kind
registered with ``ablation="column"`` (a residual-stream direction, a head's output
coordinate ...).  The activation contrast and the ablation claims need nothing else of the
kind than its hook and its size.

Example, after registering a kind (see :mod:`neurospec.units`)::

    expect("L1R5").activates_more(on=corpus("german"), than=corpus("english"),
                                  auroc_at_least=0.6)
    expect("L1R5").ablated(to="mean", over=corpus("english")).raises_loss(
        on=corpus("german"), by_at_least=0.01).beats_random_units(k=20)
"""

from __future__ import annotations

from typing import Any

from neurospec.claims import activation_claims, checks
from neurospec.claims.column_ablation import ColumnAblated
from neurospec.claims.expectation import Expectation, stating
from neurospec.data.corpus import Corpus
from neurospec.measure.activations import UnitActivations, unit_activations
from neurospec.units import kind_of


class HookedExpectation(Expectation):
    """Claims about one unit read as one coordinate of its hook."""

    ABLATED: type[ColumnAblated] = ColumnAblated  # the class of its ablation claims

    def __init__(self, unit: Any, model: Any = None, sae: Any = None) -> None:
        super().__init__(unit, model)  # an SAE means nothing for a unit read at a hook

    @property
    def kind(self) -> str:  # type: ignore[override]  # the registered kind of the unit
        return kind_of(self.unit).name

    activates_more = activation_claims.activates_more

    def _acts(self, corpus: Corpus) -> UnitActivations:
        return unit_activations(self.model, corpus, self.unit)

    def ablated(self, to: str | float = "mean", over: Corpus | str | None = None) -> Any:
        """Ablate the unit: ``to='zero'``, ``'mean'`` or ``'resample'`` (over a reference
        corpus), or a fixed number; then state what that does with the returned chain's
        claims (``raises_loss``, ``and_not_on``, ``runs_through`` ...)."""
        ref = checks.maybe_corpus(over)
        return stating(self.ABLATED(self, to, ref), self.ABLATED._said(to, ref), parent=self)
