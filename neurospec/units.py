"""Unit names and unit kinds: ``L3N669`` (MLP neuron), ``L10H7`` (attention head),
``L1F880`` (SAE feature), ``L0T12`` (transcoder feature), and any kind registered with
:func:`register_unit_kind`.

A unit kind is declared once, as a :class:`UnitKind`: its letter, the class of its units,
the hook it is read at, how many units a layer has, the class of claims about it, and how it
is ablated.  Parsing, range checks, ``expect()``, random-unit baselines, claim specs and
reports all read the registry; adding a kind edits no other module.  Parsing knows nothing
of models; :func:`check_unit` validates a unit against a model's dimensions.

Example, a residual-stream basis direction (``L1R5``: coordinate 5 of
``blocks.1.hook_resid_post``)::

    @dataclass(frozen=True, order=True)
    class ResidualDirection(HookedUnit):
        LETTER: ClassVar[str] = "R"
        HOOK: ClassVar[str] = "blocks.{layer}.hook_resid_post"

    register_unit_kind(UnitKind(
        name="residual direction", unit_class=ResidualDirection,
        size=lambda model, sae: model.d_model,
        expectation="neurospec.claims.hooked:HookedExpectation", ablation="column"))
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from neurospec.errors import InvalidArgument, InvalidUnit, UnitOutOfRange

# [0-9], not \d: \d also matches other scripts' digits ('L0N٢٣٠' would read as L0N230).
_PATTERN = re.compile(r"^L(?P<layer>[0-9]+)(?P<kind>[A-Z])(?P<index>[0-9]+)$")


@dataclass(frozen=True, order=True)
class Unit:
    """A unit: ``index`` within block ``layer``, named ``L{layer}{LETTER}{index}``."""

    layer: int
    index: int
    LETTER: ClassVar[str] = ""

    @property
    def name(self) -> str:
        return f"L{self.layer}{self.LETTER}{self.index}"

    @property
    def kind(self) -> UnitKind:
        """The registered kind of this unit."""
        return kind_of(self)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, order=True)
class HookedUnit(Unit):
    """A unit read at one hook of its block (``HOOK``, with ``{layer}``): coordinate
    ``index`` of that hook's last dimension."""

    HOOK: ClassVar[str] = ""

    @property
    def hook(self) -> str:
        return self.HOOK.format(layer=self.layer)


@dataclass(frozen=True, order=True)
class Neuron(HookedUnit):
    """Neuron ``index`` of the MLP in block ``layer`` (post-nonlinearity, ``mlp.hook_post``)."""

    LETTER: ClassVar[str] = "N"
    HOOK: ClassVar[str] = "blocks.{layer}.mlp.hook_post"


@dataclass(frozen=True, order=True)
class Head(HookedUnit):
    """Attention head ``index`` of block ``layer`` (a query head under grouped-query
    attention); measured at ``attn.hook_z``, its output before ``W_O``."""

    LETTER: ClassVar[str] = "H"
    HOOK: ClassVar[str] = "blocks.{layer}.attn.hook_z"


@dataclass(frozen=True, order=True)
class Feature(Unit):
    """Feature ``index`` of the SAE attached at block ``layer``."""

    LETTER: ClassVar[str] = "F"


@dataclass(frozen=True, order=True)
class TranscoderFeature(Unit):
    """Feature ``index`` of the transcoder of block ``layer`` (it reads that block's MLP input
    and writes to its MLP output, and to later blocks' for a cross-layer transcoder)."""

    LETTER: ClassVar[str] = "T"


class HasShape(Protocol):
    n_layers: int
    d_model: int
    d_mlp: int
    n_heads: int
    name: str


@dataclass(frozen=True)
class UnitKind:
    """One kind of unit, declared once.

    Attributes:
        name: what the kind is called in messages ("neuron").
        unit_class: the class of its units (its ``LETTER`` names them: ``L3N669``).
        size: how many units of this kind a layer has, ``size(model, sae)``.
        expectation: the class of claims about such units, or its ``"module:Class"`` path
            (imported when first used, so that parsing a name loads no torch).
        ablation: how a unit is ablated: ``"column"`` (its coordinate of the hook is set),
            ``"head"`` (its slice of ``hook_z``), ``"sae"`` (through its SAE),
            ``"transcoder"`` (inside the transcoder replacement), or ``""``
            (no ablation claims).
        needs_sae: claims about it need an SAE (``expect(unit, sae=...)``).
        example: a name for messages ("L3N669").
    """

    name: str
    unit_class: type[Unit]
    size: Callable[[Any, Any], int]
    expectation: Any
    ablation: str = "column"
    needs_sae: bool = False
    example: str = ""

    @property
    def letter(self) -> str:
        return self.unit_class.LETTER

    def expectation_class(self) -> type:
        """The claims class, imported on first use."""
        exp = self.expectation
        if isinstance(exp, str):
            module, _, name = exp.partition(":")
            exp = getattr(importlib.import_module(module), name)
        if not isinstance(exp, type):
            raise InvalidArgument(f"unit kind {self.name!r}: its expectation {exp!r} is not a "
                                  f"class", value=exp)
        return exp


_KINDS: dict[str, UnitKind] = {}


