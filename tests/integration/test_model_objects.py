"""``load_model`` and ``expect(..., model=X)`` accept the model objects a researcher already
holds: a Hugging Face ``PreTrainedModel`` (tokenizer as argument or attribute), a
``TransformerBridge``, a folder path, or neurospec's own ``Model``; anything else is refused
with an error naming the type and what is accepted."""

from pathlib import Path

import numpy as np
import pytest
import torch

from neurospec import expect
from neurospec.bundled import bundled
from neurospec.data.corpus import load_corpus
from neurospec.errors import InvalidArgument
from neurospec.measure.activations import neuron_activations
from neurospec.models import Model, load_model
from neurospec.units import neuron

FOLDER = bundled("models") / "tiny-bilingual"
UNIT = neuron("L0N125")


@pytest.fixture(scope="module")
def reference():
    return load_model("tiny-bilingual", device="cpu")


@pytest.fixture(scope="module")
def docs():
    return load_corpus("german").subset(12)


@pytest.fixture(scope="module")
def hf_and_tokenizer():
    from transformers import AutoModelForCausalLM, AutoTokenizer

    hf = AutoModelForCausalLM.from_pretrained(FOLDER, attn_implementation="eager")
    return hf, AutoTokenizer.from_pretrained(FOLDER)


def _acts(model, docs) -> np.ndarray:
    return np.concatenate(neuron_activations(model, docs, UNIT).per_token)


def test_a_hugging_face_model_with_its_tokenizer(reference, docs, hf_and_tokenizer):
    hf, tok = hf_and_tokenizer
    m = load_model(hf, tokenizer=tok)
    assert isinstance(m, Model)
    assert m.fingerprint == reference.fingerprint  # computed from the same weights
    assert (m.device, m.dtype, m.n_layers, m.d_mlp) == ("cpu", "float32", 2, 256)
    np.testing.assert_allclose(_acts(m, docs), _acts(reference, docs), atol=1e-6)


def test_a_hugging_face_model_carrying_its_tokenizer(reference, hf_and_tokenizer):
    from transformers import AutoModelForCausalLM

    hf = AutoModelForCausalLM.from_pretrained(FOLDER, attn_implementation="eager")
    hf.tokenizer = hf_and_tokenizer[1]
    assert load_model(hf).fingerprint == reference.fingerprint


def test_changed_weights_change_the_fingerprint(reference, hf_and_tokenizer):
    from transformers import AutoModelForCausalLM

    hf = AutoModelForCausalLM.from_pretrained(FOLDER, attn_implementation="eager")
    with torch.no_grad():
        next(hf.parameters()).view(-1)[0] += 1.0
    assert load_model(hf, tokenizer=hf_and_tokenizer[1]).fingerprint != reference.fingerprint


def test_a_bridge_and_a_neurospec_model(reference, docs):
    assert load_model(reference) is reference
    wrapped = load_model(reference.bridge)
    assert wrapped.bridge is reference.bridge
    np.testing.assert_allclose(_acts(wrapped, docs), _acts(reference, docs), atol=1e-6)


def test_a_folder_as_path(reference):
    assert load_model(Path(FOLDER), device="cpu").fingerprint == reference.fingerprint


def test_expect_takes_a_model_object(hf_and_tokenizer):
    hf, tok = hf_and_tokenizer
    hf.tokenizer = tok
    german, english = load_corpus("german").subset(40), load_corpus("english").subset(40)
    result = expect("L0N125", model=hf).activates_more(on=german, than=english, by_at_least=0.5)
    assert result.record.model["fingerprint"] == load_model(hf).fingerprint
    from neurospec.claims.context import model_or_current

    assert model_or_current(hf) is model_or_current(hf)  # what expect(model=hf) uses: wrapped once


@pytest.mark.parametrize("obj", [3.5, object(), torch.nn.Linear(2, 2), {"model": "x"}],
                         ids=["float", "object", "torch-module", "dict"])
def test_anything_else_is_refused_naming_its_type(obj):
    for call in (lambda: load_model(obj), lambda: expect("L0N1", model=obj)):
        with pytest.raises(InvalidArgument, match=rf"cannot use a .*{type(obj).__name__}.*"
                                                  r"accepts .*TransformerBridge.*PreTrainedModel"):
            call()


def test_a_hugging_face_model_without_tokenizer_is_refused():
    from transformers import AutoModelForCausalLM

    hf = AutoModelForCausalLM.from_pretrained(FOLDER, attn_implementation="eager")
    with pytest.raises(InvalidArgument, match="needs its tokenizer"):
        load_model(hf)


def test_offloaded_weights_are_refused_before_fingerprinting(hf_and_tokenizer):
    from transformers import AutoConfig, AutoModelForCausalLM

    from neurospec.errors import UnsupportedArchitecture

    with torch.device("meta"):
        hf = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(FOLDER))
    with pytest.raises(UnsupportedArchitecture, match=r"offloaded .*meta device.*Place every"):
        load_model(hf, tokenizer=hf_and_tokenizer[1])
