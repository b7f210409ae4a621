"""Unit names: ``L3N669`` (MLP neuron), ``L10H7`` (attention head), ``L1F880`` (SAE feature).

Parsing knows nothing of models; :func:`check_unit` validates a unit against a
model's dimensions and says the valid range when it is out of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, Union

from neurospec.errors import InvalidUnit, UnitOutOfRange

# [0-9], not \d: \d also matches other scripts' digits ('L0N٢٣٠' would read as L0N230).
_PATTERN = re.compile(r"^L(?P<layer>[0-9]+)(?P<kind>[NHF])(?P<index>[0-9]+)$")
_KINDS = {"N": "neuron", "H": "head", "F": "feature"}


@dataclass(frozen=True, order=True)
class _Unit:
    """A unit: ``index`` within block ``layer``, named ``L{layer}{LETTER}{index}``."""

    layer: int
    index: int
    LETTER: ClassVar[str] = ""

    @property
    def name(self) -> str:
        return f"L{self.layer}{self.LETTER}{self.index}"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, order=True)
class _Hooked(_Unit):
    """A unit read at one TransformerLens hook of its block (``HOOK``, with ``{layer}``)."""

    HOOK: ClassVar[str] = ""

    @property
    def hook(self) -> str:
        return self.HOOK.format(layer=self.layer)


@dataclass(frozen=True, order=True)
class Neuron(_Hooked):
    """Neuron ``index`` of the MLP in block ``layer`` (post-nonlinearity, ``mlp.hook_post``)."""

    LETTER: ClassVar[str] = "N"
    HOOK: ClassVar[str] = "blocks.{layer}.mlp.hook_post"


@dataclass(frozen=True, order=True)
class Head(_Hooked):
    """Attention head ``index`` of block ``layer`` (a query head under grouped-query
    attention); measured at ``attn.hook_z``, its output before ``W_O``."""

    LETTER: ClassVar[str] = "H"
    HOOK: ClassVar[str] = "blocks.{layer}.attn.hook_z"


@dataclass(frozen=True, order=True)
class Feature(_Unit):
    """Feature ``index`` of the SAE attached at block ``layer``."""

    LETTER: ClassVar[str] = "F"


Unit = Union[Neuron, Head, Feature]


def parse_unit(text: str) -> Unit:
    """Parse a unit name.

    Args:
        text: ``L<layer>N<neuron>``, ``L<layer>H<head>`` or ``L<layer>F<feature>``.

    Returns:
        A :class:`Neuron`, :class:`Head` or :class:`Feature`.

    Example:
        >>> parse_unit("L3N669")
        Neuron(layer=3, index=669)
    """
    if isinstance(text, (Neuron, Head, Feature)):
        return text
    if not isinstance(text, str):
        raise InvalidUnit(f"a unit name must be a string like 'L3N669', got {type(text).__name__} "
                          f"{text!r}", value=text)
    m = _PATTERN.match(text.strip())
    if m is None:
        raise InvalidUnit(
            f"{text!r} is not a unit name; expected L<layer>N<neuron> (e.g. 'L3N669'), "
            f"L<layer>H<head> (e.g. 'L10H7') or L<layer>F<feature> (e.g. 'L1F880')", value=text)
    cls = {"N": Neuron, "H": Head, "F": Feature}[m["kind"]]
    return cls(int(m["layer"]), int(m["index"]))


def _of_kind(text: Any, cls: type, example: str) -> Any:
    unit = parse_unit(text)
    if not isinstance(unit, cls):
        kind = cls.__name__.lower()
        raise InvalidUnit(f"{unit.name!r} is a {type(unit).__name__.lower()}, not a {kind}; "
                          f"write {kind}s as L<layer>{cls.LETTER}<index>, e.g. {example!r}",
                          value=text)
    return unit


def neuron(text: str | Neuron) -> Neuron:
    """Parse a neuron name such as ``'L3N669'``; anything else is an :class:`InvalidUnit`."""
    return _of_kind(text, Neuron, "L3N669")


def head(text: str | Head) -> Head:
    """Parse a head name such as ``'L10H7'``."""
    return _of_kind(text, Head, "L10H7")


class HasShape(Protocol):
    n_layers: int
    d_mlp: int
    n_heads: int
    name: str


def check_unit(unit: Unit, model: HasShape) -> Unit:
    """Raise :class:`UnitOutOfRange` unless ``unit`` exists in ``model``; return it."""
    if not 0 <= unit.layer < model.n_layers:
        raise UnitOutOfRange(
            f"{unit.name}: layer {unit.layer} does not exist in {model.name}, which has "
            f"layers 0..{model.n_layers - 1}", value=unit)
    size = {Neuron: model.d_mlp, Head: model.n_heads}.get(type(unit))
    if size is not None and not 0 <= unit.index < size:
        what = "neuron" if isinstance(unit, Neuron) else "head"
        raise UnitOutOfRange(
            f"{unit.name}: {what} {unit.index} does not exist in layer {unit.layer} of "
            f"{model.name}, which has {what}s 0..{size - 1}", value=unit)
    return unit
