"""Which single neurons of the last MLP layer carry tiny-bilingual's German loss (seed 000's
"identify relevant neurons" sweep, computed in closed form for the last layer)."""

import pytest

from neurospec import expect_layer

pytestmark = pytest.mark.model("tiny-bilingual")


def test_german_loss_is_spread_over_mlp1(corpus):
    # the 20 most important of 256 neurons carry a third of the summed single-neuron effect
    expect_layer(1).top_neurons_carry(20, share_at_least=0.3, on=corpus("german").subset(60),
                                      to="mean", over=corpus("english"))


@pytest.mark.xfail(strict=True, reason="deliberately false: no single neuron dominates MLP1")
def test_false_one_neuron_carries_half(corpus):
    expect_layer(1).top_neurons_carry(1, share_at_least=0.5, on=corpus("german").subset(60),
                                      to="mean", over=corpus("english"))
