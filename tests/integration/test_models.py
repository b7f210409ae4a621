import hashlib
import shutil
from pathlib import Path

import pytest

from neurospec.errors import CheckpointError, ModelNotFound, ModelUnavailable, UntrustedCheckpoint
from neurospec.models import load_model

TINY = Path(__file__).resolve().parents[2] / "fixtures" / "models" / "tiny-bilingual"


def test_bundled_files_match_the_manifest(manifest):
    assert manifest["files"], "the manifest lists no files"
    for rel, digest in manifest["files"].items():
        assert hashlib.sha256((TINY / rel).read_bytes()).hexdigest() == digest, rel
    for rel, info in manifest["heldout_data"].items():
        data = (TINY.parents[2] / rel).read_bytes()
        assert hashlib.sha256(data).hexdigest() == info["sha256"], rel


def test_manifest_documents_the_german_neuron(manifest):
    g = manifest["german_neuron"]
    assert g["passes"] and g["auroc"] >= 0.9
    assert g["ablation_delta_loss_german"] >= 10 * g["random_median_abs_german"]
    assert abs(g["ablation_delta_loss_english"]) <= 0.01
    assert len(manifest["checkpoints"]) >= 3


def test_loaded_model_records_what_changes_numbers(tiny):
    info = tiny.info()
    assert info["prepend_bos"] is True and info["dtype"] == "float32"
    assert len(info["fingerprint"]) == 16
    assert tiny.n_layers == 2 and tiny.d_vocab >= len(tiny.tokenizer)


def test_checkpoints_load_and_differ(tiny, manifest):
    steps = sorted(manifest["checkpoints"], key=lambda s: int(s[4:]))
    early = load_model(f"tiny-bilingual@{steps[0]}")
    assert early.fingerprint != tiny.fingerprint and early.checkpoint == steps[0]
    with pytest.raises(ModelNotFound, match="no checkpoint 'step7'.*available"):
        load_model("tiny-bilingual@step7")


def test_unknown_model_lists_the_available_ones():
    with pytest.raises(ModelNotFound, match="unknown model 'tiny-bilingal'.*tiny-bilingual"):
        load_model("tiny-bilingal")


def test_hub_model_offline_says_how_to_run(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable, match="huggingface-cli download EleutherAI/pythia-70m"):
        load_model("pythia-70m")


def _copy(tmp_path):
    dest = tmp_path / "ckpt"
    shutil.copytree(TINY, dest, ignore=shutil.ignore_patterns("checkpoints", "MANIFEST.json"))
    return dest


def test_pickle_checkpoint_needs_trust(tmp_path, tiny):
    import torch

    dest = _copy(tmp_path)
    state = {k: v.clone() for k, v in
             __import__("safetensors.torch", fromlist=["load_file"]).load_file(
                 dest / "model.safetensors").items()}
    (dest / "model.safetensors").unlink()
    torch.save(state, dest / "pytorch_model.bin")
    with pytest.raises(UntrustedCheckpoint, match="never unpickles"):
        load_model(str(dest))
    trusted = load_model(str(dest), trust_pickle=True)
    assert trusted.fingerprint == tiny.fingerprint


def test_corrupt_weights_and_foreign_tokenizer(tmp_path):
    dest = _copy(tmp_path)
    w = dest / "model.safetensors"
    w.write_bytes(w.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="corrupt"):
        load_model(str(dest))
    dest2 = _copy(tmp_path / "b")
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(dest2)
    tok.add_tokens([f"<extra{i}>" for i in range(10)])
    tok.save_pretrained(dest2)
    with pytest.raises(CheckpointError, match="tokenizer has .* tokens but the model's vocab"):
        load_model(str(dest2))