def register_unit_kind(kind: UnitKind, *, replace: bool = False) -> UnitKind:
    """Add a unit kind to the registry (its letter must be new unless ``replace``).

    Raises:
        InvalidArgument: the letter is taken, not one upper-case letter, or the class is not
            a :class:`Unit`.
    """
    letter = kind.letter
    if not (isinstance(kind.unit_class, type) and issubclass(kind.unit_class, Unit)):
        raise InvalidArgument(f"unit kind {kind.name!r}: unit_class must be a subclass of "
                              f"neurospec.units.Unit", value=kind.unit_class)
    if not re.fullmatch(r"[A-Z]", letter or ""):
        raise InvalidArgument(f"unit kind {kind.name!r}: its letter {letter!r} must be one "
                              f"upper-case letter (set LETTER on its class)", value=letter)
    if letter in _KINDS and not replace and _KINDS[letter] != kind:
        raise InvalidArgument(f"unit kind letter {letter!r} is taken by "
                              f"{_KINDS[letter].name!r}; choose another letter", value=letter)
    _KINDS[letter] = kind
    return kind


def unregister_unit_kind(letter: str) -> None:
    """Remove a registered kind (for tests that register one of their own)."""
    _KINDS.pop(letter, None)


def unit_kinds() -> tuple[UnitKind, ...]:
    """Every registered kind, in the order they were registered."""
    return tuple(_KINDS.values())


def kind_of(unit: Unit) -> UnitKind:
    """The registered kind of ``unit`` (by its class's letter)."""
    kind = _KINDS.get(type(unit).LETTER)
    if kind is None or not isinstance(unit, kind.unit_class):
        raise InvalidUnit(f"{unit!r} is of no registered unit kind", value=unit)
    return kind


def _described() -> str:
    """``L<layer>N<neuron> (e.g. 'L3N669'), L<layer>H<head> (e.g. 'L10H7') or ...``."""
    parts = [f"L<layer>{k.letter}<{k.name.split()[-1]}>" + (f" (e.g. {k.example!r})" if k.example
                                                              else "") for k in _KINDS.values()]
    return ", ".join(parts[:-1]) + f" or {parts[-1]}" if len(parts) > 1 else parts[0]


def parse_unit(text: str | Unit) -> Unit:
    """Parse a unit name.

    Args:
        text: ``L<layer><letter><index>`` for a registered kind: ``L3N669`` (neuron),
            ``L10H7`` (head), ``L1F880`` (SAE feature) ...

    Returns:
        A unit of the kind the letter names.

    Example:
        >>> parse_unit("L3N669")
        Neuron(layer=3, index=669)
    """
    if isinstance(text, Unit):
        return text
    if not isinstance(text, str):
        raise InvalidUnit(f"a unit name must be a string like 'L3N669', got {type(text).__name__} "
                          f"{text!r}", value=text)
    m = _PATTERN.match(text.strip())
    if m is None or m["kind"] not in _KINDS:
        raise InvalidUnit(f"{text!r} is not a unit name; expected {_described()}", value=text)
    return _KINDS[m["kind"]].unit_class(int(m["layer"]), int(m["index"]))


def _of_kind(text: Any, cls: type[Unit], example: str) -> Any:
    unit = parse_unit(text)
    if not isinstance(unit, cls):
        kind = cls.__name__.lower()
        raise InvalidUnit(f"{unit.name!r} is a {type(unit).__name__.lower()}, not a {kind}; "
                          f"write {kind}s as L<layer>{cls.LETTER}<index>, e.g. {example!r}",
                          value=text)
    return unit


def neuron(text: str | Neuron) -> Neuron:
    """Parse a neuron name such as ``'L3N669'``; anything else is an :class:`InvalidUnit`."""
    unit: Neuron = _of_kind(text, Neuron, "L3N669")
    return unit


def head(text: str | Head) -> Head:
    """Parse a head name such as ``'L10H7'``."""
    unit: Head = _of_kind(text, Head, "L10H7")
    return unit


def layer_size(unit: Unit, model: Any, sae: Any = None) -> int:
    """How many units of ``unit``'s kind its layer has in ``model`` (or ``sae``)."""
    return kind_of(unit).size(model, sae)


def check_unit(unit: Unit, model: HasShape, sae: Any = None) -> Unit:
    """Raise :class:`UnitOutOfRange` unless ``unit`` exists in ``model``; return it.  A kind
    whose size needs an SAE is checked against it when one is given."""
    if not 0 <= unit.layer < model.n_layers:
        raise UnitOutOfRange(
            f"{unit.name}: layer {unit.layer} does not exist in {model.name}, which has "
            f"layers 0..{model.n_layers - 1}", value=unit)
    kind = kind_of(unit)
    if kind.needs_sae and sae is None:
        return unit
    size = kind.size(model, sae)
    if not 0 <= unit.index < size:
        raise UnitOutOfRange(
            f"{unit.name}: {kind.name} {unit.index} does not exist in layer {unit.layer} of "
            f"{model.name}, which has {kind.name}s 0..{size - 1}", value=unit)
    return unit


NEURON = register_unit_kind(UnitKind(
    name="neuron", unit_class=Neuron, size=lambda model, sae: model.d_mlp,
    expectation="neurospec.claims.expect:NeuronExpectation", ablation="column",
    example="L3N669"))
HEAD = register_unit_kind(UnitKind(
    name="head", unit_class=Head, size=lambda model, sae: model.n_heads,
    expectation="neurospec.claims.head_claims:HeadExpectation", ablation="head",
    example="L10H7"))
FEATURE = register_unit_kind(UnitKind(
    name="feature", unit_class=Feature, size=lambda model, sae: sae.d_sae,
    expectation="neurospec.claims.sae_claims:FeatureExpectation", ablation="sae",
    needs_sae=True, example="L1F880"))
TRANSCODER_FEATURE = register_unit_kind(UnitKind(
    name="transcoder feature", unit_class=TranscoderFeature, size=lambda model, tc: tc.d_tc,
    expectation="neurospec.claims.transcoder_claims:TranscoderExpectation",
    ablation="transcoder", needs_sae=True, example="L0T12"))
