"""The architecture matrix: tiny random checkpoints of each family researchers use, saved with
transformers in a temporary folder and loaded through ``load_model(folder)``.  Every
measurement equals a naive computation with plain HF forward hooks on the same weights, or
refuses with an error naming the architecture feature; every sweep method equals the
per-neuron loop to 1e-5 or refuses; ``method='auto'`` never refuses."""

import numpy as np
import pytest
import torch
from archs import ARCHITECTURES, D_MLP, HEADS, LAYERS, D, Naive, build, doc_loss

from neurospec.errors import UnsupportedArchitecture
from neurospec.units import Head, Neuron

POST_MLP_NORM = {"gemma2", "gemma3", "olmo2"}  # a neuron's change is not rank-one
POST_ATTN_NORM = {"gemma2", "gemma3", "olmo2"}
SOFTCAP = {"gemma2"}
# a few documents are longer than the tiny models' 128-token context: truncation is intended
pytestmark = pytest.mark.filterwarnings("ignore:.*were truncated:UserWarning")


@pytest.fixture(scope="module", params=ARCHITECTURES)
def arch(request, tmp_path_factory):
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    from neurospec import load_model

    hf_logging.disable_progress_bar()
    folder = tmp_path_factory.mktemp(request.param)
    build(request.param, folder)
    model = load_model(str(folder), device="cpu")
    hf = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager",
                                              dtype=torch.float32)
    return request.param, model, Naive(hf)


@pytest.fixture(scope="module")
def docs():
    from neurospec.data.corpus import load_corpus

    return load_corpus("german").subset(3)


@pytest.fixture(scope="module")
def other():
    from neurospec.data.corpus import load_corpus

    return load_corpus("english").subset(2)


def _ids(model, docs):
    from neurospec.data.tokens import tokenize

    tc = tokenize(model, docs)
    return tc, list(tc.docs)


def _set(index: int, value: float, first: int):
    def fn(x):
        x = x.clone()
        x[:, first:, index] = value
        return x
    return fn


def test_layout_is_read_right(arch):
    kind, model, naive = arch
    a = model.architecture
    assert a.post_mlp_norm == (kind in POST_MLP_NORM)
    assert a.post_attn_norm == (kind in POST_ATTN_NORM)
    assert (a.logit_softcap is not None) == (kind in SOFTCAP)
    assert a.gated_mlp == (kind not in ("gpt2", "neox_parallel", "neox_sequential"))
    assert a.parallel_residual == (kind == "neox_parallel")
    assert a.final_norm is not None
    # the identified final norm reproduces the HF module on real inputs
    x = torch.randn(5, D) * 3
    with torch.no_grad():
        assert torch.allclose(a.final_norm(x).float(), naive.final(x), atol=1e-5)


def test_activations_are_the_down_projection_input(arch, docs):
    from neurospec.measure.activations import neuron_activations

    _, model, naive = arch
    tc, ids = _ids(model, docs)
    for layer in range(LAYERS):
        acts = neuron_activations(model, docs, Neuron(layer, 5))
        for k, doc in enumerate(ids):
            ref = naive.grab(doc, naive.down(layer))[tc.first:, 5]
            np.testing.assert_allclose(acts.per_token[k], ref.double().numpy(), atol=1e-5)


def test_ablation_equals_naive(arch, docs):
    from neurospec.measure.ablation import ablation_effect, make_ablation

    _, model, naive = arch
    tc, ids = _ids(model, docs)
    eff = ablation_effect(model, make_ablation(model, Neuron(0, 3), to=0.7), docs)
    with torch.no_grad():
        ref = [float(doc_loss(naive.run(d, [(naive.down(0), _set(3, 0.7, tc.first))]), d).mean()
                     - doc_loss(naive.run(d), d).mean()) for d in ids]
    np.testing.assert_allclose(eff.delta, ref, atol=1e-5)


def test_token_effects_equal_naive(arch, docs):
    from neurospec.measure.ablation import make_ablation
    from neurospec.measure.token_effects import token_effects

    _, model, naive = arch
    tc, ids = _ids(model, docs)
    eff = token_effects(model, make_ablation(model, Neuron(1, 4), to="zero"), docs,
                        only_seen=False)
    with torch.no_grad():
        for k, d in enumerate(ids):
            clean = naive.run(d).log_softmax(-1)
            abl = naive.run(d, [(naive.down(1), _set(4, 0.0, tc.first))]).log_softmax(-1)
            ref = (abl - clean)[tc.first:len(d) - 1].mean(0)
            np.testing.assert_allclose(eff.dlogp[k], ref.numpy(), atol=1e-4)


