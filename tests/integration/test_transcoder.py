"""Transcoder features on tiny random checkpoints: every layout's feature activations, the
ablation inside the replacement (error term kept) and the replacement's quality equal plain
torch on Hugging Face forward hooks of the MLP modules (no TransformerLens, no neurospec)."""

import numpy as np
import pytest
import torch
from archs import LAYERS, D, Naive, build, doc_loss
from tc_files import FORMATS, activation, features, predict, write

from neurospec.units import TranscoderFeature

N_TC = 48
ARCHS = ["neox_sequential", "gpt2", "llama"]
pytestmark = pytest.mark.filterwarnings("ignore:.*were truncated:UserWarning")


@pytest.fixture(scope="module", params=ARCHS)
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


def _ids(model, docs):
    from neurospec.data.tokens import tokenize

    tc = tokenize(model, docs)
    return tc, list(tc.docs)


def naive_run(naive: Naive, ids: torch.Tensor, edit=None):
    """Logits of one document, the MLP inputs and outputs of every block; ``edit(layer, xs,
    y)`` returns a block's new MLP output (xs: the inputs of this and earlier blocks)."""
    xs, ys, handles = {}, {}, []
    for layer, block in enumerate(naive.layers):
        def hook(_m, args, out, layer=layer):
            xs[layer], ys[layer] = args[0][0].detach(), out[0].detach()
            return None if edit is None else edit(layer, xs, out[0])[None]
        handles.append(block.mlp.register_forward_hook(hook))
    try:
        with torch.no_grad():
            logits = naive.hf(ids[None]).logits[0]
    finally:
        for h in handles:
            h.remove()
    return logits, xs, ys


@pytest.mark.parametrize("fmt", FORMATS)
def test_feature_activations_equal_plain_torch(arch, docs, fmt, tmp_path):
    from neurospec.measure.transcoder import load_transcoder, transcoder_activations

    _, model, naive = arch
    path, kwargs, ws = write(fmt, tmp_path / fmt, D, N_TC, LAYERS)
    tcs = load_transcoder(path, **kwargs)
    tc, ids = _ids(model, docs)
    layers = [0] if fmt == "plain_topk" else range(LAYERS)
    for layer in layers:
        got = transcoder_activations(model, tcs, docs, TranscoderFeature(layer, 7))
        for k, d in enumerate(ids):
            _, xs, _ = naive_run(naive, d)
            ref = features(ws[layer], xs[layer], activation(fmt))[tc.first:, 7]
            np.testing.assert_allclose(got.per_token[k], ref.double().numpy(), atol=1e-5)


@pytest.mark.parametrize("fmt", ["saelens_skip", "ct_plt_jump", "clt"])
def test_replacement_ablation_equals_naive(arch, docs, fmt, tmp_path):
    """MLP_t := T_t(x with the feature zeroed) + (MLP_t - T_t(x)), literally, per block."""
    from neurospec.measure.transcoder import (
        load_transcoder,
        make_replacement_ablation,
        replacement_effects,
    )

    _, model, naive = arch
    path, kwargs, ws = write(fmt, tmp_path / fmt, D, N_TC, LAYERS)
    tcs = load_transcoder(path, **kwargs)
    tc, ids = _ids(model, docs)
    unit = TranscoderFeature(0, 11)
    eff = replacement_effects(model, [make_replacement_ablation(model, tcs, unit)], docs)[0]

    def edit(layer, xs, y):
        full, cut = predict(ws, xs, layer, fmt), predict(ws, xs, layer, fmt, (0, 11))
        new = cut + (y - full)
        return torch.cat([y[:tc.first], new[tc.first:]])

    ref = [float(doc_loss(naive_run(naive, d, edit)[0], d).mean()
                 - doc_loss(naive_run(naive, d)[0], d).mean()) for d in ids]
    np.testing.assert_allclose(eff.delta, ref, atol=2e-5)
    assert np.abs(eff.delta).max() > 1e-4  # the feature does something on these documents


def test_replacement_quality_equals_naive(arch, docs, tmp_path):
    from neurospec.measure.transcoder import load_transcoder, replacement_quality

    _, model, naive = arch
    path, kwargs, ws = write("clt", tmp_path / "clt", D, N_TC, LAYERS)
    q = replacement_quality(model, load_transcoder(path, **kwargs), docs)
    tc, ids = _ids(model, docs)
    err = {L: 0.0 for L in range(LAYERS)}
    ys_all: dict[int, list] = {L: [] for L in range(LAYERS)}
    for d in ids:
        _, xs, ys = naive_run(naive, d)
        for L in range(LAYERS):
            err[L] += float(((predict(ws, xs, L, "clt") - ys[L])[tc.first:] ** 2).sum())
            ys_all[L].append(ys[L][tc.first:])
    for L in range(LAYERS):
        y = torch.cat(ys_all[L])
        want = 1 - err[L] / float(((y - y.mean(0)) ** 2).sum())
        assert q.variance_explained[L] == pytest.approx(want, rel=1e-5)

    def replaced(layer, xs, y):
        return torch.cat([y[:tc.first], predict(ws, xs, layer, "clt")[tc.first:]])

    def zeroed(layer, xs, y):
        return torch.cat([y[:tc.first], torch.zeros_like(y[tc.first:])])

    for got, edit in ((q.clean, None), (q.replaced, replaced), (q.zero, zeroed)):
        ref = [float(doc_loss(naive_run(naive, d, edit)[0], d).mean()) for d in ids]
        np.testing.assert_allclose(got, ref, atol=2e-5)
