"""A unit kind added from outside the package, in one place (issue 27): a residual-stream
basis direction ``L0R5`` (coordinate 5 of ``blocks.0.hook_resid_post``) is declared and
registered here, and then parsing, range checks, ``expect()``, an activation claim, an
ablation claim with a random-unit baseline, the report and the claim specs all work on it,
with numbers equal to a plain Hugging Face computation.  Nothing in ``neurospec/`` names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch

from neurospec.claims.hooked import HookedExpectation
from neurospec.units import HookedUnit, UnitKind, register_unit_kind, unregister_unit_kind

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "fixtures" / "models" / "tiny-bilingual"


@dataclass(frozen=True, order=True)
class ResidualDirection(HookedUnit):
    """Coordinate ``index`` of the residual stream after block ``layer``."""

    LETTER: ClassVar[str] = "R"
    HOOK: ClassVar[str] = "blocks.{layer}.hook_resid_post"


@pytest.fixture
def residual_kind():
    kind = register_unit_kind(UnitKind(
        name="residual direction", unit_class=ResidualDirection,
        size=lambda model, sae: model.d_model, expectation=HookedExpectation,
        ablation="column", example="L0R5"))
    yield kind
    unregister_unit_kind("R")


def reference_coordinate(texts: list[str], layer: int, index: int, tok, hf) -> list[np.ndarray]:
    """Plain HF: the coordinate after block ``layer`` at every position but BOS."""
    out = []
    for text in texts:
        ids = torch.tensor([[tok.bos_token_id] + tok(text, add_special_tokens=False)["input_ids"]
                            [:127]])
        with torch.no_grad():
            hidden = hf(ids, output_hidden_states=True).hidden_states[layer + 1]
        out.append(hidden[0, 1:, index].double().numpy())
    return out


def reference_ablation(texts: list[str], layer: int, index: int, value: float, tok, hf
                       ) -> np.ndarray:
    """Plain HF: each document's mean next-token loss change when the coordinate is set to
    ``value`` after block ``layer`` (all positions but BOS)."""
    def losses(hook):
        handle = hf.gpt_neox.layers[layer].register_forward_hook(hook) if hook else None
        try:
            out = []
            for text in texts:
                ids = torch.tensor([[tok.bos_token_id] + tok(
                    text, add_special_tokens=False)["input_ids"][:127]])
                with torch.no_grad():
                    logits = hf(ids).logits[0, :-1].double()
                out.append(torch.nn.functional.cross_entropy(logits, ids[0, 1:]).item())
            return np.array(out)
        finally:
            if handle is not None:
                handle.remove()

    def set_it(module, args, output):
        hidden = output[0] if isinstance(output, tuple) else output
        hidden = hidden.clone()
        hidden[:, 1:, index] = value
        return (hidden, *output[1:]) if isinstance(output, tuple) else hidden

    return losses(set_it) - losses(None)


def test_a_unit_kind_registered_from_outside_runs_claims_and_the_report(residual_kind, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from neurospec import ClaimFailed, corpus, expect, load_model, parse_unit
    from neurospec.claims.spec import run_spec
    from neurospec.errors import UnitOutOfRange
    from neurospec.evidence.sink import collecting
    from neurospec.report.html import render_page

    model = load_model("tiny-bilingual")
    unit = parse_unit("L0R5")
    assert isinstance(unit, ResidualDirection) and unit.hook == "blocks.0.hook_resid_post"
    with pytest.raises(UnitOutOfRange, match=r"L0R999: residual direction 999 does not exist "
                                             r"in layer 0 of tiny-bilingual, which has "
                                             r"residual directions 0\.\.127"):
        expect("L0R999", model=model)
    de, en = corpus("german").subset(64), corpus("english").subset(32)
    hf = AutoModelForCausalLM.from_pretrained(TINY, attn_implementation="eager").eval()
    tok = AutoTokenizer.from_pretrained(TINY)

    with collecting() as records:
        try:  # whichever way the coordinate leans, the claim measures it
            contrast = expect("L0R5", model=model).activates_more(on=de, than=en,
                                                                  by_at_least=0.0).record
        except ClaimFailed as failed:
            contrast = failed.record
        ablation = (expect("L0R5", model=model).ablated(to="mean", over=en)
                    .raises_loss(on=de, by_at_least=0.0, against_random=4))
        against = ablation.results[-1].record
        ablation.beats_random_units(k=4, percentile=0)
        spec = run_spec({"unit": "L0R7", "chain": [
            ["ablated", {"to": "zero"}], ["and_not_on", {"corpus": "english", "tolerance": 5}]]},
            model)

    # the activation claim measured the coordinate exactly as plain HF does
    de_ref = reference_coordinate(list(de.texts), 0, 5, tok, hf)
    en_ref = reference_coordinate(list(en.texts), 0, 5, tok, hf)
    want = np.mean([a.mean() for a in de_ref]) - np.mean([a.mean() for a in en_ref])
    assert contrast.effect == pytest.approx(want, abs=1e-5)
    # the ablation claim: the same loss change, and a baseline of 4 random directions
    mean = float(np.concatenate(en_ref).mean())
    ref = reference_ablation(list(de.texts), 0, 5, mean, tok, hf)
    record = ablation.results[-1].record
    assert record.effect == pytest.approx(ref.mean(), abs=1e-5)
    assert "4 random residual directions of layer 0" in against.charts["null"]["title"]
    assert against.percentile is not None
    null = record.charts["null"]
    assert len(null["units"]) == 4 and all(u.startswith("L0R") for u in null["units"])
    assert "4 random units of layer 0" in null["title"]
    first = null["units"][0]
    one = reference_ablation(list(de.texts), 0, int(first[3:]), float(np.concatenate(
        reference_coordinate(list(en.texts), 0, int(first[3:]), tok, hf)).mean()), tok, hf)
    assert null["values"][0] == pytest.approx(one.mean(), abs=1e-5)
    assert spec.results[-1].record.unit == "L0R7"
    # the report draws them like any other unit's claims
    page = render_page(records)
    assert page.count('class="ns-card') == 3 and "L0R5" in page and "L0R7" in page
    assert [r.unit for r in records] == ["L0R5", "L0R5", "L0R7"]
    # a claim of another kind is refused naming the kinds it belongs to
    with pytest.raises(AttributeError, match="'L0R5' is a residual direction, not a neuron: "
                                             "writes_tokens\\(\\) is a claim about neurons"):
        expect("L0R5", model=model).writes_tokens([" der"])
