"""The bundled attribution graph (fixtures/graphs/tiny-bilingual-german.json, built by
fixtures/build/build_tiny_graph.py): its edge weights equal the direct effects computed by hand
in plain torch on the Hugging Face model (clean attention patterns and norm scales, the MLP
outputs between source and target left out), for a feature -> feature edge, a feature -> logit
edge and an edge across positions through block 1's attention."""

import json
from pathlib import Path

import pytest
import torch
from neox_oracle import attn, clean_pass, to_logit, to_mlp_in
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[2]
TCS = ROOT / "fixtures/transcoders/tiny-bilingual"
GRAPH = json.loads((ROOT / "fixtures/graphs/tiny-bilingual-german.json").read_text())


@pytest.fixture(scope="module")
def by_hand():
    from transformers import AutoTokenizer, GPTNeoXForCausalLM

    path = ROOT / "fixtures/models/tiny-bilingual"
    hf = GPTNeoXForCausalLM.from_pretrained(path, attn_implementation="eager").eval()
    tok = AutoTokenizer.from_pretrained(path)
    ids = torch.tensor([tok.bos_token_id] + tok(GRAPH["metadata"]["prompt"])["input_ids"])
    w = [load_file(TCS / f"L{i}/sae_weights.safetensors") for i in (0, 1)]
    keep, patterns = clean_pass(hf, ids)

    def edge(source: str, target: str) -> float:
        layer, feat, pos = map(int, source.split("_"))
        x = keep[f"x{layer}"][pos]
        a = torch.relu(x @ w[layer]["W_enc"][:, feat] + w[layer]["b_enc"][feat])
        v = torch.zeros(len(ids), x.shape[0])
        v[pos] = a * w[layer]["W_dec"][feat]  # what the source writes, at its position
        t_layer, t_feat, t_pos = map(int, target.split("_"))
        with torch.no_grad():
            if t_layer == 1:
                delta = to_mlp_in(hf, keep, patterns, 1, v)
                return float(delta[t_pos] @ w[1]["W_enc"][:, t_feat])
            # block 1's MLP output stays frozen
            r = v + attn(hf, keep, patterns, 1, v) if layer == 0 else v
            return float(to_logit(hf, keep, r, t_feat)[t_pos])

    return edge


@pytest.mark.parametrize("source, target", [
    ("0_341_15", "1_486_15"),  # the strongest feature -> feature edge
    ("1_109_15", "3_199_15"),  # a block-1 feature -> the logit of '\n'
    ("0_452_12", "3_199_15"),  # across positions, through block 1's attention
])
def test_the_graph_edges_equal_the_direct_effects_by_hand(by_hand, source, target):
    weight = {(k["source"], k["target"]): k["weight"] for k in GRAPH["links"]}[source, target]
    assert weight == pytest.approx(by_hand(source, target), rel=1e-4, abs=1e-5)


def test_the_graph_is_small_and_in_circuit_tracers_layout():
    nodes, links = GRAPH["nodes"], GRAPH["links"]
    assert len(nodes) < 40 and len(links) <= 90
    ids = {n["node_id"] for n in nodes}
    assert all(k["source"] in ids and k["target"] in ids for k in links)
    assert {n["feature_type"] for n in nodes} == {"cross layer transcoder", "embedding",
                                                  "mlp reconstruction error", "logit"}
    assert GRAPH["metadata"]["scan"] == "tiny-bilingual"
