"""Direct logit attribution against TransformerLens's own compatibility mode (folded LN,
centred weights), as the seed notebooks computed it."""

import pytest
import torch

from neurospec.claims.expect import expect
from neurospec.errors import ClaimFailed, InvalidArgument
from neurospec.measure.logit_attribution import logit_attribution, top_writers
from neurospec.models import load_model
from neurospec.units import Neuron


@pytest.fixture(scope="module")
def compat():
    return load_model("tiny-bilingual", compatibility_mode=True)


@pytest.mark.parametrize("layer, index", [(0, 125), (1, 5), (1, 255)])
def test_folded_dla_equals_compatibility_mode(tiny, compat, layer, index):
    b = compat.bridge
    ref = (b.blocks[layer].mlp.W_out[index] @ b.W_U).double()
    got = logit_attribution(tiny, Neuron(layer, index)).values
    torch.testing.assert_close(got, ref - ref.mean(), atol=1e-5, rtol=0)


def test_raw_dla_and_top_writers_equal_a_loop(tiny):
    w_out = tiny.bridge.blocks[1].mlp.out.original_component.weight.detach().double()
    w_u = tiny.bridge.unembed.original_component.weight.detach().double()
    token = 123
    per_neuron = [float(w_out[:, n] @ w_u[token]) for n in range(tiny.d_mlp)]  # one at a time
    raw = logit_attribution(tiny, Neuron(1, 7), folded=False).values
    assert float(raw[token]) == pytest.approx(per_neuron[7], abs=1e-6)
    folded = [float(logit_attribution(tiny, Neuron(1, n)).values[token]) for n in range(tiny.d_mlp)]
    best = sorted(range(tiny.d_mlp), key=lambda n: -folded[n])[:5]
    assert [u.index for u, _ in top_writers(tiny, token, layer=1, k=5)] == best


def test_writes_tokens_claim(tiny):
    res = expect("L0N125", model=tiny).writes_tokens([" der", " die"], top_k=30, at_least=2)
    assert res.kind == "logit_attribution" and res.effect >= 2 and res.p < 0.01
    assert len(res.charts["token_table"]["top"]) == 30
    with pytest.raises(ClaimFailed, match="top-5 direct-logit tokens include >= 2"):
        expect("L0N125", model=tiny).writes_tokens([" the", " and"], top_k=5, at_least=2)
    with pytest.raises(InvalidArgument, match="is not one token"):
        expect("L0N125", model=tiny).writes_tokens(["Donaudampfschifffahrt"])
    with pytest.raises(InvalidArgument, match="non-empty list"):
        expect("L0N125", model=tiny).writes_tokens(" und")
