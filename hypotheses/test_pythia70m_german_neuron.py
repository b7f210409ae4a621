"""Seed notebook 000's own claims about pythia-70m (Quirke, Heindrich, Gurnee & Nanda 2023):
L3N669 is a German context neuron.  Published anchors (TL 2.x, BOS prepended, Europarl):
pre-GELU mean 3.48 on German vs -1.34 on English; mean-ablating it (to its English mean)
raises German loss by 0.406 +/- 0.013 nats, random neurons ~4e-4.

These need the pythia-70m weights; without network or a local Hugging Face cache they skip
with the command that makes them run.  neurospec prepends BOS (as the paper did) and uses
the post-GELU activation, so the contrast is GELU(3.48) - GELU(-1.34) ~= 3.6.
"""

import pytest

from neurospec import expect, neuron

pytestmark = pytest.mark.model("pythia-70m")

L3N669 = neuron("L3N669")


def test_l3n669_fires_on_german_not_english(corpus):
    expect(L3N669).activates_more(on=corpus("german"), than=corpus("english"), by_at_least=2.5)


def test_mean_ablating_l3n669_raises_german_loss_only(corpus):
    (expect(L3N669).ablated(to="mean", over=corpus("english"))
        .raises_loss(on=corpus("german"), by_at_least=0.2, against_random=20)
        .and_not_on(corpus("english"), tolerance=0.02))
