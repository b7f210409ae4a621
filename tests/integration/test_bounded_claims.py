"""Claims and loaders refuse values that cannot work with an error naming the value (issue 26,
item 6): counts of zero, hostile SAE configs, token ids outside the model's vocabulary."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from neurospec.errors import CheckpointError, DatasetError, InvalidArgument

ROOT = Path(__file__).resolve().parents[2]
SAE = ROOT / "fixtures" / "saes" / "tiny-bilingual" / "L0"


@pytest.mark.parametrize("call, message", [
    (lambda e, de: e.simplifies(on=de, k=0), r"simplifies\(k=0\): expected a count >= 1"),
    (lambda e, de: e.simplifies(on=de, keep=2), r"keep=2 is a share"),
    (lambda e, de: e.optimised_prompts_reach(on=de, restarts=0),
     r"optimised_prompts_reach\(restarts=0\): expected a count >= 1"),
    (lambda e, de: e.optimised_prompts_reach(on=de, steps=-3),
     r"optimised_prompts_reach\(steps=-3\)"),
    (lambda e, de: e.activates_more(on=de, than="english", by_at_least=0)
     .beats_random_units(k=0), r"beats_random_units\(k=0\): expected a count >= 1"),
])
def test_counts_that_cannot_work_are_refused(tiny, small_sets, call, message):
    from neurospec import expect

    with pytest.raises(InvalidArgument, match=message):
        call(expect("L0N125", model=tiny), small_sets[0].subset(12))


@pytest.mark.parametrize("change, message", [
    ({"architecture": ["standard"]}, r"architecture .* is not supported"),
    ({"architecture": "topk", "k": True}, r"whole number k in 1\.\.\d+"),
    ({"architecture": "topk", "k": 10 ** 9}, r"whole number k in 1\.\.\d+"),
    ({"architecture": "topk", "activation_fn_kwargs": [32]}, r"activation_fn_kwargs=\[32\]"),
    ({"hook_name": 5}, r"hook_name=5 is not a hook name"),
    ({"d_sae": "big"}, r"cfg.json says d_sae=big but the weights have"),
    ({"apply_b_dec_to_input": "no"}, r"apply_b_dec_to_input='no'; it must be true or false"),
    ({"normalize_activations": {"x": 1}}, r"normalize_activations=.* is not supported"),
])
def test_hostile_sae_configs_are_refused_by_name(tmp_path, change, message):
    from neurospec.measure.sae import load_sae

    folder = tmp_path / "sae"
    shutil.copytree(SAE, folder)
    cfg = json.loads((folder / "cfg.json").read_text())
    cfg.update(change)
    (folder / "cfg.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match=message):
        load_sae(folder)


def test_the_strings_false_and_true_in_an_sae_config_mean_what_they_say(tmp_path):
    from neurospec.measure.sae import load_sae

    folder = tmp_path / "sae"
    shutil.copytree(SAE, folder)
    cfg = json.loads((folder / "cfg.json").read_text())
    (folder / "cfg.json").write_text(json.dumps({**cfg, "apply_b_dec_to_input": "false"}))
    assert load_sae(folder).apply_b_dec_to_input is False


def test_token_ids_outside_the_vocabulary_are_an_error_naming_them():
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from neurospec import Corpus
    from neurospec.measure.activations import neuron_activations
    from neurospec.models import load_model
    from neurospec.units import neuron

    folder = ROOT / "fixtures" / "models" / "tiny-bilingual"
    hf = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager")
    tok = AutoTokenizer.from_pretrained(folder)
    m = load_model(hf, tokenizer=tok)
    m.tokenizer.add_tokens(["zzqxword"])  # the tokenizer grows after the model was wrapped
    docs = Corpus.from_texts(["der zzqxword hund"] * 2 + ["die katze"], name="oov")
    with pytest.raises(DatasetError, match=r"the tokenizer gave token id 4096, but "
                                           r".*vocabulary has 4096 rows"):
        neuron_activations(m, docs, neuron("L0N1"))
