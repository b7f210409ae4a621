"""Claims about transcoder features on tiny-bilingual with its bundled transcoders: the
ablation claim's effect equals the replacement computed by hand with plain Hugging Face hooks,
the random-feature baseline draws features of the same transcoder, and misuse is refused."""

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from neurospec.claims.expect import expect
from neurospec.errors import InvalidArgument, InvalidUnit, UnitOutOfRange
from neurospec.units import TranscoderFeature, parse_unit

ROOT = Path(__file__).resolve().parents[2]
L0 = "tiny-bilingual/L0"
pytestmark = pytest.mark.filterwarnings("ignore:.*were truncated")


@pytest.fixture(scope="module")
def hf():
    from transformers import GPTNeoXForCausalLM

    return GPTNeoXForCausalLM.from_pretrained(ROOT / "fixtures/models/tiny-bilingual").eval()


def _naive_delta(hf, tiny, texts, index: int, value: float) -> list[float]:
    """Per document: loss with MLP0 := T(x | f_index = value) + (MLP0 - T(x)), minus clean."""
    w = load_file(ROOT / "fixtures/transcoders/tiny-bilingual/L0/sae_weights.safetensors")

    def edit(_m, args, out):
        f = torch.relu(args[0] @ w["W_enc"] + w["b_enc"])
        new = out + (value - f[..., index])[..., None] * w["W_dec"][index]
        return torch.cat([out[:, :1], new[:, 1:]], dim=1)

    bos, out = tiny.tokenizer.bos_token_id, []
    for text in texts:
        ids = torch.tensor([[bos] + tiny.encode([text])[0][:tiny.n_ctx - 1]])
        losses = []
        for hook in (None, edit):
            h = hf.gpt_neox.layers[0].mlp.register_forward_hook(hook) if hook else None
            try:
                with torch.no_grad():
                    logits = hf(ids).logits[0, :-1]
            finally:
                if h is not None:
                    h.remove()
            losses.append(float(torch.nn.functional.cross_entropy(logits, ids[0, 1:])))
        out.append(losses[1] - losses[0])
    return out


def test_the_ablation_claim_measures_the_replacement_by_hand(tiny, small_sets, hf):
    de = small_sets[0].subset(25)
    r = (expect("L0T212", model=tiny, transcoder=L0).ablated(to="zero")
         .raises_loss(on=de, by_at_least=0.0, against_random=4)).results[-1].record
    ref = _naive_delta(hf, tiny, de.texts, 212, 0.0)
    assert r.effect == pytest.approx(float(np.mean(ref)), abs=2e-5)
    assert r.details["random_k"] == 4 and r.details["targets"] == [0]
    assert r.details["transcoder"].endswith("L0") and "error term kept" in r.method
    names = r.charts["null"]["units"]
    assert len(names) == 4 and all(isinstance(parse_unit(n), TranscoderFeature) for n in names)


def test_mean_ablation_uses_the_feature_mean_and_equals_by_hand(tiny, small_sets, hf):
    de, en = small_sets[0].subset(20), small_sets[1].subset(20)
    ab = expect("L0T212", model=tiny, transcoder=L0).ablated(to="mean", over=en)
    from neurospec.measure.transcoder import load_transcoder, transcoder_activations

    acts = transcoder_activations(tiny, load_transcoder(L0), en,
                                  TranscoderFeature(0, 212)).all_tokens
    assert ab.ablation.value == pytest.approx(float(acts.mean()))
    r = ab.and_not_on(de, tolerance=1.0).results[-1].record
    ref = _naive_delta(hf, tiny, de.texts, 212, ab.ablation.value)
    assert r.effect == pytest.approx(float(np.mean(ref)), abs=2e-5)


def test_a_set_gives_each_feature_its_block(tiny, small_sets):
    e = expect("L1T3", model=tiny, transcoder="tiny-bilingual")
    assert e.sae.layer == 1 and e.sae.hook_in == "blocks.1.mlp.hook_in"
    r = e.activates_more(on=small_sets[0], than=small_sets[1], auroc_at_least=0.0)
    assert r.details["hook"] == "blocks.1.mlp.hook_in"


def test_misuse_is_refused_by_name(tiny):
    with pytest.raises(InvalidArgument, match="pass transcoder="):
        expect("L0T5", model=tiny)
    with pytest.raises(InvalidArgument, match="block-1 feature"):
        expect("L1T5", model=tiny, transcoder=L0)
    with pytest.raises(UnitOutOfRange, match="features 0..511"):
        expect("L0T512", model=tiny, transcoder=L0)
    with pytest.raises(InvalidArgument, match="not both"):
        expect("L0T5", model=tiny, transcoder=L0, sae=L0)
    with pytest.raises(InvalidArgument, match="'zero', 'mean'"):
        expect("L0T5", model=tiny, transcoder=L0).ablated(to="resample")
    with pytest.raises(InvalidArgument, match="needs over="):
        expect("L0T5", model=tiny, transcoder=L0).ablated(to="mean")
    with pytest.raises(InvalidUnit, match="L<layer>T<feature>"):
        parse_unit("L0X5")


def test_a_claim_spec_names_the_transcoder_as_its_sae(tiny):
    from neurospec.claims.spec import run_spec

    r = run_spec({"unit": "L0T212", "sae": "fixtures/transcoders/tiny-bilingual/L0",
                  "chain": [["activates_more", {"on": "german", "than": "english",
                                                "auroc_at_least": 0.5}]]}, model=tiny, root=ROOT)
    assert r.record.verdict == "pass" and r.details["hook"] == "blocks.0.mlp.hook_in"
