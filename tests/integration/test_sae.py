"""SAEs: both on-disk layouts, checks against the model, and feature activations against
encoding the plain hook activations by hand."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from neurospec.claims.expect import expect
from neurospec.data.tokens import tokenize
from neurospec.errors import CheckpointError, InvalidArgument, UnitOutOfRange
from neurospec.measure.activations import hook_pass
from neurospec.measure.sae import feature_activations, load_sae, reconstruction_error
from neurospec.units import Feature

SAES = Path(__file__).resolve().parents[2] / "fixtures" / "saes" / "tiny-bilingual"


def test_layouts_load_the_same(tmp_path):
    a = load_sae(SAES / "L0")
    assert (a.hook, a.d_in, a.d_sae) == ("blocks.0.mlp.hook_post", 256, 1024)
    b = load_sae(SAES / "L0" / "sae_weights.safetensors", hook="blocks.0.mlp.hook_post")
    assert torch.equal(a.w_enc, b.w_enc)
    with pytest.raises(InvalidArgument, match="which hook"):
        load_sae(SAES / "L0" / "sae_weights.safetensors")


def test_bad_saes_are_refused(tmp_path, tiny):
    bad = tmp_path / "bad"
    shutil.copytree(SAES / "L0", bad)
    cfg = json.loads((bad / "cfg.json").read_text())
    cfg["hook_name"] = "blocks.1.hook_resid_post"  # 128-dim, the SAE reads 256
    (bad / "cfg.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="reads 256-dim vectors but"):
        expect("L1F3", model=tiny, sae=load_sae(bad))
    t = load_file(bad / "sae_weights.safetensors")
    del t["b_dec"]
    save_file(t, bad / "sae_weights.safetensors")
    with pytest.raises(CheckpointError, match="lacks"):
        load_sae(bad)
    with pytest.raises(UnitOutOfRange, match="features 0..1023"):
        expect("L0F5000", model=tiny, sae=SAES / "L0")
    with pytest.raises(InvalidArgument, match="pass sae="):
        expect("L0F5", model=tiny)


def test_feature_activations_equal_encoding_the_hook(tiny, small_sets):
    de = small_sets[0].subset(5)
    sae = load_sae(SAES / "L1")
    got = feature_activations(tiny, sae, de, Feature(1, 17))
    bos = tiny.tokenizer.bos_token_id
    for k, text in enumerate(de.texts):
        toks = torch.tensor([[bos] + tiny.encode([text])[0][:tiny.n_ctx - 1]])
        _, cache = tiny.bridge.run_with_cache(toks, names_filter=lambda n: n == sae.hook)
        x = cache[sae.hook][0, 1:]
        ref = torch.relu((x - sae.b_dec) @ sae.w_enc[:, 17] + sae.b_enc[17])
        np.testing.assert_allclose(got.per_token[k], ref.double().numpy(), atol=1e-5)
    assert 0 < reconstruction_error(tiny, sae, de) < 0.5


def test_feature_claim_kind(tiny, small_sets):
    de, en = small_sets
    r = expect("L0F456", model=tiny, sae=SAES / "L0").activates_more(
        on=de, than=en, effect_size_at_least=0.0)
    assert r.kind == "sae_feature" and r.details["sae"].endswith("L0")


def test_feature_attribution_equals_a_finite_difference(tiny, small_sets):
    from neurospec.measure.sae import feature_attribution

    doc = small_sets[0].subset(1)
    s0, s1 = load_sae(SAES / "L0"), load_sae(SAES / "L1")
    attr = feature_attribution(tiny, s0, s1, doc, Feature(1, 367))
    bos = tiny.tokenizer.bos_token_id
    toks = torch.tensor([[bos] + tiny.encode(doc.texts)[0][:tiny.n_ctx - 1]])

    def late_total(scale: float, i: int) -> float:
        def splice(x, hook):
            f0 = s0.encode(x)
            err = x - s0.decode(f0)
            f0 = f0.clone()
            f0[:, 1:, i] *= scale
            return s0.decode(f0) + err

        store = {}
        with torch.no_grad():
            tiny.bridge.run_with_hooks(toks, fwd_hooks=[
                (s0.hook, splice),
                (s1.hook, lambda x, hook: store.__setitem__("x", x))])
        f1 = torch.relu((store["x"][0, 1:] - s1.b_dec) @ s1.w_enc[:, 367] + s1.b_enc[367])
        return float(f1.sum())

    i = int(np.argmax(np.abs(attr[0])))
    eps = 1e-3  # d/d(scale) at scale 1 is exactly sum_p f0 * grad
    fd = (late_total(1 + eps, i) - late_total(1 - eps, i)) / (2 * eps)
    assert attr[0, i] == pytest.approx(fd, rel=1e-2, abs=1e-4)


@pytest.mark.parametrize("arch,extra", [("jumprelu", {}), ("topk", {"k": 16})])
def test_sae_architectures_on_the_model(tmp_path, tiny, small_sets, arch, extra):
    """A JumpReLU / TopK SAE gives the features its rule gives, not the ReLU ones."""
    folder = tmp_path / arch
    shutil.copytree(SAES / "L1", folder)
    t = load_file(folder / "sae_weights.safetensors")
    t["threshold"] = torch.full_like(t["b_enc"], 0.5)
    save_file(t, folder / "sae_weights.safetensors")
    cfg = json.loads((folder / "cfg.json").read_text())
    (folder / "cfg.json").write_text(json.dumps({**cfg, "architecture": arch, **extra}))
    sae, relu = load_sae(folder), load_sae(SAES / "L1")
    de = small_sets[0].subset(3)
    x, _ = hook_pass(tiny, tokenize(tiny, de), sae.hook)
    pre = (x - relu.b_dec) @ relu.w_enc + relu.b_enc
    if arch == "jumprelu":
        ref = torch.relu(pre) * (pre > 0.5)
    else:
        kth = pre.topk(16, dim=-1).values[:, -1:]
        ref = torch.where(pre >= kth, torch.relu(pre), torch.zeros_like(pre))
    feature = int((ref > 0).sum(0).argmax())  # a feature the rule keeps somewhere
    got = feature_activations(tiny, sae, de, Feature(1, feature))
    np.testing.assert_allclose(np.concatenate(got.per_token), ref[:, feature].double().numpy(),
                               atol=1e-5)
    plain = feature_activations(tiny, relu, de, Feature(1, feature))
    assert not np.allclose(np.concatenate(plain.per_token), np.concatenate(got.per_token))


def test_an_sae_object_with_encode_and_decode(tiny, small_sets):
    from neurospec.measure.sae import feature_attribution

    de = small_sets[0].subset(2)
    early, late = load_sae(SAES / "L0"), load_sae(SAES / "L1")

    class Wrapped:  # a foreign SAE: only encode / decode / W_dec / cfg.hook_name
        def __init__(self, sae):
            self.sae, self.W_dec = sae, sae.w_dec
            self.cfg = type("cfg", (), {"hook_name": sae.hook})()

        def encode(self, x):
            return self.sae.encode(x)

        def decode(self, f):
            return self.sae.decode(f)

    ours = feature_activations(tiny, late, de, Feature(1, 17))
    theirs = feature_activations(tiny, Wrapped(late), de, Feature(1, 17))
    np.testing.assert_allclose(np.concatenate(theirs.per_token), np.concatenate(ours.per_token),
                               atol=1e-6)
    a = feature_attribution(tiny, early, late, de, Feature(1, 17))
    b = feature_attribution(tiny, Wrapped(early), Wrapped(late), de, Feature(1, 17))
    np.testing.assert_allclose(a, b, atol=1e-6)
