"""Graphs in, claims out: read an attribution graph in circuit-tracer's graph JSON (what its
``create_graph_files`` writes and Neuronpedia serves) and write its strongest feature -> feature
edges as a pytest file of ``drives()`` claims, one test per edge, to run on a corpus.

An edge of a graph is measured on one prompt, at one pair of positions; the claim asks whether
it holds on average over a corpus (``drives()``: the mean direct effect per target token, CI
over documents, against random source features).  The threshold is a fraction of the graph
weight, stated in each test so that it can be edited.

No torch here: reading and writing are plain JSON and text (``neurospec graph-claims``).
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurospec.errors import GraphFileError

__all__ = ["Edge", "Graph", "Node", "claims_file", "default_model", "default_transcoder",
           "feature_edges", "find_graph", "read_graph"]

FEATURE, ERROR, EMBEDDING, LOGIT = ("cross layer transcoder", "mlp reconstruction error",
                                    "embedding", "logit")
FEATURE_TYPES = (FEATURE, ERROR, EMBEDDING, LOGIT)
_FIX = ("neurospec graph-claims reads circuit-tracer's graph JSON (circuit_tracer's "
        "create_graph_files, or a graph downloaded from Neuronpedia)")


@dataclass(frozen=True)
class Node:
    """A graph node: ``layer`` is a string as circuit-tracer writes it (``"E"`` for
    embeddings); ``index`` is the transcoder feature of a feature node (from its node id)."""

    node_id: str
    feature_type: str
    layer: str
    ctx_idx: int
    index: int


@dataclass(frozen=True)
class Edge:
    """A feature -> feature edge: its strongest link over the prompt's positions."""

    source: str  # L0T341
    target: str  # L1T486
    weight: float
    source_pos: int
    target_pos: int
    links: int  # how many links (position pairs) connect the two features


@dataclass(frozen=True)
class Graph:
    """What a claims file needs of a graph: its prompt, scan, transcoders, nodes and links
    (``(source, target, weight)``, as circuit-tracer writes them)."""

    path: str
    prompt: str
    prompt_tokens: tuple[str, ...]
    scan: str | None
    transcoders: tuple[str, ...]
    nodes: dict[str, Node]
    links: tuple[tuple[str, str, float], ...]


def _need(obj: Any, key: str, kind: type | tuple[type, ...], where: str, path: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise GraphFileError(f"{path}: {where} has no {key!r}; {_FIX}", value=path)
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise GraphFileError(f"{path}: {where}[{key!r}] is {value!r}, not a "
                             f"{getattr(kind, '__name__', kind)}; {_FIX}", value=value)
    return value


def _node(raw: Any, k: int, path: str) -> Node:
    where = f"nodes[{k}]"
    node_id = _need(raw, "node_id", str, where, path)
    kind = _need(raw, "feature_type", str, where, path)
    if kind not in FEATURE_TYPES:
        raise GraphFileError(f"{path}: {where} ({node_id!r}) has feature_type {kind!r}; known: "
                             f"{', '.join(map(repr, FEATURE_TYPES))} (per-layer and "
                             f"cross-layer transcoders are both {FEATURE!r}); {_FIX}", value=kind)
    layer = str(_need(raw, "layer", (str, int), where, path))
    ctx = _need(raw, "ctx_idx", int, where, path)
    index = -1
    if kind == FEATURE:
        parts = node_id.split("_")
        if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts):
            raise GraphFileError(f"{path}: {where} is a feature node with node_id {node_id!r}; "
                                 f"circuit-tracer names them '<layer>_<feature>_<position>'; "
                                 f"{_FIX}",
                                 value=node_id)
        if parts[0] != layer:
            raise GraphFileError(f"{path}: {where}: node_id {node_id!r} says layer "
                                 f"{parts[0]} but its layer is {layer!r}", value=node_id)
        index = int(parts[1])
    return Node(node_id, kind, layer, ctx, index)


def find_graph(path: str | Path) -> Path:
    """``path`` itself when it exists (or is absolute), else a bundled graph of that name
    (``tiny-bilingual-german.json``, from an installed wheel too)."""
    from neurospec.bundled import bundled

    path = Path(path)
    if path.exists() or path.is_absolute():
        return path
    found = bundled("graphs") / path
    return found if found.is_file() else path


def read_graph(path: str | Path) -> Graph:
    """The graph in ``path``, checked: every field a claim needs, known node types, links
    between listed nodes with finite weights."""
    shown = str(path)
    path = find_graph(path)
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GraphFileError(f"{shown}: no such file (nor a bundled graph of that name); give "
                             f"the path of a graph JSON",
                             value=shown) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GraphFileError(f"{shown} is not JSON ({exc}); {_FIX}", value=shown) from None
    if not isinstance(raw, dict):
        raise GraphFileError(f"{shown}: the top level is a {type(raw).__name__}, not an "
                             f"object with metadata, nodes and links; {_FIX}", value=shown)
    meta = _need(raw, "metadata", dict, "the graph", shown)
    prompt = _need(meta, "prompt", str, "metadata", shown)
    tokens = _need(meta, "prompt_tokens", list, "metadata", shown)
    scan = meta.get("scan") if isinstance(meta.get("scan"), str) and meta["scan"] else None
    tcs = meta.get("transcoder_list") or []
    nodes: dict[str, Node] = {}
    for k, item in enumerate(_need(raw, "nodes", list, "the graph", shown)):
        node = _node(item, k, shown)
        nodes[node.node_id] = node
    links = []
    for k, item in enumerate(_need(raw, "links", list, "the graph", shown)):
        src = _need(item, "source", str, f"links[{k}]", shown)
        dst = _need(item, "target", str, f"links[{k}]", shown)
        w = _need(item, "weight", (int, float), f"links[{k}]", shown)
        for end in (src, dst):
            if end not in nodes:
                raise GraphFileError(f"{shown}: links[{k}] names node {end!r}, which is not "
                                     f"in nodes; the file is cut or edited", value=end)
        if w != w or w in (float("inf"), float("-inf")):
            raise GraphFileError(f"{shown}: links[{k}] has weight {w!r}; weights must be "
                                 f"finite", value=w)
        links.append((src, dst, float(w)))
    return Graph(shown, prompt, tuple(str(t) for t in tokens), scan,
                 tuple(str(t) for t in tcs if isinstance(t, str)), nodes, tuple(links))


