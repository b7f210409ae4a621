"""Edges between transcoder features on tiny-bilingual (GPT-NeoX, sequential residual): the
direct effect equals the linear path computed by hand from the weights, the clean attention
patterns and the clean norm scales (the residual path and each head's OV circuit, plain
torch); the total effect equals the replacement ablation by hand; the claim records both."""

from pathlib import Path

import pytest
import torch
from neox_oracle import attn, clean_pass, random_three_blocks, to_mlp_in
from safetensors.torch import load_file

from neurospec.claims.expect import expect
from neurospec.errors import InvalidArgument
from neurospec.units import TranscoderFeature

ROOT = Path(__file__).resolve().parents[2]
TCS = ROOT / "fixtures/transcoders/tiny-bilingual"
SRC, DST = 212, 166  # L0T212 (German) and the L1 feature its decoder aims at most
pytestmark = pytest.mark.filterwarnings("ignore:.*were truncated", "ignore::UserWarning")


@pytest.fixture(scope="module")
def hf():
    from transformers import GPTNeoXForCausalLM

    return GPTNeoXForCausalLM.from_pretrained(ROOT / "fixtures/models/tiny-bilingual",
                                              attn_implementation="eager").eval()


def _by_hand(hf, ids: torch.Tensor, src: int, dst: int) -> tuple[float, float]:
    """(direct, total) effect of L0T{src} on L1T{dst}'s pre-activation, summed over target
    tokens 1.. (sources at positions 1..)."""
    w0 = load_file(TCS / "L0/sae_weights.safetensors")
    w1 = load_file(TCS / "L1/sae_weights.safetensors")
    block = hf.gpt_neox.layers[1]
    keep, patterns = clean_pass(hf, ids)
    a = torch.relu(keep["x0"] @ w0["W_enc"][:, src] + w0["b_enc"][src])  # [pos]
    a[0] = 0.0  # BOS is not a counted source position
    v = a[:, None] * w0["W_dec"][src]  # what the source adds to the residual, [pos, d]
    with torch.no_grad():  # the residual path and each head's OV circuit, patterns frozen
        direct = float((to_mlp_in(hf, keep, patterns, 1, v) @ w1["W_enc"][:, dst])[1:]
                       .double().sum())
    # total: the source zeroed in the replacement (error kept), nothing frozen
    pre = []
    for edit in (False, True):
        def hook(m, args, o, edit=edit):
            if not edit:
                return None
            f = torch.relu(args[0] @ w0["W_enc"][:, src] + w0["b_enc"][src])
            new = o - f[..., None] * w0["W_dec"][src]
            return torch.cat([o[:, :1], new[:, 1:]], 1)
        hs_ = [hf.gpt_neox.layers[0].mlp.register_forward_hook(hook),
               block.mlp.register_forward_pre_hook(lambda m, a: keep.update(x1=a[0][0]))]
        try:
            with torch.no_grad():
                hf(ids[None])
        finally:
            for h in hs_:
                h.remove()
        pre.append(keep["x1"] @ w1["W_enc"][:, dst] + w1["b_enc"][dst])
    return direct, float((pre[0] - pre[1])[1:].double().sum())


def test_direct_and_total_effects_equal_by_hand(tiny, small_sets, hf):
    from neurospec.data.tokens import tokenize
    from neurospec.measure.transcoder import load_transcoder, make_replacement_ablation
    from neurospec.measure.transcoder_edges import direct_effects, total_effect

    de = small_sets[0].subset(4)
    tcs = load_transcoder("tiny-bilingual")
    sums, tokens = direct_effects(tiny, tcs.at(0), [SRC, 5], tcs.at(1), DST, de)
    tot, _ = total_effect(tiny, make_replacement_ablation(tiny, tcs, TranscoderFeature(0, SRC)),
                          tcs.at(1), DST, de)
    for k, ids in enumerate(tokenize(tiny, de).docs):
        direct, total = _by_hand(hf, ids, SRC, DST)
        assert sums[0, k] == pytest.approx(direct, rel=1e-4, abs=1e-5)
        assert tot[k] == pytest.approx(total, rel=1e-4, abs=1e-5)
        assert tokens[k] == len(ids) - 1
    assert abs(sums[0]).sum() > 10 * abs(sums[1]).sum()  # the chosen pair, not any feature


