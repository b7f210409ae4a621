"""What every chain of claims about one ablation shares: the chain itself
(``.raises_loss(...).and_not_on(...)``), the follow-ups on its last claim, and building the
same ablation of another unit for a rerun.

The kinds of ablation build on it: a unit read as one coordinate of a hook
(:mod:`neurospec.claims.column_ablation`, and neurons' own claims in
:mod:`neurospec.claims.neuron_ablation`) and attention heads
(:mod:`neurospec.claims.head_claims`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from neurospec.claims.conclude import conclude
from neurospec.claims.expectation import Expectation, Stated
from neurospec.claims.result import ClaimResult
from neurospec.data.corpus import Corpus
from neurospec.errors import InvalidArgument
from neurospec.evidence.record import Record

if TYPE_CHECKING:
    from neurospec.claims.rerun import Call


class AblatedUnit(Stated):
    """A chain of claims about one ablation of ``parent``'s unit."""

    def __init__(self, parent: Expectation, to: Any, over: Corpus | None) -> None:
        self.parent = parent
        self.model = parent.model
        self.scope = replace(parent.scope, statement=None)  # stating() gives it its own
        self.to, self.over = to, over
        self.results: list[ClaimResult] = []

    @property
    def unit(self) -> Any:
        return self.parent.unit

    @staticmethod
    def _said(to: Any, over: Corpus | None) -> str:
        """How the ablation reads in a statement: ``.ablated(to='mean', over='english')``."""
        return f".ablated(to={to!r}" + (f", over={over.name!r})" if over is not None else ")")

    def for_unit(self, unit: Any) -> AblatedUnit:
        """The same ablation of another unit, for a rerun."""
        return type(self)(self.parent.for_unit(unit), self.to, self.over)

    def concluded(self, record: Record, call: Call | None = None) -> AblatedUnit:
        """Conclude a claim of the chain; the chain goes on (``.and_not_on(...)``)."""
        __tracebackhide__ = True
        self.results.append(conclude(self.scope, record, call))
        return self

    def _too_few(self, corpus: Corpus, kind: str, claim: str) -> Record | None:
        """The underpowered record when ``corpus`` has too few documents, else None."""
        from neurospec.claims.checks import data_of

        return self.scope.underpowered(claim, kind, {corpus.name: len(corpus)},
                                       data_of(corpus, self.over))

    def _last(self, method: str) -> ClaimResult:
        if not self.results:
            raise InvalidArgument(f"{method}() follows a claim, e.g. "
                                  f".raises_loss(...).{method}(...)")
        return self.results[-1]

    def beats_random_units(self, k: int = 20, percentile: float = 95.0) -> AblatedUnit:
        """Require the last claim's unit to beat ``percentile`` % of ``k`` random units of its
        layer ablated the same way (see :meth:`ClaimResult.beats_random_units`)."""
        __tracebackhide__ = True
        self._last("beats_random_units").beats_random_units(k, percentile)
        return self

    def beats_percentile_of_layer(self, percentile: float = 95.0, k: int | None = None
                                  ) -> AblatedUnit:
        """Require the last claim's unit to beat ``percentile`` % of its layer ablated the same
        way (see :meth:`ClaimResult.beats_percentile_of_layer`)."""
        __tracebackhide__ = True
        self._last("beats_percentile_of_layer").beats_percentile_of_layer(percentile, k)
        return self

    def but_not_when(self, **changes: Any) -> AblatedUnit:
        """A matched negative for the last claim (see :meth:`ClaimResult.but_not_when`)."""
        __tracebackhide__ = True
        self._last("but_not_when").but_not_when(**changes)
        return self
