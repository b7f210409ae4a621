"""GPT-2-style checkpoints (Conv1D weights stored [in, out], the KV cache passed to blocks
positionally): sweeps and weight readers must work on them as on GPT-NeoX.  A tiny GPT-2 with
random weights is built in a temporary folder (no hub needed)."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory):
    from transformers import GPT2Config, GPT2LMHeadModel
    from transformers.utils import logging as hf_logging

    from neurospec import load_model

    hf_logging.disable_progress_bar()
    folder = tmp_path_factory.mktemp("gpt2")
    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=4096, n_positions=128, n_embd=64, n_layer=3, n_head=4,
                     n_inner=128, bos_token_id=0, eos_token_id=0)
    GPT2LMHeadModel(cfg).save_pretrained(folder, safe_serialization=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(ROOT / "fixtures/models/tiny-bilingual" / name, folder / name)
    return load_model(str(folder), device="cpu")


@pytest.fixture(scope="module")
def docs():
    from neurospec.data.corpus import load_corpus

    return load_corpus("german").subset(3)


def test_weights_read_in_the_right_orientation(gpt2):
    mlp = gpt2.bridge.blocks[1].mlp.out.original_component
    assert type(mlp).__name__ == "Conv1D"
    assert gpt2.mlp_out_weight(1).shape == (128, 64)
    assert torch.equal(gpt2.mlp_out_weight(1), mlp.weight)
    assert gpt2.attn_out_weight(0).shape == (64, 64)
    assert gpt2.unembed_weight().shape == (64, 4096)


def test_replay_of_later_blocks_is_exact(gpt2, docs):
    from neurospec.data.tokens import tokenize

    _, ids, _ = next(tokenize(gpt2, docs).batches())
    for layer in range(gpt2.n_layers):
        logits, resid, replay = gpt2.split_run(ids, layer)
        assert torch.allclose(replay(resid), logits, atol=1e-5)
        assert torch.allclose(replay(resid.repeat(2, 1, 1))[-len(ids):], logits, atol=1e-5)


@pytest.mark.parametrize("layer,method", [(0, "downstream"), (2, "closed_form")])
def test_sweeps_equal_the_loop(gpt2, docs, layer, method):
    from neurospec.measure.sweep import neuron_sweep

    loop = neuron_sweep(gpt2, docs, layer, to="zero", method="loop")
    fast = neuron_sweep(gpt2, docs, layer, to="zero", method=method)
    assert np.abs(fast.delta - loop.delta).max() <= 1e-4