@pytest.mark.parametrize("layer", [0, LAYERS - 1])
def test_every_sweep_method_equals_the_loop_or_refuses(arch, docs, other, layer, monkeypatch):
    from neurospec.measure import sweep as sweep_module
    from neurospec.measure.sweep import neuron_sweep

    kind, model, naive = arch
    loop = neuron_sweep(model, docs, layer, to="mean", over=other, method="loop")
    # the loop itself is the naive per-neuron ablation
    tc, ids = _ids(model, docs)
    with torch.no_grad():
        d = ids[0]
        ref = (doc_loss(naive.run(d, [(naive.down(layer), _set(2, loop.values[2], tc.first))]),
                        d).mean() - doc_loss(naive.run(d), d).mean())
    assert abs(loop.delta[2, 0] - float(ref)) <= 1e-5
    methods = ["downstream", "auto"] + (["closed_form"] if layer == LAYERS - 1 else [])
    for method in methods:
        if method == "closed_form" and kind in POST_MLP_NORM | SOFTCAP:
            with pytest.raises(UnsupportedArchitecture, match="post-MLP norm|soft-caps"):
                neuron_sweep(model, docs, layer, to="mean", over=other, method=method)
            continue
        fast = neuron_sweep(model, docs, layer, to="mean", over=other, method=method)
        assert np.abs(fast.delta - loop.delta).max() <= 1e-5, (kind, method, fast.method)
    if layer == LAYERS - 1 and kind not in POST_MLP_NORM | SOFTCAP:
        # the GPU layout of the closed form (documents stacked, several neurons per step)
        monkeypatch.setattr(sweep_module, "_CLOSED_ONE_DOC", {})
        monkeypatch.setitem(sweep_module._CLOSED_ELEMENTS, "cpu", 1 << 22)
        grouped = neuron_sweep(model, docs, layer, to="mean", over=other, method="closed_form")
        assert np.abs(grouped.delta - loop.delta).max() <= 1e-5, (kind, "grouped closed form")


def test_gradient_norms_equal_autograd(arch, docs):
    from neurospec.measure.gradients import weight_gradient_norms

    _, model, naive = arch
    _, ids = _ids(model, docs)
    layer = LAYERS - 1
    got = weight_gradient_norms(model, docs, layer)
    for k, d in enumerate(ids):
        naive.hf.zero_grad()
        doc_loss(naive.run(d), d).mean().backward()
        w_in = torch.sqrt(sum(g.pow(2).sum(-1) for g in naive.input_rows(layer, grad=True)))
        w_out = naive.output_columns(layer, grad=True).norm(dim=-1)
        np.testing.assert_allclose(got.w_in[k], w_in.double().numpy(), rtol=1e-4, atol=1e-7)
        np.testing.assert_allclose(got.w_out[k], w_out.double().numpy(), rtol=1e-4, atol=1e-7)


def test_head_ablation_equals_naive_per_query_head(arch, docs):
    from neurospec.measure.heads import head_ablation

    _, model, naive = arch
    tc, ids = _ids(model, docs)
    d_head = naive.w_o(1).shape[0] // HEADS
    h = HEADS - 1  # under GQA, a query head that shares its key/value head

    def zero(x):
        x = x.clone()
        x[:, tc.first:, h * d_head:(h + 1) * d_head] = 0
        return x

    eff = head_ablation(model, Head(1, h), docs, "zero")
    with torch.no_grad():
        for k, d in enumerate(ids):
            ref = doc_loss(naive.run(d, [(naive.o_proj(1), zero)]), d) - doc_loss(naive.run(d), d)
            np.testing.assert_allclose(eff.token_delta[k], ref.numpy(), atol=1e-5)


def test_head_direct_effect_equals_naive_or_refuses(arch, docs):
    from neurospec.measure.heads import head_direct_effect

    kind, model, naive = arch
    if kind in POST_ATTN_NORM | SOFTCAP:
        with pytest.raises(UnsupportedArchitecture, match="post-attention norm|soft-caps"):
            head_direct_effect(model, Head(1, 2), docs)
        return
    tc, ids = _ids(model, docs)
    eff = head_direct_effect(model, Head(1, 2), docs)
    w_o = naive.w_o(1)
    d_head = w_o.shape[0] // HEADS
    with torch.no_grad():
        for k, d in enumerate(ids):
            x = naive.grab(d, naive.final)
            z = naive.grab(d, naive.o_proj(1))[:, 2 * d_head:3 * d_head]
            scale = naive.final_scale(x)
            new = naive.logits_from_final(x - z @ w_o[2 * d_head:3 * d_head], scale)
            ref = doc_loss(new, d) - doc_loss(naive.run(d), d)
            np.testing.assert_allclose(eff.token_delta[k], ref.numpy(), atol=1e-5)


