"""The planted model's facts, each run as a claim (fixtures/models/planted/MANIFEST.json).

The planted model's weights were set by hand (fixtures/build/build_planted.py), so what its units
do is known by construction: a neuron that fires exactly on animal tokens, one that predicts the
word after "open", a copy head, a suppression head, SAE features with known support, and null
units with zero weights.  Every fact must hold as a claim, and every fact's negation must fail
with ``ClaimFailed``: a claim helper that passes a negation (or fails a fact) is a bug in
neurospec, not in the model.
"""

import json
from pathlib import Path

import pytest

from neurospec import ClaimFailed
from neurospec.claims.spec import describe_spec, run_spec

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = json.loads((ROOT / "fixtures" / "models" / "planted" / "MANIFEST.json").read_text())

pytestmark = pytest.mark.model("planted")

FACTS = [pytest.param(f["claim"], id=f["id"]) for f in MANIFEST["facts"] if f["claim"]]
NEGATIONS = [
    pytest.param(f["negation"], id=f["id"], marks=pytest.mark.xfail(
        strict=True, raises=ClaimFailed,
        reason=f"deliberately false: {describe_spec(f['negation'])} ({f['planted']})"))
    for f in MANIFEST["facts"]]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # The planted model is tiny: a second torch thread only adds barrier waits, which cost
    # 10x when another process loads the cores (DESIGN §8).
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("spec", FACTS)
def test_planted_fact_holds(model, spec):
    run_spec(spec, model, root=ROOT)


@pytest.mark.parametrize("spec", NEGATIONS)
def test_negated_fact_fails(model, spec):
    run_spec(spec, model, root=ROOT)
