"""Claims about Llama-3.1-8B, which no CI runner holds: the traces run on NDIF, the National
Deep Inference Fabric, through nnsight (``remote=True``), and only per-token losses and single
units' activations come back.  The claims are written exactly as the tiny-bilingual ones; only
the model marker differs.

Here (offline, no key) every test skips with its reason and the fix; with ``NDIF_API_KEY`` set
(and ``HF_TOKEN`` for Llama's gated config and tokenizer) they run:

    NDIF_API_KEY=... HF_TOKEN=... pytest hypotheses/test_ndif_llama.py -rs

Cost: one NDIF request per measurement (the clean and ablated passes of a corpus together, a
baseline's random units together); 400 documents of ~100 tokens send ~40 KB and receive
~0.4 MB per request.  Nothing here was run on NDIF from this repository's CI (no network):
these are hypotheses with strong priors, stated so that a run says whether they hold.
"""

import pytest

from neurospec import expect, head, neuron

pytestmark = pytest.mark.model("meta-llama/Llama-3.1-8B", remote=True)


def test_an_early_attention_head_carries_german_text(corpus):
    """Zero-ablating one layer-0 head of an 8B model still costs German text some loss."""
    expect(head("L0H0")).ablation_raises_loss(on=corpus("german"), by_at_least=0.001)


def test_one_mlp_neuron_alone_leaves_english_alone(corpus):
    """Mean-ablating one of 14 336 neurons of a middle layer moves English loss by less than
    0.01 nats: single neurons of large models are rarely necessary."""
    expect(neuron("L15N1234")).ablated(to="mean", over=corpus("german")).and_not_on(
        corpus("english"), tolerance=0.01)


@pytest.mark.xfail(strict=True, reason="deliberately false: one neuron cannot cost 1 nat")
def test_false_one_neuron_carries_english(corpus):
    expect(neuron("L15N1234")).ablated(to="zero").raises_loss(on=corpus("english"),
                                                              by_at_least=1.0)
