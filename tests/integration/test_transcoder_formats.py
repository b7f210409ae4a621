"""Transcoder layouts read without a model: each reads back the tensors it was written with,
the encoder formula of its activation, and every malformed file is refused naming the fix."""

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from tc_files import FORMATS, activation, features, write

from neurospec.errors import CheckpointError, InvalidArgument
from neurospec.measure.transcoder import Transcoder, TranscoderSet, load_transcoder

D, N_TC, LAYERS = 16, 24, 3
BUNDLED = Path(__file__).resolve().parents[2] / "fixtures" / "transcoders" / "tiny-bilingual"


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_layout_reads_its_definition(fmt, tmp_path):
    path, kwargs, ws = write(fmt, tmp_path / fmt, D, N_TC, LAYERS)
    got = load_transcoder(path, **kwargs)
    tcs = got.layers if isinstance(got, TranscoderSet) else (got,)
    x = torch.randn(7, D)
    for tc in tcs:
        w = ws[tc.layer]
        assert tc.hook_in == f"blocks.{tc.layer}.mlp.hook_in"
        assert tc.hook_out() == f"blocks.{tc.layer}.hook_mlp_out"
        torch.testing.assert_close(tc.encode(x), features(w, x, activation(fmt)))
        for i in (0, 5):
            torch.testing.assert_close(tc.feature(x, i), features(w, x, activation(fmt))[:, i])
        assert list(tc.targets) == (list(range(tc.layer, LAYERS)) if fmt == "clt"
                                    else [tc.layer])
        for t in tc.targets:
            torch.testing.assert_close(tc.decode(torch.eye(N_TC), t), w["W_dec"][:, t - tc.layer])
        assert (tc.w_skip is not None) == (fmt in ("saelens_skip", "ct_plt"))


def test_the_bundled_transcoders_are_a_saelens_set():
    tcs = load_transcoder("tiny-bilingual")
    assert isinstance(tcs, TranscoderSet) and [t.layer for t in tcs.layers] == [0, 1]
    one = load_transcoder("tiny-bilingual/L1")
    assert isinstance(one, Transcoder) and (one.d_in, one.d_tc, one.d_out) == (128, 512, 128)
    assert one.hook_in == "blocks.1.mlp.hook_in" and one.activation == "relu"
    manifest = json.loads((BUNDLED / "MANIFEST.json").read_text())
    assert manifest["replacement_held_out"]["loss_recovered"] > 0.9


def _saelens(tmp_path, **cfg_changes):
    folder = tmp_path / "tc"
    shutil.copytree(BUNDLED / "L0", folder)
    cfg = json.loads((folder / "cfg.json").read_text())
    cfg.update(cfg_changes)
    (folder / "cfg.json").write_text(json.dumps(cfg))
    return folder


@pytest.mark.parametrize("change, match", [
    ({"architecture": "gated"}, "not a transcoder neurospec reads"),
    ({"apply_b_dec_to_input": True}, "set it to false"),
    ({"normalize_activations": "expected_average_only_in"}, "fold it into"),
    ({"metadata": {"hook_name": "blocks.0.hook_mlp_in"}}, "never calls it"),
    ({"metadata": {}}, "pass hook_in="),
    ({"d_sae": 99}, "cfg.json says d_sae=99"),
    ({"reshape_activations": "hook_z"}, "save it with 'none'"),
    ({"metadata": {"hook_name": "blocks.0.mlp.hook_in", "hook_name_out": "blocks.1.hook_mlp_out"}},
     "predicts its own block"),
])
def test_saelens_folders_that_change_numbers_are_refused(tmp_path, change, match):
    with pytest.raises(CheckpointError, match=match):
        load_transcoder(_saelens(tmp_path, **change))


def test_skip_tensors_must_match_the_architecture(tmp_path):
    folder = _saelens(tmp_path, architecture="skip_transcoder")
    with pytest.raises(CheckpointError, match="needs its W_skip"):
        load_transcoder(folder)
    t = load_file(folder / "sae_weights.safetensors")
    t["W_skip"] = torch.zeros(128, 128)
    save_file(t, folder / "sae_weights.safetensors")
    assert load_transcoder(folder).w_skip is not None
    (folder / "cfg.json").write_text((folder / "cfg.json").read_text().replace(
        "skip_transcoder", "transcoder"))
    with pytest.raises(CheckpointError, match="has no skip connection"):
        load_transcoder(folder)


def test_broken_tensors_are_refused(tmp_path):
    folder = _saelens(tmp_path, architecture="jumprelu_transcoder")
    with pytest.raises(CheckpointError, match="lacks \\['threshold'\\]"):
        load_transcoder(folder)
    t = load_file(folder / "sae_weights.safetensors")
    t["threshold"] = torch.zeros(7)
    save_file(t, folder / "sae_weights.safetensors")
    with pytest.raises(CheckpointError, match="inconsistent transcoder shapes"):
        load_transcoder(folder)


def test_plain_and_circuit_tracer_files_need_what_they_do_not_say(tmp_path):
    path, _, _ = write("plain_topk", tmp_path / "p", D, N_TC, 1)
    (path.parent / "cfg.json").unlink()
    with pytest.raises(InvalidArgument, match="say which hook"):
        load_transcoder(path)
    with pytest.raises(CheckpointError, match="needs a whole number k"):
        load_transcoder(path, hook_in="blocks.0.mlp.hook_in", activation="topk")
    assert load_transcoder(path, hook_in="blocks.0.mlp.hook_in", activation="topk", k=3).k == 3
    write("ct_plt", tmp_path / "c", D, N_TC, 1)
    with pytest.raises(InvalidArgument, match="pass layer="):
        load_transcoder(tmp_path / "c" / "layer_0.safetensors")
    assert load_transcoder(tmp_path / "c" / "layer_0.safetensors", layer=4).layer == 4
    cfg = json.loads((tmp_path / "c" / "set.yaml").read_text())
    cfg["transcoders"][0]["filepath"] = "hf://org/repo/layer_0.safetensors"
    (tmp_path / "c" / "set.yaml").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="download it"):
        load_transcoder(tmp_path / "c" / "set.yaml")


def test_clt_folders_are_checked(tmp_path):
    path, kwargs, _ = write("clt", tmp_path / "clt", D, N_TC, LAYERS)
    assert load_transcoder(path).layers[0].hook_in == "blocks.0.hook_resid_mid"  # its default
    (path / "W_dec_1.safetensors").unlink()
    with pytest.raises(CheckpointError, match="lacks W_dec_1"):
        load_transcoder(path, **kwargs)
    save_file({"W_dec_1": torch.zeros(N_TC, LAYERS, D)}, str(path / "W_dec_1.safetensors"))
    with pytest.raises(CheckpointError, match="needs \\[d_tc, 2, d_model\\]"):
        load_transcoder(path, **kwargs)
    (path / "W_enc_1.safetensors").unlink()
    with pytest.raises(CheckpointError, match="one per block from 0"):
        load_transcoder(path, **kwargs)


def test_paths_are_found_or_refused_with_where_it_looked(tmp_path):
    with pytest.raises(CheckpointError, match="bundled transcoders: tiny-bilingual/L0"):
        load_transcoder("no-such-transcoder")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="holds no transcoder"):
        load_transcoder(tmp_path / "empty")
    with pytest.raises(InvalidArgument, match="is not a transcoder"):
        load_transcoder(42)  # type: ignore[arg-type]
