"""Unit names: ``L3N669`` (MLP neuron), ``L10H7`` (attention head), ``L1F880`` (SAE feature).

Parsing knows nothing of models; :func:`check_unit` validates a unit against a
model's dimensions and says the valid range when it is out of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol, Union

from neurospec.errors import InvalidUnit, UnitOutOfRange

# [0-9], not \d: \d also matches other scripts' digits ('L0N٢٣٠' would read as L0N230).
_PATTERN = re.compile(r"^L(?P<layer>[0-9]+)(?P<kind>[NHF])(?P<index>[0-9]+)$")
_KINDS = {"N": "neuron", "H": "head", "F": "feature"}


@dataclass(frozen=True, order=True)
class Neuron:
    """Neuron ``index`` of the MLP in block ``layer`` (post-nonlinearity, ``mlp.hook_post``)."""

    layer: int
    index: int

    @property
    def name(self) -> str:
        return f"L{self.layer}N{self.index}"

    @property
    def hook(self) -> str:
        return f"blocks.{self.layer}.mlp.hook_post"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, order=True)
class Head:
    """Attention head ``index`` of block ``layer`` (a query head under grouped-query
    attention); measured at ``attn.hook_z``, its output before ``W_O``."""

    layer: int
    index: int

    @property
    def name(self) -> str:
        return f"L{self.layer}H{self.index}"

    @property
    def hook(self) -> str:
        return f"blocks.{self.layer}.attn.hook_z"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, order=True)
class Feature:
    """Feature ``index`` of the SAE attached at block ``layer``."""

    layer: int
    index: int

    @property
    def name(self) -> str:
        return f"L{self.layer}F{self.index}"

    def __str__(self) -> str:
        return self.name


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


def neuron(text: str | Neuron) -> Neuron:
    """Parse a neuron name such as ``'L3N669'``; anything else is an :class:`InvalidUnit`."""
    unit = parse_unit(text)
    if not isinstance(unit, Neuron):
        raise InvalidUnit(f"{unit.name!r} is a {type(unit).__name__.lower()}, not a neuron; "
                          f"write neurons as L<layer>N<index>, e.g. 'L3N669'", value=text)
    return unit


def head(text: str | Head) -> Head:
    """Parse a head name such as ``'L10H7'``."""
    unit = parse_unit(text)
    if not isinstance(unit, Head):
        raise InvalidUnit(f"{unit.name!r} is a {type(unit).__name__.lower()}, not a head; "
                          f"write heads as L<layer>H<index>, e.g. 'L10H7'", value=text)
    return unit


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
