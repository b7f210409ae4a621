"""``neurospec graph-claims``: reading circuit-tracer graph JSON (and refusing anything else by
name), choosing the edges, and writing a claims file that stays Python whatever the graph
holds.  No model, no torch."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from neurospec.cli import main
from neurospec.errors import GraphFileError
from neurospec.graph_claims import claims_file, default_model, feature_edges, read_graph

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "fixtures/graphs/tiny-bilingual-german.json"


def _feature(layer, feat, pos):
    return {"node_id": f"{layer}_{feat}_{pos}", "feature": 0, "layer": str(layer),
            "ctx_idx": pos, "feature_type": "cross layer transcoder"}


def _graph(**meta):
    nodes = [_feature(0, 3, 1), _feature(0, 3, 2), _feature(1, 7, 2), _feature(0, 5, 2),
             {"node_id": "0_-1_2", "feature": -1, "layer": "0", "ctx_idx": 2,
              "feature_type": "mlp reconstruction error"},
             {"node_id": "E_9_1", "feature": 1, "layer": "E", "ctx_idx": 1,
              "feature_type": "embedding"},
             {"node_id": "3_11_2", "feature": 11, "layer": "3", "ctx_idx": 2,
              "feature_type": "logit"}]
    links = [{"source": "0_3_1", "target": "1_7_2", "weight": 0.5},
             {"source": "0_3_2", "target": "1_7_2", "weight": 0.9},
             {"source": "0_5_2", "target": "1_7_2", "weight": -2.0},  # inhibition: no claim
             {"source": "0_-1_2", "target": "1_7_2", "weight": 3.0},  # error: no claim
             {"source": "E_9_1", "target": "0_3_1", "weight": 1.0},
             {"source": "1_7_2", "target": "3_11_2", "weight": 1.0}]
    metadata = {"slug": "t", "scan": "tiny-bilingual", "prompt": "Er sagt", "prompt_tokens":
                ["<bos>", "Er", " sagt"], "transcoder_list": []}
    metadata.update(meta)
    return {"metadata": metadata, "qParams": {}, "nodes": nodes, "links": links}


def _write(tmp_path, graph, name="g.json"):
    path = tmp_path / name
    path.write_text(json.dumps(graph))
    return path


def test_the_strongest_positive_link_per_feature_pair_becomes_one_edge(tmp_path):
    g = read_graph(_write(tmp_path, _graph()))
    (edge,) = feature_edges(g, 5)
    assert (edge.source, edge.target, edge.weight, edge.links) == ("L0T3", "L1T7", 0.9, 2)
    assert (edge.source_pos, edge.target_pos) == (2, 2)


def test_the_bundled_graph_reads_and_gives_feature_edges():
    g = read_graph(BUNDLED)
    edges = feature_edges(g, 6)
    assert len(edges) == 6 and edges[0].source == "L0T341" and edges[0].target == "L1T486"
    assert [e.weight for e in edges] == sorted((e.weight for e in edges), reverse=True)
    assert {n.feature_type for n in g.nodes.values()} == {
        "cross layer transcoder", "mlp reconstruction error", "embedding", "logit"}


@pytest.mark.parametrize("edit, match", [
    (lambda g: g.pop("nodes"), "the graph has no 'nodes'"),
    (lambda g: g["metadata"].pop("prompt"), "metadata has no 'prompt'"),
    (lambda g: g["nodes"][0].pop("feature_type"), r"nodes\[0\] has no 'feature_type'"),
    (lambda g: g["nodes"][0].update(feature_type="lorsa"), "feature_type 'lorsa'; known"),
    (lambda g: g["nodes"][0].update(node_id="0_x_1"), "'<layer>_<feature>_<position>'"),
    (lambda g: g["links"][0].update(target="9_9_9"), "names node '9_9_9', which is not"),
    (lambda g: g["links"][0].update(weight="big"), r"links\[0\]\['weight'\] is 'big'"),
    (lambda g: g["links"][0].update(weight=float("nan")), "must be finite"),
])
def test_anything_but_a_circuit_tracer_graph_is_refused_by_name(tmp_path, edit, match):
    graph = _graph()
    edit(graph)
    with pytest.raises(GraphFileError, match=match) as info:
        read_graph(_write(tmp_path, graph))
    msg = str(info.value)
    assert "g.json" in msg  # which file
    assert any(fix in msg for fix in ("circuit-tracer", "must be finite", "cut or edited"))


def test_not_json_or_not_an_object_is_refused(tmp_path):
    (tmp_path / "x.json").write_text("{nope")
    with pytest.raises(GraphFileError, match="is not JSON"):
        read_graph(tmp_path / "x.json")
    with pytest.raises(GraphFileError, match="the top level is a list"):
        read_graph(_write(tmp_path, [1, 2]))
    with pytest.raises(GraphFileError, match="no such file"):
        read_graph(tmp_path / "missing.json")


def test_a_graph_of_another_model_needs_the_model_and_transcoders_given(tmp_path, capsys):
    path = _write(tmp_path, _graph(scan="gemma-2-2b", transcoder_list=["hf://x/y"]))
    assert main(["graph-claims", str(path), "--on", "german"]) == 2
    err = capsys.readouterr().err
    assert "scan 'gemma-2-2b'" in err and "--transcoder PATH" in err and "hf://x/y" in err
    assert main(["graph-claims", str(path), "--on", "german", "--transcoder", "my/tc",
                 "--model", "my-model"]) == 0
    assert "TRANSCODER = 'my/tc'" in capsys.readouterr().out
    g = read_graph(_write(tmp_path, _graph(scan=None)))
    with pytest.raises(GraphFileError, match="names no scan.*--model NAME"):
        default_model(g, None)


HOSTILE = ['He said "hi"\nand \'left\'', '"""', "'''", "a\\", "x\r\ny", "\u2028line",
           "# not a comment", "\x00\x1b[31m", "}{ %s {0}"]


