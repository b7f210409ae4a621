"""The seed notebooks' own claims about hub models.  They need the models' weights (network
or a local Hugging Face cache); here, offline, each skips with the command that makes it run.

- seed 001: gelu-2l L1N298 writes month names (direct logit attribution);
- seed 002: gpt2-small heads L10H7 and L11H10 (copy suppression): mean-ablating them raises
  English loss (the precondition; the repeated-vs-new direct-effect claim, stated on the
  bundled model, is in docs/how-to/copy-suppression.md);
- seed 003: gpt2-small L4N1406, L7N1137, L8N1961 get larger gradient updates on capital-city
  prompts than on unrelated ones; L11N369 writes " Paris".
"""

import pytest

from neurospec import expect, neuron

MONTHS = [" January", " February", " March", " April", " May", " June", " July", " August",
          " September", " October", " November", " December"]


@pytest.mark.model("gelu-2l")
def test_gelu2l_l1n298_writes_month_names(model):
    expect(neuron("L1N298")).writes_tokens(MONTHS, top_k=20, at_least=6)


@pytest.mark.model("gpt2-small")
@pytest.mark.parametrize("unit", ["L4N1406", "L7N1137", "L8N1961"])
def test_gpt2_capital_neurons_update_more_on_capitals(corpus, unit):
    expect(neuron(unit)).updates_more(on=corpus("capital_prompts"),
                                      than=corpus("unrelated_prompts"), weights="in",
                                      effect_size_at_least=0.5)


@pytest.mark.model("gpt2-small")
def test_gpt2_l11n369_writes_paris(model):
    expect(neuron("L11N369")).writes_tokens([" Paris"], top_k=20, at_least=1)


@pytest.mark.model("gpt2-small")
@pytest.mark.parametrize("unit", ["L10H7", "L11H10"])
def test_gpt2_copy_suppression_heads(corpus, unit):
    # seed 002 / arXiv 2310.04625: removing these heads' direct effect (mean added back)
    # changes the loss on tokens that already appeared differently from new ones.
    from neurospec import head

    expect(head(unit)).ablated(to="mean", over=corpus("english")).raises_loss(
        on=corpus("english"), by_at_least=0.0)


@pytest.mark.model("tiny-stories-2l-33m")
def test_tinystories_l1f880_depends_on_l0f7105(corpus):
    # seed 004: SAE weights come from a local path (no hub for them here)
    import os

    root = os.environ.get("NEUROSPEC_TINYSTORIES_SAES")
    if not root:
        pytest.skip("set NEUROSPEC_TINYSTORIES_SAES to a folder with L0/ and L1/ SAEs "
                    "(SAELens layout: cfg.json + sae_weights.safetensors) to run this claim")
    expect("L1F880", sae=f"{root}/L1").depends_on("L0F7105", sae=f"{root}/L0",
                                                  on=corpus("english"), by_at_least=0.0)
