"""The assertion helpers: ``expect(unit)`` runs measurements, decides a verdict from the
confidence interval, records evidence (pass or fail) and raises a readable failure.

``expect`` returns the expectation of the unit's kind, with only the claims that make sense
for it: :class:`NeuronExpectation`, :class:`~neurospec.claims.head_claims.HeadExpectation`
or :class:`~neurospec.claims.sae_claims.FeatureExpectation`.

Example::

    expect(neuron("L1N417")).activates_more(on=corpus("german"), than=corpus("english"),
                                            effect_size_at_least=1.5)
    (expect(neuron("L1N417")).ablated(to="mean", over=corpus("english"))
        .raises_loss(on=corpus("german"), by_at_least=0.01)
        .and_not_on(corpus("english"), tolerance=0.005))
"""

from __future__ import annotations

from typing import Any

from neurospec.claims.activation_claims import NeuronActivationClaims
from neurospec.claims.expectation import Expectation, stating
from neurospec.claims.head_claims import HeadAblated, HeadExpectation
from neurospec.claims.hooked import HookedExpectation
from neurospec.claims.layer import LayerExpectation
from neurospec.claims.neuron_ablation import Ablated
from neurospec.claims.replacement_claims import ReplacementExpectation
from neurospec.claims.result import ClaimResult
from neurospec.claims.sae_claims import FeatureExpectation
from neurospec.claims.weight_claims import NeuronWeightClaims
from neurospec.errors import InvalidArgument
from neurospec.units import Unit, kind_of, parse_unit

__all__ = ["Ablated", "ClaimResult", "FeatureExpectation", "HeadAblated", "HeadExpectation",
           "HookedExpectation", "LayerExpectation", "NeuronExpectation",
           "ReplacementExpectation", "expect", "expect_layer", "expect_replacement"]


def expect_layer(layer: int, model: Any = None) -> LayerExpectation:
    """Start a claim about MLP ``layer`` as a whole (e.g. how concentrated an effect is)."""
    return stating(LayerExpectation(layer, model), f"expect_layer({layer})")


def expect_replacement(transcoder: Any, model: Any = None) -> ReplacementExpectation:
    """Start a claim about transcoders standing in for the MLPs (a path, as for
    ``expect(..., transcoder=...)``, or a loaded transcoder or set)."""
    name = transcoder if isinstance(transcoder, str) else type(transcoder).__name__
    return stating(ReplacementExpectation(transcoder, model), f"expect_replacement({name!r})")


def expect(unit: str | Unit, model: Any = None, *, sae: Any = None,
           transcoder: Any = None) -> Any:
    """Start a claim about ``unit`` (a name such as ``'L1N417'``, ``'L1H3'``, ``'L0F26'``, or
    a parsed unit; any registered kind, see :mod:`neurospec.units`).

    Args:
        unit: the unit the claim is about.
        model: the model; under pytest the plugin supplies the test's model.
        sae: for an SAE feature, the SAE (``load_sae(path)``) or its path.
        transcoder: for a transcoder feature (``'L0T12'``), the transcoder
            (``load_transcoder(path)``) or its path (``'tiny-bilingual/L0'``).

    Returns:
        the claims of the unit's kind: a :class:`NeuronExpectation`,
        :class:`~neurospec.claims.head_claims.HeadExpectation`,
        :class:`~neurospec.claims.sae_claims.FeatureExpectation`, or the class a registered
        kind names.
    """
    parsed = parse_unit(unit)
    if sae is not None and transcoder is not None:
        raise InvalidArgument(f"expect({parsed.name!r}): give sae= or transcoder=, not both",
                              value=parsed.name)
    dictionary = transcoder if transcoder is not None else sae
    built: Expectation = kind_of(parsed).expectation_class()(parsed, model, dictionary)
    return stating(built, f"expect({parsed.name!r})")


class NeuronExpectation(HookedExpectation, NeuronActivationClaims, NeuronWeightClaims):
    """Claims about one MLP neuron: its activations, its weights, and what ablating it does
    (:class:`~neurospec.claims.neuron_ablation.Ablated`)."""

    ABLATED = Ablated
