"""The bad-input matrix: every input a researcher gets wrong fails with neurospec's own kind
of error, whose message names the problem and says how to fix it, and leaves the shared
model as it found it (no hook left, so the tests after it still run).

Each case is a function registered with :func:`case`; the plugin-level cases (``--device
cuda``, unwritable output paths, one bad claim among good ones) are in
``tests/plugin/test_bad_inputs_plugin.py``.
"""

from __future__ import annotations

import json
import pickle
import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from neurospec import Corpus, expect, head
from neurospec.claims.expect import expect_layer
from neurospec.data.corpus import load_corpus
from neurospec.errors import (
    CheckpointError,
    DatasetError,
    InvalidArgument,
    InvalidUnit,
    ModelNotFound,
    NeurospecError,
    NeurospecWarning,
    NumericalError,
    OutputError,
    ResultsFileError,
    Underpowered,
    UnitOutOfRange,
    UntrustedCheckpoint,
    WrongUnitKind,
)
from neurospec.evidence.jsonio import atomic_write_text, read_results
from neurospec.evidence.sink import collecting
from neurospec.measure.forward import run_corpus
from neurospec.measure.sae import check_sae, load_sae
from neurospec.models import load_model

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "fixtures" / "models" / "tiny-bilingual"
SAES = ROOT / "fixtures" / "saes" / "tiny-bilingual"
UNIT = "L0N125"


@dataclass
class Env:
    tiny: object
    de: Corpus
    en: Corpus
    tmp: Path


@pytest.fixture
def env(tiny, small_sets, tmp_path) -> Env:
    return Env(tiny, small_sets[0], small_sets[1], tmp_path)


CASES = []


def case(error: type, problem: str, fix: str, *marks):
    """Register a bad input: calling it must raise exactly ``error`` whose message matches
    the ``problem`` and ``fix`` patterns."""
    def register(fn):
        CASES.append(pytest.param(fn, error, problem, fix, marks=marks,
                                  id=fn.__name__.removeprefix("bad_")))
        return fn
    return register


def copy_tiny(tmp: Path, name: str = "copy") -> Path:
    folder = tmp / name
    folder.mkdir()
    for f in ("config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"):
        shutil.copy(TINY / f, folder / f)
    return folder


# -- models and checkpoints ------------------------------------------------------------------

@case(ModelNotFound, r"unknown model 'tiny-bilinguall'",
      r"Bundled/local models: .*tiny-bilingual.*hub names: .*pythia-70m")
def bad_model_name(env):
    load_model("tiny-bilinguall")


@case(ModelNotFound, r"no checkpoint 'step9'", r"available: step150, step1500")
def bad_checkpoint_name(env):
    load_model("tiny-bilingual@step9")


@case(CheckpointError, r"has no config.json", r"point at the folder that holds config.json")
def bad_folder_without_config(env):
    load_model(str(env.tmp))


@case(CheckpointError, r"config.json but no weights", r"copy the weights next to config.json")
def bad_folder_without_weights(env):
    folder = copy_tiny(env.tmp)
    (folder / "model.safetensors").unlink()
    load_model(str(folder))


@case(CheckpointError, r"model.safetensors is truncated or corrupt", r"re-download or rebuild")
def bad_truncated_safetensors(env):
    folder = copy_tiny(env.tmp)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1000])  # an interrupted download
    load_model(str(folder))


@case(CheckpointError, r"not a valid safetensors file", r"re-download or rebuild")
def bad_corrupt_safetensors(env):
    folder = copy_tiny(env.tmp)
    (folder / "model.safetensors").write_bytes(b"<html>404 Not Found</html>" * 10)
    load_model(str(folder))


