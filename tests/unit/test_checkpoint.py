import json
import struct

import pytest

from neurospec.errors import CheckpointError, UntrustedCheckpoint
from neurospec.models.checkpoint import check_safetensors, inspect_folder


def _safetensors(path, n_bytes=16):
    header = json.dumps({"w": {"dtype": "F32", "shape": [n_bytes // 4],
                               "data_offsets": [0, n_bytes]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * n_bytes)


def test_pickle_only_folder_is_refused_without_trust(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"not really")
    with pytest.raises(UntrustedCheckpoint, match="never unpickles.*trust_pickle=True"):
        inspect_folder(tmp_path)
    assert inspect_folder(tmp_path, trust_pickle=True).uses_pickle


def test_safetensors_preferred_over_pickles(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"x")
    _safetensors(tmp_path / "model.safetensors")
    assert not inspect_folder(tmp_path).uses_pickle


def test_folder_without_config_or_weights(tmp_path):
    with pytest.raises(CheckpointError, match="no config.json"):
        inspect_folder(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(CheckpointError, match="no weights"):
        inspect_folder(tmp_path)


def test_truncated_and_garbage_safetensors(tmp_path):
    p = tmp_path / "model.safetensors"
    _safetensors(p)
    assert "w" in check_safetensors(p)
    p.write_bytes(p.read_bytes()[:-5])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        check_safetensors(p)
    p.write_bytes(b"\xff" * 64)
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        check_safetensors(p)