def feature_edges(graph: Graph, top: int) -> list[Edge]:
    """The ``top`` strongest positive feature -> feature edges, one per pair of features
    (its strongest link over positions), strongest first.  Negative links (one feature
    inhibiting another) are left out: ``drives()`` claims a positive effect."""
    best: dict[tuple[str, str], Edge] = {}
    count: dict[tuple[str, str], int] = {}
    for src, dst, w in graph.links:
        a, b = graph.nodes[src], graph.nodes[dst]
        if a.feature_type != FEATURE or b.feature_type != FEATURE or w <= 0:
            continue
        if not int(a.layer) < int(b.layer):
            continue
        key = (f"L{a.layer}T{a.index}", f"L{b.layer}T{b.index}")
        count[key] = count.get(key, 0) + 1
        if key not in best or w > best[key].weight:
            best[key] = Edge(key[0], key[1], w, a.ctx_idx, b.ctx_idx, 0)
    edges = [Edge(e.source, e.target, e.weight, e.source_pos, e.target_pos, count[k])
             for k, e in best.items()]
    edges.sort(key=lambda e: (-e.weight, e.source, e.target))
    return edges[:top]


def _token(graph: Graph, pos: int) -> str:
    return repr(graph.prompt_tokens[pos]) if 0 <= pos < len(graph.prompt_tokens) else "?"


def claims_file(graph: Graph, edges: list[Edge], *, corpus: str, model: str, transcoder: str,
                fraction: float, against_random: int, command: str) -> str:
    """A pytest module with one ``drives()`` claim per edge.  Every string from the graph or
    the command line is written as a Python literal (``repr``) or inside a comment after
    ``repr`` (no line break can end it), and the result is parsed before it is returned."""
    lines = [
        '"""Claims from an attribution graph: does each strong edge hold beyond its prompt?',
        "",
        "Generated by `neurospec graph-claims`; edit freely (thresholds, which edges, xfail).",
        "Each threshold is a fraction of the edge's weight on the prompt (one token pair); the",
        "claim is the mean direct effect per token of the corpus, CI over documents.",
        '"""',
        f"# command: {command!r}",
        "",
        "import pytest",
        "",
        "from neurospec import expect",
        "",
        "# drives() freezes attention patterns, which only the TransformerLens backend can do",
        f"pytestmark = pytest.mark.model({model!r}, backend='transformer_lens')",
        "",
        f"GRAPH = {Path(graph.path).name!r}",
        f"PROMPT = {graph.prompt!r}",
        f"TRANSCODER = {transcoder!r}",
        f"CORPUS = {corpus!r}",
        f"FRACTION = {fraction!r}  # of the graph weight",
        f"AGAINST_RANDOM = {against_random!r}",
    ]
    for e in edges:
        lines += [
            "", "",
            f"def test_{e.source.lower()}_drives_{e.target.lower()}(corpus):",
            f"    # graph weight {e.weight:.6g} on PROMPT ({e.links} "
            f"link{'s' if e.links != 1 else ''} between the two features), strongest from",
            f"    # token {e.source_pos} {_token(graph, e.source_pos)} to token {e.target_pos} "
            f"{_token(graph, e.target_pos)}",
            f"    expect({e.source!r}, transcoder=TRANSCODER).drives(",
            f"        {e.target!r}, on=corpus(CORPUS), by_at_least=FRACTION * {e.weight!r},",
            "        against_random=AGAINST_RANDOM)",
        ]
    if not edges:
        lines += ["", "", "# the graph has no positive feature -> feature edge"]
    text = "\n".join(lines) + "\n"
    ast.parse(text)  # what we write must be Python, whatever the graph held
    return text


def default_transcoder(graph: Graph, given: str | None) -> str:
    """``given``, else the graph's scan when neurospec bundles transcoders of that name."""
    from neurospec.bundled import bundled

    if given:
        return given
    if graph.scan and (bundled("transcoders") / graph.scan).is_dir():
        return graph.scan
    listed = f" (its metadata lists {list(graph.transcoders)!r})" if graph.transcoders else ""
    raise GraphFileError(f"{graph.path}: the graph was made with scan {graph.scan!r}, which "
                         f"names no bundled transcoders{listed}; pass --transcoder PATH (the "
                         f"transcoders it was made with) and --model NAME", value=graph.scan)


def default_model(graph: Graph, given: str | None) -> str:
    """``given``, else the graph's scan (the model it was made on)."""
    if given:
        return given
    if graph.scan:
        return graph.scan
    raise GraphFileError(f"{graph.path}: metadata names no scan (the model the graph was "
                         f"made on); pass --model NAME", value=graph.path)
