"""What runs is what was named, and the fingerprint identifies it (issue 26, items 2-4):

- a bare name that is both a folder in the working folder and a bundled (or hub) model is
  an error naming both; a relative SAE path is found under the test's folder or the rootdir
  (or the bundled SAEs by name), never silently another one;
- the same Hugging Face object wrapped again with other settings is an error;
- the fingerprint covers the weights, the configuration that decides what they compute, and
  the tokenizer; a tokenizer that does not fit the vocabulary is refused both ways, for
  folders and objects; nonsensical configuration values are refused before loading;
- a folder whose config asks for its own Python code is refused unless trusted, and its
  code never runs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from neurospec.errors import CheckpointError, InvalidArgument, ModelNotFound

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "fixtures" / "models" / "tiny-bilingual"
PLANTED = ROOT / "fixtures" / "models" / "planted"


def copy_of(src: Path, dst: Path, **config_changes) -> Path:
    dst.mkdir(parents=True)
    for f in ("config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"):
        shutil.copy(src / f, dst / f)
    if config_changes:
        config = json.loads((dst / "config.json").read_text())
        config.update(config_changes)
        (dst / "config.json").write_text(json.dumps(config))
    return dst


def test_a_folder_named_like_a_bundled_model_is_an_error_naming_both(tmp_path, monkeypatch):
    from neurospec.models.registry import resolve

    copy_of(TINY, tmp_path / "tiny-bilingual")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelNotFound, match=r"'tiny-bilingual' names two models: the folder "
                                            r".*tiny-bilingual in the working folder, and the "
                                            r"model 'tiny-bilingual' in .*write './tiny-bilingual'"):
        resolve("tiny-bilingual")
    assert resolve("./tiny-bilingual").folder == Path("./tiny-bilingual")
    (tmp_path / "gpt2").mkdir()
    with pytest.raises(ModelNotFound, match="the hub model 'gpt2'"):
        resolve("gpt2")


def test_relative_sae_paths_resolve_once_or_fail_naming_both(tmp_path, monkeypatch):
    from neurospec.measure.sae_formats import find_sae

    bundled = ROOT / "fixtures" / "saes" / "tiny-bilingual" / "L0"
    tests, root = tmp_path / "proj" / "hypotheses", tmp_path / "proj"
    tests.mkdir(parents=True)
    shutil.copytree(bundled, tests / "mine" / "L0")
    monkeypatch.chdir(tmp_path)  # not the project: a cwd-relative lookup would miss it
    assert find_sae("mine/L0", (tests, root)) == (tests / "mine" / "L0").resolve()
    assert find_sae("tiny-bilingual/L0", (tests, root)) == bundled.resolve()  # by name
    shutil.copytree(bundled, tests / "tiny-bilingual" / "L0")
    with pytest.raises(CheckpointError, match=r"names two SAEs: .*tiny-bilingual/L0 .*and "
                                              r".*tiny-bilingual/L0 \(under the bundled SAEs"):
        find_sae("tiny-bilingual/L0", (tests, root))
    with pytest.raises(CheckpointError, match=r"no SAE at 'nope/L0': looked under .*hypotheses, "
                                              r".*proj, the bundled SAEs .*bundled SAEs: planted"):
        find_sae("nope/L0", (tests, root))


def test_a_wrapped_object_is_not_rewrapped_with_other_settings():
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from neurospec.models import load_model

    hf = AutoModelForCausalLM.from_pretrained(TINY, attn_implementation="eager")
    tok = AutoTokenizer.from_pretrained(TINY)
    first = load_model(hf, tokenizer=tok)
    assert load_model(hf, tokenizer=tok) is first
    with pytest.raises(InvalidArgument, match=r"already wrapped .*prepend_bos=True then, False now"):
        load_model(hf, tokenizer=tok, prepend_bos=False)
    with pytest.raises(InvalidArgument, match=r"tokenizer \(another object\)"):
        load_model(hf, tokenizer=AutoTokenizer.from_pretrained(TINY))


def test_the_fingerprint_covers_config_and_tokenizer(tmp_path):
    from neurospec.models import load_model

    base = load_model(str(copy_of(TINY, tmp_path / "a")))
    assert base.fingerprint == load_model("tiny-bilingual").fingerprint
    config = json.loads((TINY / "config.json").read_text())
    flipped = load_model(str(copy_of(TINY, tmp_path / "b", use_parallel_residual=not config.get(
        "use_parallel_residual", True))))
    heads = load_model(str(copy_of(TINY, tmp_path / "c", num_attention_heads=2 * config[
        "num_attention_heads"])))
    for other in (flipped, heads):
        assert other.fingerprint != base.fingerprint
        assert other.fingerprint_parts["weights"] == base.fingerprint_parts["weights"]
        assert other.fingerprint_parts["config"] != base.fingerprint_parts["config"]
    # the same weights and config with another tokenizer of the same size
    folder = copy_of(TINY, tmp_path / "d")
    tok = json.loads((folder / "tokenizer.json").read_text())
    vocab = tok["model"]["vocab"]
    a, b = sorted(vocab, key=vocab.get)[100:102]
    vocab[a], vocab[b] = vocab[b], vocab[a]
    (folder / "tokenizer.json").write_text(json.dumps(tok))
    swapped = load_model(str(folder))
    assert swapped.fingerprint_parts["tokenizer"] != base.fingerprint_parts["tokenizer"]
    assert swapped.fingerprint != base.fingerprint
    assert base.info()["fingerprint_parts"] == base.fingerprint_parts


@pytest.mark.parametrize("change, message", [
    ({"max_position_embeddings": -5}, r"max_position_embeddings=-5 is not a whole number >= 1"),
    ({"num_attention_heads": 3}, r"num_attention_heads=3 does not divide the width"),
    ({"use_parallel_residual": "yes"}, r"use_parallel_residual='yes' is not true or false"),
    ({"hidden_size": 0}, r"hidden_size=0 is not a whole number >= 1"),
])
def test_nonsensical_config_values_are_refused_before_loading(tmp_path, change, message):
    from neurospec.models import load_model

    with pytest.raises(CheckpointError, match=message):
        load_model(str(copy_of(TINY, tmp_path / "m", **change)))


def test_a_tokenizer_of_another_model_is_refused_both_ways(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from neurospec.models import load_model

    small = copy_of(TINY, tmp_path / "small")
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(PLANTED / f, small / f)
    with pytest.raises(CheckpointError, match=r"the tokenizer has \d+ tokens but the model's "
                                              r"vocabulary has 4096 rows \(more than 1024 of "
                                              r"them unreachable\)"):
        load_model(str(small))
    hf = AutoModelForCausalLM.from_pretrained(TINY, attn_implementation="eager")
    with pytest.raises(CheckpointError, match="more than 1024 of them unreachable"):
        load_model(hf, tokenizer=AutoTokenizer.from_pretrained(PLANTED))
    planted = AutoModelForCausalLM.from_pretrained(PLANTED, attn_implementation="eager")
    with pytest.raises(CheckpointError, match=r"ids from \d+ on would index past the embedding"):
        load_model(planted, tokenizer=AutoTokenizer.from_pretrained(TINY))


def test_a_folder_that_asks_for_its_own_code_is_refused_and_its_code_never_runs(tmp_path):
    from neurospec.errors import UntrustedCode
    from neurospec.models import load_model

    folder = copy_of(TINY, tmp_path / "custom", auto_map={
        "AutoConfig": "configuration_evil.EvilConfig",
        "AutoModelForCausalLM": "modeling_evil.EvilModel"})
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w').write('ran')\n"
    (folder / "configuration_evil.py").write_text(code)
    (folder / "modeling_evil.py").write_text(code)
    with pytest.raises(UntrustedCode, match=r"asks transformers to import the model's own Python "
                                            r"code \(auto_map .*configuration_evil.*"
                                            r"--neurospec-trust-remote-code"):
        load_model(str(folder))
    assert not marker.exists()


def test_a_long_context_over_a_long_document_is_refused_before_it_runs(tmp_path, monkeypatch):
    from neurospec import Corpus
    from neurospec.errors import ResourceError
    from neurospec.measure.activations import neuron_activations
    from neurospec.models import load_model, resources
    from neurospec.units import neuron

    # a machine with 256 MB free: the same arithmetic as a 1M-token document on a big one,
    # without ever allocating much here (code that does not check would run, and fail below)
    monkeypatch.setattr(resources, "available_bytes", lambda device: 256 * 2 ** 20)
    m = load_model(str(copy_of(TINY, tmp_path / "long", max_position_embeddings=10 ** 7)))
    doc = " ".join(["Der Hund bellt laut im Garten."] * 700)  # ~5 600 tokens
    with pytest.raises(ResourceError, match=r"a document of \d+ tokens .*needs about [\d.]+ GiB "
                                            r"for one forward pass.*--neurospec-max-context"):
        neuron_activations(m, Corpus.from_texts([doc, doc + " x"], name="long"), neuron("L0N1"))
    cut = load_model(str(tmp_path / "long"), max_context=128)
    acts = neuron_activations(cut, Corpus.from_texts([doc, doc + " x"], name="long"),
                              neuron("L0N1"))
    assert max(len(t) for t in acts.tokens) <= 128
