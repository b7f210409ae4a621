"""Seed 000's path patching on tiny-bilingual: how the German neuron's effect on German loss
reaches the logits (through layer 1, or directly)."""

import pytest

from neurospec import expect, neuron

pytestmark = pytest.mark.model("tiny-bilingual")

GERMAN = neuron("L0N125")
LAYER1 = ["blocks.1.hook_attn_out", "blocks.1.hook_mlp_out"]


def test_a_tenth_of_the_effect_runs_through_layer_1(corpus):
    # share 0.24, 95% CI [0.15, 0.33]: most of the effect reaches the logits directly
    expect(GERMAN).ablated(to="mean", over=corpus("english")).runs_through(
        LAYER1, on=corpus("german").subset(200), share_at_least=0.1)


@pytest.mark.xfail(strict=True, reason="deliberately false: MLP1 alone carries under a fifth")
def test_false_it_runs_mostly_through_mlp1(corpus):
    expect(GERMAN).ablated(to="mean", over=corpus("english")).runs_through(
        ["blocks.1.hook_mlp_out"], on=corpus("german").subset(200), share_at_least=0.5)