def test_logit_attribution_equals_naive_or_refuses(arch):
    from neurospec.measure.logit_attribution import neuron_logit_weights

    kind, model, naive = arch
    if kind in POST_MLP_NORM:
        with pytest.raises(UnsupportedArchitecture, match="post-MLP norm"):
            neuron_logit_weights(model, 1)
        return
    got = neuron_logit_weights(model, 1)
    with torch.no_grad():
        w = naive.output_columns(1).double()
        if isinstance(naive.final, torch.nn.LayerNorm):
            w = w - w.mean(-1, keepdim=True)
        ones = torch.ones(1, D, dtype=torch.float64)
        w = naive.final_norm(w, 1.0).double() - naive.final_norm(0 * ones, 1.0).double()
        ref = w @ naive.hf.get_output_embeddings().weight.double().T
        ref = ref - ref.mean(-1, keepdim=True)
    torch.testing.assert_close(got, ref, atol=1e-6, rtol=1e-6)


def test_path_patching_total_is_the_ablation(arch, docs):
    from neurospec.measure.ablation import ablation_effect, make_ablation
    from neurospec.measure.path_patching import path_patching

    _, model, _ = arch
    abl = make_ablation(model, Neuron(0, 3), to="zero")
    eff = path_patching(model, abl, docs, through=[f"blocks.{LAYERS - 1}.hook_mlp_out"])
    np.testing.assert_allclose(eff.total, ablation_effect(model, abl, docs).delta, atol=1e-5)
    assert np.all(np.isfinite(eff.via))
    assert D_MLP == model.d_mlp


def test_a_model_passed_with_a_device_map_measures_the_same(tmp_path, docs):
    """A Hugging Face model loaded with an explicit device_map (here every module on the CPU,
    the only device a test may assume) and passed as an object gives the folder's numbers."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from neurospec import load_model
    from neurospec.measure.gradients import weight_gradient_norms
    from neurospec.measure.sweep import neuron_sweep

    build("llama", tmp_path)
    device_map = {"model.embed_tokens": "cpu", "model.rotary_emb": "cpu", "model.norm": "cpu",
                  "lm_head": "cpu", **{f"model.layers.{i}": "cpu" for i in range(LAYERS)}}
    hf = AutoModelForCausalLM.from_pretrained(tmp_path, device_map=device_map,
                                              attn_implementation="eager", dtype=torch.float32)
    passed = load_model(hf, tokenizer=AutoTokenizer.from_pretrained(tmp_path))
    folder = load_model(str(tmp_path), device="cpu")
    assert passed.fingerprint == folder.fingerprint
    for method in ("downstream", "closed_form"):
        a = neuron_sweep(passed, docs, LAYERS - 1, to="zero", method=method).delta
        b = neuron_sweep(folder, docs, LAYERS - 1, to="zero", method=method).delta
        assert np.abs(a - b).max() <= 1e-6
    np.testing.assert_allclose(weight_gradient_norms(passed, docs, 0).w_in,
                               weight_gradient_norms(folder, docs, 0).w_in, rtol=1e-5)


def _verdict(claim) -> str:
    """``pass``, ``fail`` or the refusal: a claim may hold or not on random weights, but it
    must run or refuse by name."""
    from neurospec.errors import ClaimFailed

    try:
        claim()
        return "pass"
    except ClaimFailed:
        return "fail"
    except UnsupportedArchitecture:
        return "refused"


def test_every_claim_kind_runs_or_refuses(arch):
    from neurospec import expect, expect_layer, head
    from neurospec.data.corpus import load_corpus

    kind, model, _ = arch
    de, en = load_corpus("german").subset(10), load_corpus("english").subset(10)
    n = expect("L1N3", model=model)
    got = {
        "activation": _verdict(lambda: n.activates_more(on=de, than=en, by_at_least=0.0)),
        "ablation": _verdict(lambda: n.ablated(to="mean", over=en).raises_loss(
            on=de, by_at_least=0.0)),
        "sweep": _verdict(lambda: expect_layer(LAYERS - 1, model=model).top_neurons_carry(
            3, share_at_least=0.1, on=de, over=en)),
        "gradients": _verdict(lambda: n.updates_more(on=de, than=en, by_at_least=0.0)),
        "logit_attribution": _verdict(lambda: n.writes_tokens([" und"], top_k=50, at_least=1)),
        "head_ablation": _verdict(lambda: expect(head("L1H3"), model=model).ablation_raises_loss(
            on=de, by_at_least=0.0)),
        "head_direct_effect": _verdict(lambda: expect(head("L1H3"), model=model)
                                       .direct_effect_favours_repeats(on=de)),
    }
    refused = {k for k, v in got.items() if v == "refused"}
    expected = ({"logit_attribution"} if kind in POST_MLP_NORM else set()) | (
        {"head_direct_effect"} if kind in POST_ATTN_NORM | SOFTCAP else set())
    assert refused == expected, got
