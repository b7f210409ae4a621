"""SAE architectures as SAELens saves them, read without SAELens: each encoder equals an
oracle written out per token and feature from SAELens's definitions; unknown architectures
and options are errors."""

import json

import pytest
import torch
from safetensors.torch import save_file

from neurospec.errors import CheckpointError, InvalidArgument
from neurospec.measure.sae_formats import as_sae, load_sae

D_IN, D_SAE = 6, 10


def _tensors(seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    return {"W_enc": r(D_IN, D_SAE), "b_enc": r(D_SAE) * 0.3, "W_dec": r(D_SAE, D_IN),
            "b_dec": r(D_IN) * 0.3, "threshold": r(D_SAE) * 0.5,  # some below zero
            "b_gate": r(D_SAE) * 0.3, "r_mag": r(D_SAE) * 0.2, "b_mag": r(D_SAE) * 0.3}


def _save(tmp_path, cfg, tensors=None):
    tensors = _tensors() if tensors is None else tensors
    cfg = {"d_in": D_IN, "d_sae": D_SAE, "hook_name": "blocks.0.mlp.hook_post", **cfg}
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    save_file(tensors, str(tmp_path / "sae_weights.safetensors"))
    return tensors


def _oracle(t, cfg, x):
    """Per token, per feature, straight from SAELens's definitions."""
    out = torch.zeros(x.shape[0], D_SAE)
    for p in range(x.shape[0]):
        v = x[p].clone()
        if cfg.get("normalize_activations") == "constant_norm_rescale":
            v = v * D_IN ** 0.5 / v.norm()
        if cfg.get("apply_b_dec_to_input", True):
            v = v - t["b_dec"]
        arch = cfg.get("architecture", "standard")
        pre = [float(v @ t["W_enc"][:, i] + t["b_enc"][i]) for i in range(D_SAE)]
        for i in range(D_SAE):
            if arch == "standard":
                out[p, i] = max(pre[i], 0.0)
            elif arch in ("jumprelu", "batchtopk"):
                out[p, i] = max(pre[i], 0.0) if pre[i] > t["threshold"][i] else 0.0
            elif arch == "topk":
                kth = sorted(pre, reverse=True)[cfg["k"] - 1]
                out[p, i] = max(pre[i], 0.0) if pre[i] >= kth else 0.0
            elif arch == "gated":
                gate = float(v @ t["W_enc"][:, i] + t["b_gate"][i]) > 0
                mag = float(v @ (t["W_enc"][:, i] * t["r_mag"][i].exp()) + t["b_mag"][i])
                out[p, i] = max(mag, 0.0) if gate else 0.0
    return out


CASES = [
    {},  # no architecture field: standard ReLU
    {"architecture": "standard", "apply_b_dec_to_input": False},
    {"architecture": "jumprelu"},
    {"architecture": "topk", "k": 3},
    {"architecture": "topk", "activation_fn_kwargs": {"k": 2}},
    {"architecture": "batchtopk"},  # saved with its inference threshold
    {"architecture": "gated"},
    {"architecture": "jumprelu", "normalize_activations": "constant_norm_rescale"},
]


@pytest.mark.parametrize("cfg", CASES, ids=lambda c: "-".join(f"{v}" for v in c.values()) or "default")
def test_encoder_equals_the_oracle(tmp_path, cfg):
    t = _save(tmp_path, cfg)
    sae = load_sae(tmp_path)
    x = torch.randn(7, D_IN, generator=torch.Generator().manual_seed(1)) * 2
    ref = _oracle(t, {**cfg, "k": cfg.get("k", (cfg.get("activation_fn_kwargs") or {}).get("k"))}, x)
    torch.testing.assert_close(sae.encode(x), ref, atol=1e-5, rtol=1e-5)
    for i in range(D_SAE):
        torch.testing.assert_close(sae.feature(x, i), ref[:, i], atol=1e-5, rtol=1e-5)
    assert (ref != 0).any() and (ref == 0).any()  # the rule matters on these inputs


def test_architectures_differ_on_the_same_weights(tmp_path):
    """A JumpReLU or TopK SAE read as ReLU would give other features (the bug this fixes)."""
    x = torch.randn(7, D_IN, generator=torch.Generator().manual_seed(1)) * 2
    outs = []
    for i, cfg in enumerate([{}, {"architecture": "jumprelu"}, {"architecture": "topk", "k": 2}]):
        folder = tmp_path / str(i)
        folder.mkdir()
        _save(folder, cfg)
        outs.append(load_sae(folder).encode(x))
    assert not torch.allclose(outs[0], outs[1]) and not torch.allclose(outs[0], outs[2])


def test_normalisation_round_trips(tmp_path):
    _save(tmp_path, {"normalize_activations": "layer_norm"})
    sae = load_sae(tmp_path)
    x = torch.randn(4, D_IN) * 5 + 3
    f = sae.encode(x)
    mu, std = x.mean(-1, keepdim=True), x.std(-1, keepdim=True)
    xn = (x - mu) / (std + 1e-5)
    torch.testing.assert_close(f, torch.relu((xn - sae.b_dec) @ sae.w_enc + sae.b_enc))
    torch.testing.assert_close(sae.decode(f, x), (f @ sae.w_dec + sae.b_dec) * std + mu)
    with pytest.raises(InvalidArgument, match="decode needs the input"):
        sae.decode(f)


@pytest.mark.parametrize("cfg,match", [
    ({"architecture": "matryoshka"}, "architecture 'matryoshka' is not supported"),
    ({"normalize_activations": "expected_average_only_in"}, "normalize_activations"),
    ({"architecture": "topk"}, "whole number k in 1..10"),
])
def test_unknown_architectures_and_options_are_errors(tmp_path, cfg, match):
    _save(tmp_path, cfg)
    with pytest.raises(CheckpointError, match=match):
        load_sae(tmp_path)


def test_missing_tensors_are_named(tmp_path):
    t = _tensors()
    del t["threshold"]
    _save(tmp_path, {"architecture": "jumprelu"}, t)
    with pytest.raises(CheckpointError, match="lacks \\['threshold'\\]"):
        load_sae(tmp_path)
    _save(tmp_path, {"architecture": "batchtopk"}, t)
    with pytest.raises(CheckpointError, match="depend"):
        load_sae(tmp_path)


class _Dictionary(torch.nn.Module):
    """dictionary_learning's layout: nn.Linear encoder / decoder."""

    def __init__(self):
        super().__init__()
        self.encoder = torch.nn.Linear(D_IN, D_SAE)
        self.decoder = torch.nn.Linear(D_SAE, D_IN)

    def encode(self, x):
        return torch.relu(self.encoder(x))

    def decode(self, f):
        return self.decoder(f)


def test_an_object_with_encode_and_decode_is_accepted():
    d = _Dictionary()
    sae = load_sae(d, hook="blocks.0.mlp.hook_post")
    assert (sae.d_in, sae.d_sae, sae.layer) == (D_IN, D_SAE, 0)
    x = torch.randn(3, D_IN)
    torch.testing.assert_close(sae.encode(x), d.encode(x))
    with pytest.raises(InvalidArgument, match="say which hook"):
        as_sae(d)
    with pytest.raises(InvalidArgument, match="not an SAE"):
        as_sae(object())


def test_sae_to_moves_every_tensor_and_keeps_the_rule(tmp_path):
    """feature_attribution moves an SAE loaded on the CPU to the activations' device."""
    _save(tmp_path, {"architecture": "gated"})
    sae = load_sae(tmp_path)
    assert sae.to("cpu") is sae  # already there: no copy
    moved = sae.to("meta")
    for name in ("w_enc", "b_enc", "w_dec", "b_dec", "b_gate", "r_mag", "b_mag"):
        assert getattr(moved, name).device.type == "meta", name
    assert (moved.architecture, moved.hook) == (sae.architecture, sae.hook)
    assert sae.w_enc.device.type == "cpu"  # the original is unchanged


def test_a_foreign_sae_gets_its_inputs_on_its_own_device():
    seen = []

    class Foreign:
        W_dec = torch.zeros(D_SAE, D_IN, device="meta")
        cfg = type("cfg", (), {"hook_name": "blocks.0.mlp.hook_post"})()

        def encode(self, x):  # meta tensors hold no data: answer with CPU zeros
            seen.append(x.device.type)
            return torch.zeros(*x.shape[:-1], D_SAE)

        def decode(self, f):
            seen.append(f.device.type)
            return torch.zeros(*f.shape[:-1], D_IN)

    sae = as_sae(Foreign())
    assert sae.device.type == "meta"
    assert sae.encode(torch.ones(2, D_IN)).shape == (2, D_SAE)
    assert sae.decode(torch.ones(2, D_SAE)).device.type == "cpu"
    assert seen == ["meta", "meta"]  # the CPU inputs went to the object's device