def test_the_edge_claim_records_its_baseline_and_total_effect(tiny, small_sets):
    de = small_sets[0]
    r = expect(f"L0T{SRC}", model=tiny, transcoder="tiny-bilingual").drives(
        f"L1T{DST}", on=de, by_at_least=0.05, against_random=6)
    assert r.kind == "transcoder_edge" and r.details["random_k"] == 6
    assert r.details["random_percentile"] == 100.0
    assert 0.5 < r.details["total_effect"] / r.effect < 1.5
    per_doc = r.charts["histogram"]["sets"][de.name]  # the edge card
    assert len(per_doc) == len(de) and min(per_doc) < r.effect < max(per_doc)
    from neurospec.report.html import render_record

    sets = {s["set"] for s in r.charts["contexts"]["items"]}
    assert sets == {f"L0T{SRC} on {de.name}", f"L1T{DST} on {de.name}"}
    card = render_record(r.record)
    assert "threshold: the mean per token must reach 0.05" in card and "random" in card
    with pytest.raises(InvalidArgument, match="later blocks only"):
        expect("L1T3", model=tiny, transcoder="tiny-bilingual").drives("L0T2", on=de,
                                                                      by_at_least=0.0)


def test_the_nnsight_backend_refuses_the_direct_effect_by_name(small_sets):
    pytest.importorskip("nnsight")
    from neurospec.errors import UnsupportedArchitecture
    from neurospec.measure.transcoder import load_transcoder
    from neurospec.measure.transcoder_edges import direct_effects
    from neurospec.models import load_model

    model = load_model("tiny-bilingual", device="cpu", backend="nnsight")
    tcs = load_transcoder("tiny-bilingual")
    with pytest.raises(UnsupportedArchitecture, match="freezes attention patterns"):
        direct_effects(model, tcs.at(0), [SRC], tcs.at(1), DST, small_sets[0].subset(2))


def test_a_cross_layer_source_two_blocks_back_equals_the_paths_by_hand(tmp_path, small_sets):
    """Three blocks, a CLT feature of block 0 and a feature of block 2: the residual path, every
    head path of blocks 1 and 2 (their composition included), and the CLT's own write into
    block 1's MLP output; block 1's MLP output otherwise frozen."""
    from tc_files import write

    from neurospec.data.tokens import tokenize
    from neurospec.measure.transcoder import load_transcoder
    from neurospec.measure.transcoder_edges import direct_effects
    from neurospec.models import load_model

    d = 32
    hf = random_three_blocks(tmp_path / "m", d)
    model = load_model(str(tmp_path / "m"), device="cpu")
    path, kwargs, ws = write("clt", tmp_path / "clt", d, 16, 3)
    tcs = load_transcoder(path, **kwargs)
    de = small_sets[0].subset(2)
    sums, _ = direct_effects(model, tcs.at(0), [3], tcs.at(2), 5, de)
    for k, ids in enumerate(tokenize(model, de).docs):
        keep, patterns = clean_pass(hf, ids)
        w = ws[0]
        a = torch.relu(keep["x0"] @ w["W_enc"][:, 3] + w["b_enc"][3])
        a[0] = 0.0
        with torch.no_grad():
            r = a[:, None] * w["W_dec"][3, 0]  # after block 0
            r = r + attn(hf, keep, patterns, 1, r)  # block 1's middle
            r = r + a[:, None] * w["W_dec"][3, 1]  # its MLP output: the CLT's write only
            delta = to_mlp_in(hf, keep, patterns, 2, r)
            want = float((delta @ ws[2]["W_enc"][:, 5])[1:].double().sum())
        assert sums[0, k] == pytest.approx(want, rel=1e-4, abs=1e-5)
