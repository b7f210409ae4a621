"""The base of the per-unit expectations: parse and check the unit, hold the
:class:`~neurospec.claims.runner.Runner`, end claims through it, and say which claims belong
to another kind of unit when one is called on the wrong kind."""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

from neurospec.claims import context, statements
from neurospec.claims.result import ClaimResult
from neurospec.claims.runner import Runner
from neurospec.errors import WrongUnitKind
from neurospec.units import check_unit, parse_unit

# claim methods of each kind of unit, for a helpful error on the wrong kind
CLAIMS_OF: dict[str, frozenset[str]] = {
    "neuron": frozenset({"activates_more", "top_examples_come_from", "simplifies",
                         "optimised_prompts_reach", "fires_on", "updates_more",
                         "updates_more_for_wrong_answers", "writes_tokens", "ablated"}),
    "head": frozenset({"ablated", "ablation_raises_loss", "direct_effect_favours_repeats"}),
    "feature": frozenset({"activates_more", "depends_on"}),
}


def stating(obj: Any, text: str, parent: Any = None) -> Any:
    """``obj``, a builder that was constructed without error, with the statement that tracks
    whether a claim is stated on it (:mod:`neurospec.claims.statements`): a statement of the
    test's own, or one built from ``parent``'s (``.ablated(...)`` on an expectation)."""
    if parent is None:
        said = statements.opened(text, statements.claim_names(type(obj)))
    elif parent.run.statement is not None:
        said = parent.run.statement.open_child(parent.run.statement.text + text,
                                                statements.claim_names(type(obj)))
    else:
        return obj  # a rerun's builder: not the test's statement
    obj.run = replace(obj.run, statement=said)
    return obj


class Stated:
    """An object a test states claims on.  It remembers the last claim method looked up on
    it and whether one was called, so that a test that builds it and states nothing is told
    which call is missing (:mod:`neurospec.claims.statements`)."""

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        if name[:1] == "_" or not callable(value):
            return value
        run = self.__dict__.get("run")  # absent while __init__ runs
        st = None if run is None else run.statement
        if st is None or name not in st.choices:
            return value
        st.looked_up = name

        @functools.wraps(value)
        def call(*args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            st.called()
            return value(*args, **kwargs)
        return call


class Expectation(Stated):
    """Claims about one unit of one model (see the subclass for the unit's kind)."""

    kind = "unit"

    def __init__(self, unit: Any, model: Any = None, sae: Any = None) -> None:
        unit = parse_unit(unit)
        model = context.model_or_current(model)
        check_unit(unit, model)
        self.run = Runner(unit, model, context.current(), sae)

    @property
    def unit(self) -> Any:
        return self.run.unit

    @property
    def model(self) -> Any:
        return self.run.model

    @property
    def ctx(self) -> context.Context:
        return self.run.ctx

    @property
    def sae(self) -> Any:
        return self.run.sae

    def _with_unit(self, unit: Any) -> "Expectation":
        """The same expectation about another unit of the same kind (for reruns)."""
        return type(self)(unit, self.model, sae=self.sae)

    def _conclude(self, record, call) -> ClaimResult:
        __tracebackhide__ = True
        return self.run.conclude(record, call)

    def __getattr__(self, name: str) -> Any:
        said = self.__dict__.get("run")
        if said is not None and said.statement is not None and not name.startswith("_"):
            said.statement.called()  # a claim was attempted: the error below says what is wrong
        owners = [k for k, names in CLAIMS_OF.items() if name in names and k != self.kind]
        if owners and not name.startswith("_"):
            owner = owners[0]
            raise WrongUnitKind(f"{self.unit.name!r} is a {self.kind}, not a {owner}: {name}() is "
                                f"a claim about {' and '.join(o + 's' for o in owners)} (write {owner}s as "
                                f"L<layer>{owner[0].upper()}<index>)", value=self.unit.name)
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")
