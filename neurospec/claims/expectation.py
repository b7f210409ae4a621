"""What a class of claims provides, and the base every per-unit class of claims builds on.

A class of claims about a unit kind (``NeuronExpectation``, ``HeadExpectation`` ...) is an
:class:`Expectation`: it holds a :class:`~neurospec.claims.conclude.Scope` (unit, model, run
settings, SAE), builds itself for another unit of the same kind for random-unit reruns
(:meth:`Expectation.for_unit`), and offers its claims as public methods, each made with
:func:`~neurospec.claims.rerun.unit_claim` (measure, return the record; the decorator
concludes it).  Which claims a kind offers is read off its class (:func:`claims_of`), never
kept by hand; the unit kind registry (:mod:`neurospec.units`) says which class a kind uses.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar, runtime_checkable

from neurospec.claims import context, statements
from neurospec.claims.conclude import Scope, conclude
from neurospec.errors import WrongUnitKind
from neurospec.evidence.record import Record
from neurospec.units import check_unit, parse_unit, unit_kinds

if TYPE_CHECKING:
    from neurospec.claims.rerun import Call
    from neurospec.claims.result import ClaimResult

S = TypeVar("S", bound="Stated")


@runtime_checkable
class ClaimSet(Protocol):
    """What any object claims are stated on provides: its scope, and itself built for
    another unit (a rerun for a random-unit baseline or the vacuity check)."""

    scope: Scope

    def for_unit(self, unit: Any) -> ClaimSet: ...


def claims_of(cls: type) -> frozenset[str]:
    """The claim methods (and builders such as ``ablated``) a class of claims offers."""
    return frozenset(statements.claim_names(cls))


def stating(obj: S, text: str, parent: Stated | None = None) -> S:
    """``obj``, a builder that was constructed without error, with the statement that tracks
    whether a claim is stated on it (:mod:`neurospec.claims.statements`): a statement of the
    test's own, or one built from ``parent``'s (``.ablated(...)`` on an expectation)."""
    if parent is None:
        said = statements.opened(text, statements.claim_names(type(obj)))
    elif parent.scope.statement is not None:
        said = parent.scope.statement.open_child(parent.scope.statement.text + text,
                                                  statements.claim_names(type(obj)))
    else:
        return obj  # a rerun's builder: not the test's statement
    obj.scope = replace(obj.scope, statement=said)
    return obj


class Stated:
    """An object a test states claims on.  It remembers the last claim method looked up on
    it and whether one was called, so that a test that builds it and states nothing is told
    which call is missing (:mod:`neurospec.claims.statements`)."""

    scope: Scope

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        if name[:1] == "_" or not callable(value):
            return value
        scope = self.__dict__.get("scope")  # absent while __init__ runs
        st = None if scope is None else scope.statement
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

    kind: ClassVar[str] = "unit"

    def __init__(self, unit: Any, model: Any = None, sae: Any = None) -> None:
        unit = parse_unit(unit)
        model = context.model_or_current(model)
        check_unit(unit, model)
        self.scope = Scope(unit, model, context.current(), sae)

    @property
    def unit(self) -> Any:
        return self.scope.unit

    @property
    def model(self) -> Any:
        return self.scope.model

    @property
    def ctx(self) -> context.Context:
        return self.scope.ctx

    @property
    def sae(self) -> Any:
        return self.scope.sae

    def concluded(self, record: Record, call: Call | None = None) -> ClaimResult:
        """Conclude a claim stated on this expectation (see :func:`conclude`)."""
        __tracebackhide__ = True
        return conclude(self.scope, record, call)

    def for_unit(self, unit: Any) -> Expectation:
        """The same expectation about another unit of the same kind, for a rerun (a
        random-unit baseline, the vacuity check): it concludes nothing."""
        other = type(self)(unit, self.model, sae=self.sae)
        other.scope = other.scope.for_rerun()
        return other

    def __getattr__(self, name: str) -> Any:
        scope = self.__dict__.get("scope")
        if scope is not None and scope.statement is not None and not name.startswith("_"):
            scope.statement.called()  # a claim was attempted: the error below says what is wrong
        owners = [k for k in unit_kinds() if k.name != self.kind and not name.startswith("_")
                  and name in claims_of(k.expectation_class())]
        if owners:
            owner = owners[0]
            kinds = " and ".join(f"{k.name}s" for k in owners)
            raise WrongUnitKind(f"{self.unit.name!r} is a {self.kind}, not a {owner.name}: "
                                f"{name}() is a claim about {kinds} (write {owner.name}s as "
                                f"L<layer>{owner.letter}<index>)", value=self.unit.name)
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")