@pytest.mark.parametrize("text", HOSTILE)
def test_whatever_the_graph_holds_the_file_is_python_and_says_it_exactly(tmp_path, text):
    graph = _graph(prompt=text, prompt_tokens=[text, text, text], scan=text)
    g = read_graph(_write(tmp_path, graph, name="g.json"))
    src = claims_file(g, feature_edges(g, 3), corpus=text, model=text, transcoder=text,
                      fraction=0.2, against_random=4, command=text)
    tree = ast.parse(src)
    values = {t.targets[0].id: ast.literal_eval(t.value) for t in tree.body
              if isinstance(t, ast.Assign) and isinstance(t.targets[0], ast.Name)
              and t.targets[0].id in ("PROMPT", "CORPUS", "TRANSCODER")}
    assert values == {"PROMPT": text, "CORPUS": text, "TRANSCODER": text}
    assert [f.name for f in tree.body if isinstance(f, ast.FunctionDef)] == [
        "test_l0t3_drives_l1t7"]


def test_the_cli_writes_a_file_and_never_over_one(tmp_path, capsys):
    out = tmp_path / "test_g.py"
    assert main(["graph-claims", str(BUNDLED), "--on", "german", "--top", "3",
                 "--out", str(out)]) == 0
    text = out.read_text()
    assert text.count("def test_") == 3 and "drives(" in text and "by_at_least=FRACTION" in text
    assert main(["graph-claims", str(BUNDLED), "--on", "german", "--out", str(out)]) == 2
    assert "exists; remove it or choose another --out" in capsys.readouterr().err
    assert out.read_text() == text


def test_graph_claims_loads_no_torch(tmp_path):
    code = ("import sys; from neurospec.cli import main; "
            f"main(['graph-claims', {str(BUNDLED)!r}, '--on', 'german', '--out', "
            f"{str(tmp_path / 't.py')!r}]); "
            "print('TORCH' if 'torch' in sys.modules else 'NO TORCH')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120).stdout
    assert out.strip().endswith("NO TORCH"), out[-300:]
