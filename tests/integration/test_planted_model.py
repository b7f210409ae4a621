"""The planted ground-truth model: the builder is deterministic, the shipped files are the ones
the manifest hashes, the planted facts hold at the level of raw activations and attention, and
every manifest fact passes as a claim while its negation raises ``ClaimFailed``."""

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from neurospec.claims.spec import run_spec
from neurospec.data.corpus import load_corpus
from neurospec.errors import ClaimFailed, InvalidArgument
from neurospec.measure.activations import neuron_activations
from neurospec.units import head as as_head
from neurospec.units import neuron

ROOT = Path(__file__).resolve().parents[2]
MANIFEST_PATH = ROOT / "fixtures" / "models" / "planted" / "MANIFEST.json"
MANIFEST = json.loads(MANIFEST_PATH.read_text())


@pytest.fixture(scope="module")
def planted():
    from neurospec.models import load_model

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: a second thread only adds barrier waits
    yield load_model("planted", device="cpu")
    torch.set_num_threads(before)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_shipped_files_are_the_built_ones():
    for rel, digest in MANIFEST["sha256"].items():
        assert _sha256(ROOT / rel) == digest, f"{rel} differs from the manifest: rebuild it"
    assert sum((ROOT / rel).stat().st_size for rel in MANIFEST["sha256"]) < 2 << 20
    for name, info in MANIFEST["datasets"].items():
        assert len(load_corpus(name)) == info["documents"] >= 100


# Keys that a library writes about itself (its own version), not about the model.
LIBRARY_METADATA = {"transformers_version"}


def _same_content(built: Path, shipped: Path) -> None:
    """What matters of an artefact: tensors for weights, the parsed JSON less library metadata
    for configs, the vocabulary and merges for tokenizers, bytes for data."""
    if built.suffix == ".safetensors":
        from safetensors.torch import load_file

        a, b = load_file(built), load_file(shipped)
        assert a.keys() == b.keys(), shipped
        for k in a:
            assert a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]), f"{shipped}: {k}"
    elif built.suffix == ".json":
        def content(p):
            return {k: v for k, v in json.loads(p.read_text()).items()
                    if k not in LIBRARY_METADATA}

        assert content(built) == content(shipped), shipped
    else:
        assert built.read_bytes() == shipped.read_bytes(), shipped


def test_builder_is_deterministic(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "build_planted", ROOT / "fixtures" / "build" / "build_planted.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    built = builder.build(tmp_path)
    assert built["sha256"].keys() == MANIFEST["sha256"].keys()
    for rel in MANIFEST["sha256"]:
        _same_content(tmp_path / rel, ROOT / rel)
    # The manifest itself, less the file hashes (those follow library metadata in configs).
    assert {k: v for k, v in built.items() if k != "sha256"} == \
        {k: v for k, v in MANIFEST.items() if k != "sha256"}


def test_determinism_check_sees_a_changed_weight(tmp_path):
    """The content comparison is not vacuous: one changed weight, one changed config value."""
    from safetensors.torch import load_file, save_file

    weights = ROOT / "fixtures/models/planted/model.safetensors"
    t = load_file(weights)
    key = sorted(t)[0]
    t[key] = t[key].clone()
    t[key].view(-1)[0] += 1e-3
    save_file(t, tmp_path / "model.safetensors")
    with pytest.raises(AssertionError, match=key.replace(".", r"\.")):
        _same_content(tmp_path / "model.safetensors", weights)
    config = json.loads((ROOT / "fixtures/models/planted/config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "transformers_version": "0"}))
    _same_content(tmp_path / "config.json", ROOT / "fixtures/models/planted/config.json")
    (tmp_path / "config.json").write_text(json.dumps({**config, "hidden_size": 1}))
    with pytest.raises(AssertionError):
        _same_content(tmp_path / "config.json", ROOT / "fixtures/models/planted/config.json")


@pytest.mark.parametrize("fact", MANIFEST["facts"], ids=[f["id"] for f in MANIFEST["facts"]])
def test_fact_holds_and_its_negation_fails(planted, fact):
    if fact["claim"] is not None:
        run_spec(fact["claim"], planted, root=ROOT)
    with pytest.raises(ClaimFailed) as info:
        run_spec(fact["negation"], planted, root=ROOT)
    assert info.value.record.verdict == "fail"  # refuted by the data, not merely underpowered


def test_neurons_fire_exactly_on_their_token_sets(planted):
    vocab = MANIFEST["vocab"]
    units = {u: set(info["fires_on"]) for u, info in MANIFEST["units"].items()
             if "fires_on" in info}
    nulls = [u for u in MANIFEST["null_units"] if "N" in u]
    for name in MANIFEST["datasets"]:
        corpus = load_corpus(name)
        for unit, tokens in units.items():
            acts = neuron_activations(planted, corpus, neuron(unit))
            on = np.isin(np.concatenate(acts.tokens), [vocab.index(t) for t in tokens])
            # a unit that does not fire reads exactly 0 on some CPUs and ~1e-18 (float
            # rounding of its pre-activation) on others: firing is a real activation
            fired = acts.all_tokens > 1e-6
            assert np.array_equal(fired, on), f"{unit} on {name}"
        for unit in nulls:
            acts = neuron_activations(planted, corpus, neuron(unit))
            assert not (np.abs(acts.all_tokens) > 1e-6).any(), f"null {unit} fired on {name}"


@pytest.mark.parametrize("head", ["L0H0", "L0H1"])
def test_heads_attend_to_earlier_targets_or_to_bos(planted, head):
    info = MANIFEST["units"][head]
    vocab = MANIFEST["vocab"]
    queries = {vocab.index(t) for t in info["queries_on"]}
    targets = {vocab.index(t) for t in info["attends_to"]}
    corpus = load_corpus("planted_names" if head == "L0H0" else "planted_colours").subset(30)
    index = as_head(head).index
    for text in corpus.texts:
        ids = torch.tensor([[planted.bos_token_id] + planted.encode([text])[0]])
        _, cache = planted.bridge.run_with_cache(
            ids, names_filter=lambda n: n == "blocks.0.attn.hook_pattern")
        pattern = cache["blocks.0.attn.hook_pattern"][0, index]
        toks = ids[0].tolist()
        for i, t in enumerate(toks):
            earlier = [j for j in range(1, i) if toks[j] in targets]
            want = earlier if t in queries and earlier else [0]
            mass = float(pattern[i, want].sum())
            assert mass > 0.999, f"{head} at {i} of {text!r}: {mass:.4f} on {want}"
            if len(want) > 1:  # copies of the same kind share the attention equally
                np.testing.assert_allclose(pattern[i, want].numpy(), 1 / len(want), atol=1e-4)


def test_a_spec_naming_no_claim_method_is_refused(planted):
    with pytest.raises(InvalidArgument, match="no claim method 'fires_a_lot'"):
        run_spec({"unit": "L0N0", "chain": [["fires_a_lot", {}]]}, planted)