class _Payload:
    """A pickle that, when unpickled, creates a file: the proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@case(UntrustedCheckpoint, r"holds only pickle weights \(pytorch_model.bin\)",
      r"trust_pickle=True .*only if you trust.*convert it once to safetensors")
def bad_pickle_without_trust(env):
    folder = copy_tiny(env.tmp)
    (folder / "model.safetensors").unlink()
    marker = env.tmp / "code-ran"
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(_Payload(marker)))
    try:
        load_model(str(folder))
    finally:
        assert not marker.exists(), "the pickle was unpickled"


@case(CheckpointError, r"tokenizer has 4106 tokens but the model's vocabulary has 4096 rows",
      r"the tokenizer belongs to another model; use the tokenizer saved with these weights")
def bad_tokenizer_larger_than_vocab(env):
    from transformers import AutoTokenizer

    folder = copy_tiny(env.tmp)
    tok = AutoTokenizer.from_pretrained(folder)
    tok.add_tokens([f"zzq{i}" for i in range(10)])
    tok.save_pretrained(folder)
    load_model(str(folder), device="cpu")


@case(InvalidArgument, r"dtype 'float8' is not supported", r"use one of .*'float32'")
def bad_dtype(env):
    load_model("tiny-bilingual", dtype="float8")


@case(InvalidArgument, r"--device cuda was asked for but this machine has no CUDA",
      r"use --device cpu or auto",
      pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA"))
def bad_device_cuda_without_cuda(env):
    load_model("tiny-bilingual", device="cuda")


# -- units and hooks ---------------------------------------------------------------------------

@case(UnitOutOfRange, r"L5N3: layer 5 does not exist in tiny-bilingual", r"layers 0\.\.1")
def bad_layer_out_of_range(env):
    expect("L5N3", model=env.tiny)


@case(UnitOutOfRange, r"neuron 256 does not exist in layer 0", r"neurons 0\.\.255")
def bad_neuron_out_of_range(env):
    expect("L0N256", model=env.tiny)


@case(UnitOutOfRange, r"head 4 does not exist in layer 1", r"heads 0\.\.3")
def bad_head_out_of_range(env):
    expect(head("L1H4"), model=env.tiny)


@case(UnitOutOfRange, r"L0F1024: the SAE has features", r"0\.\.1023")
def bad_feature_out_of_range(env):
    expect("L0F1024", model=env.tiny, sae=SAES / "L0")


@case(InvalidUnit, r"'L0X230' is not a unit name", r"expected L<layer>N<neuron> \(e.g. 'L3N669'\)")
def bad_unit_name(env):
    expect("L0X230", model=env.tiny)


@case(WrongUnitKind, r"'L0H1' is a head, not a neuron", r"write neurons as L<layer>N<index>")
def bad_unit_kind(env):
    expect("L0H1", model=env.tiny).activates_more(on=env.de, than=env.en, by_at_least=0.1)


@case(InvalidArgument, r"no hook point 'blocks.1.hook_mlp_ot'",
      r"did you mean 'blocks.1.hook_mlp_out'")
def bad_hook_name_typo(env):
    expect(UNIT, model=env.tiny).ablated(to="zero").runs_through(
        ["blocks.1.hook_mlp_ot"], on=env.de, share_at_least=0.1)


@case(InvalidArgument, r"no hook point 'blocks.0.mlp.hook_pots'",
      r"did you mean 'blocks.0.mlp.hook_post'")
def bad_sae_hook_typo(env):
    check_sae(env.tiny, load_sae(SAES / "L0" / "sae_weights.safetensors",
                                 hook="blocks.0.mlp.hook_pots"))


@case(CheckpointError, r"reads 256-dim vectors but tiny-bilingual's blocks.0.hook_resid_post "
                       r"has 128", r"belongs to another model or hook")
def bad_sae_dims_do_not_match_hook(env):
    check_sae(env.tiny, load_sae(SAES / "L0" / "sae_weights.safetensors",
                                 hook="blocks.0.hook_resid_post"))


@case(CheckpointError, r"cfg.json says d_sae=512 but the weights have 1024",
      r"")  # the fix is to make the two agree; the message names both numbers
def bad_sae_config_disagrees_with_weights(env):
    folder = env.tmp / "sae"
    shutil.copytree(SAES / "L0", folder)
    cfg = json.loads((folder / "cfg.json").read_text())
    (folder / "cfg.json").write_text(json.dumps({**cfg, "d_sae": 512}))
    load_sae(folder)


@case(InvalidArgument, r"L1F3 is a layer-1 feature but the SAE reads blocks.0.mlp.hook_post",
      r"")
def bad_feature_layer_not_the_saes(env):
    expect("L1F3", model=env.tiny, sae=SAES / "L0")


# -- datasets ---------------------------------------------------------------------------------

@case(DatasetError, r"dataset 'nothing' is empty", r"needs at least a few documents")
def bad_empty_dataset(env):
    Corpus.from_texts([], name="nothing")


@case(DatasetError, r"dataset 'blank' is empty", r"needs at least a few documents")
def bad_empty_dataset_file(env):
    (env.tmp / "blank.jsonl").write_text("\n\n")
    load_corpus("blank", [env.tmp])


@case(DatasetError, r"no dataset named 'germn'", r"available: .*german.*--neurospec-data DIR")
def bad_dataset_name(env):
    load_corpus("germn")


@case(DatasetError, r"bad.jsonl:2 is not a JSON object with a 'text' field",
      r"each line must be like")
def bad_dataset_line(env):
    (env.tmp / "bad.jsonl").write_text('{"text": "gut"}\n{"txt": "schlecht"}\n')
    load_corpus("bad", [env.tmp])


@case(DatasetError, r"documents \['12'\] have fewer than 2 tokens", r"remove them")
def bad_one_token_document(env):
    docs = Corpus.from_texts([f"Der Hund {i} bellt laut." for i in range(12)] + ["a"]
                             + [f"Die Katze {i}." for i in range(3)])
    expect(UNIT, model=env.tiny).activates_more(on=docs, than=env.en, by_at_least=0.0)


@case(InvalidArgument, r"expected a corpus .* got int", r"corpus\('german'\)")
def bad_corpus_type(env):
    expect(UNIT, model=env.tiny).activates_more(on=42, than=env.en, by_at_least=0.1)


# -- numbers ---------------------------------------------------------------------------------

@case(NumericalError, r"NaN or Inf in activations at blocks.0.mlp.hook_post",
      r"weights hold NaN/Inf \(gpt_neox.layers.0.mlp.dense_h_to_4h.weight\).*use an earlier "
      r"or re-exported checkpoint")
def bad_nan_weights(env):
    folder = copy_tiny(env.tmp)
    weights = load_file(folder / "model.safetensors")
    weights["gpt_neox.layers.0.mlp.dense_h_to_4h.weight"][7] = float("nan")
    save_file(weights, folder / "model.safetensors")
    model = load_model(str(folder), device="cpu")
    expect(UNIT, model=model).activates_more(on=env.de, than=env.en, by_at_least=0.1)


@case(NumericalError, r"NaN or Inf in the loss on dataset 'german\[:40\]'",
      r"weights are finite, so check the intervention values")
def bad_inf_from_intervention(env):
    from neurospec.data.tokens import tokenize

    def blow_up(docs, lengths):
        return [("blocks.0.hook_resid_post", lambda x, hook=None: x * float("inf"))]

    run_corpus(env.tiny, tokenize(env.tiny, env.de), hooks=blow_up)


@case(InvalidArgument, r"by_at_least='0.1': expected a finite number", r"such as 0.05, not str")
def bad_threshold_type(env):
    expect(UNIT, model=env.tiny).activates_more(on=env.de, than=env.en, by_at_least="0.1")


@case(InvalidArgument, r"by_at_least=-0.2 must be >= 0", r"swap on= and than=")
def bad_threshold_sign(env):
    expect(UNIT, model=env.tiny).activates_more(on=env.de, than=env.en, by_at_least=-0.2)


@case(InvalidArgument, r"tolerance=nan: expected a finite number", r"such as 0.05")
def bad_threshold_nan(env):
    expect(UNIT, model=env.tiny).ablated(to="zero").and_not_on(env.en, tolerance=float("nan"))


@case(InvalidArgument, r"share_at_least=90 is a share and must lie in \[0, 1\]",
      r"write 0.9 for 90%")
def bad_share_as_percent(env):
    expect_layer(1, model=env.tiny).top_neurons_carry(5, share_at_least=90, on=env.de)


@case(InvalidArgument, r"against_random=2.5: expected a count", r">= 0")
def bad_count_type(env):
    expect(UNIT, model=env.tiny).ablated(to="zero").raises_loss(on=env.de, by_at_least=0.0,
                                                                 against_random=2.5)


@case(InvalidArgument, r"ablated\(to=nan\): the value must be finite", r"")
def bad_ablation_value(env):
    expect(UNIT, model=env.tiny).ablated(to=float("nan"))


@case(InvalidArgument, r"ablated\(to='mean'\) needs over=<corpus>", r"over=corpus\('english'\)")
def bad_mean_ablation_without_reference(env):
    expect(UNIT, model=env.tiny).ablated(to="mean")


# -- too few documents: an explicit verdict, never a crash -------------------------------------

@case(Underpowered, r"german\[:40\]\[:3\] has 3, english\[:40\]\[:4\] has 4 documents",
      r"add documents, or lower --neurospec-min-docs")
def bad_underpowered_contrast(env):
    expect(UNIT, model=env.tiny).activates_more(on=env.de.subset(3), than=env.en.subset(4),
                                                by_at_least=0.1)


@case(Underpowered, r"german\[:40\]\[:1\] has 1 documents", r"lower --neurospec-min-docs")
def bad_underpowered_head_ablation(env):
    expect(head("L0H1"), model=env.tiny).ablation_raises_loss(on=env.de.subset(1),
                                                              by_at_least=0.0)


@case(Underpowered, r"german\[:40\]\[:1\] has 1 documents", r"lower --neurospec-min-docs")
def bad_underpowered_path_patching(env):
    expect(UNIT, model=env.tiny).ablated(to="zero").runs_through(
        ["blocks.1.hook_mlp_out"], on=env.de.subset(1), share_at_least=0.1)


@case(Underpowered, r"german\[:40\]\[:2\] has 2 documents", r"lower --neurospec-min-docs")
def bad_underpowered_sweep(env):
    expect_layer(1, model=env.tiny).top_neurons_carry(5, share_at_least=0.1,
                                                      on=env.de.subset(2), to="zero")


# -- files neurospec reads and writes ----------------------------------------------------------

@case(ResultsFileError, r"has schema 'neurospec.results/0', but this neurospec reads "
                        r"'neurospec.results/1'", r"re-run the suite with this neurospec")
def bad_results_schema(env):
    path = env.tmp / "old.json"
    path.write_text(json.dumps({"schema": "neurospec.results/0", "records": []}))
    read_results(path)


@case(ResultsFileError, r"is not a neurospec results file \(not JSON", r"re-run the suite")
def bad_results_truncated(env):
    path = env.tmp / "cut.json"
    path.write_text('{"schema": "neurospec.results/1", "records": [{"cl')
    read_results(path)


@case(ResultsFileError, r"cannot read results file .*missing.json", r"check the path")
def bad_results_missing(env):
    read_results(env.tmp / "missing.json")


@case(OutputError, r"cannot write .*run.json", r"choose a writable path")
def bad_output_path_under_a_file(env):
    (env.tmp / "a-file").write_text("")
    atomic_write_text(env.tmp / "a-file" / "run.json", "{}")


@case(OutputError, r"cannot write .*: it is a folder", r"give a file path")
def bad_output_path_is_a_folder(env):
    atomic_write_text(env.tmp, "{}")


@pytest.mark.parametrize("make, error, problem, fix", CASES)
def test_bad_input_fails_clearly(make, error, problem, fix, env):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeurospecWarning)
        with collecting(), pytest.raises(NeurospecError) as info:
            make(env)
    err = info.value
    assert type(err) is error, f"{type(err).__name__} instead of {error.__name__}: {err}"
    message = str(err)
    assert re.search(problem, message), f"the problem is not named: {message}"
    assert re.search(fix, message), f"no fix is given: {message}"
    assert not env.tiny.leftover_hooks()


def test_the_matrix_is_wide():
    assert len(CASES) >= 20


def test_underpowered_is_a_recorded_verdict(env):
    """An underpowered claim is a failed assertion with its record, not an exception from
    deep inside the statistics."""
    with collecting() as records, pytest.raises(AssertionError,
                                                match="nothing was measured") as info:
        expect(head("L0H1"), model=env.tiny).ablation_raises_loss(on=env.de.subset(2),
                                                                  by_at_least=0.0)
    assert isinstance(info.value, Underpowered) and info.value.record is records[0]
    assert [r.verdict for r in records] == ["underpowered"]


def test_long_documents_are_truncated_with_a_warning_and_counted(env):
    from neurospec.data.corpus import load_corpus

    german = load_corpus("german").texts  # distinct documents (near-copies would be one unit)
    long = Corpus.from_texts([" ".join(german[8 * i:8 * i + 8]) * 3 for i in range(12)],
                             name="long")
    with collecting() as records, pytest.warns(NeurospecWarning,
                                               match=r"12 of 12 documents are longer than "
                                                     r"tiny-bilingual's context of 128"):
        expect(UNIT, model=env.tiny).activates_more(on=long, than=env.en, by_at_least=0.0)
    assert records[0].data["truncated"][0] == 12
    assert records[0].details["n_tokens"]["long"] == 12 * 127  # context minus BOS
