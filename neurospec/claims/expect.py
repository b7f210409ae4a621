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

from neurospec.claims import activation_claims, checks
from neurospec.claims.ablated import Ablated
from neurospec.claims.activation_claims import NeuronActivationClaims
from neurospec.claims.expectation import Expectation, stating
from neurospec.claims.head_claims import HeadAblated, HeadExpectation
from neurospec.claims.layer import LayerExpectation
from neurospec.claims.result import ClaimResult
from neurospec.claims.sae_claims import FeatureExpectation
from neurospec.claims.weight_claims import NeuronWeightClaims
from neurospec.data.corpus import Corpus
from neurospec.measure.activations import neuron_activations
from neurospec.units import Feature, Head, Neuron, parse_unit

__all__ = ["Ablated", "ClaimResult", "FeatureExpectation", "HeadAblated", "HeadExpectation",
           "LayerExpectation", "NeuronExpectation", "expect", "expect_layer"]


def expect_layer(layer: int, model: Any = None) -> LayerExpectation:
    """Start a claim about MLP ``layer`` as a whole (e.g. how concentrated an effect is)."""
    return stating(LayerExpectation(layer, model), f"expect_layer({layer})")


def expect(unit: str | Neuron | Head | Feature, model: Any = None, *,
           sae: Any = None) -> Expectation:
    """Start a claim about ``unit`` (a name such as ``'L1N417'``, ``'L1H3'``, ``'L0F26'``, or
    a parsed unit).

    Args:
        unit: the unit the claim is about.
        model: the model; under pytest the plugin supplies the test's model.
        sae: for an SAE feature, the SAE (``load_sae(path)``) or its path.

    Returns:
        a :class:`NeuronExpectation`, :class:`HeadExpectation` or :class:`FeatureExpectation`.
    """
    parsed = parse_unit(unit)
    if isinstance(parsed, Feature):
        built: Expectation = FeatureExpectation(parsed, model, sae)
    elif isinstance(parsed, Head):
        built = HeadExpectation(parsed, model)
    else:
        built = NeuronExpectation(parsed, model)
    return stating(built, f"expect({parsed.name!r})")


class NeuronExpectation(NeuronActivationClaims, NeuronWeightClaims, Expectation):
    """Claims about one MLP neuron."""

    kind = "neuron"

    activates_more = activation_claims.activates_more

    def __init__(self, unit: Any, model: Any = None, sae: Any = None) -> None:
        super().__init__(unit, model)  # an SAE means nothing for a neuron

    def _acts(self, corpus: Corpus):
        return neuron_activations(self.model, corpus, self.unit)

    def ablated(self, to: str | float = "mean", over: Corpus | str | None = None) -> Ablated:
        """Ablate the neuron: ``to='zero'``, ``'mean'`` or ``'resample'`` (over a reference
        corpus), or a fixed number; then state what that does with :class:`Ablated`'s
        methods."""
        over = checks.maybe_corpus(over)
        return stating(Ablated(self, to, over), Ablated._said(to, over), parent=self)
