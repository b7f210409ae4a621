"""Calibration rows for edge and path claims between transcoder features (``drives()``): the
boundary design on the bundled model's real direct effects.

One measurement (cached like the other real rows) gives, per document of the German pool,
the summed direct effects along the bundled graph's path L0T341 -> L1T109 -> logit('\\n')
(each edge and the path as a whole, :mod:`neurospec.measure.transcoder_paths`) and the
counted tokens.  The truth of each part is its mean per token on the whole pool; a claim is
decided, as ``drives()`` decides it, on a random subset of ``n`` documents drawn without
replacement, with its threshold exactly at that truth, so every pass is a false pass:

- ``drives()``: the edge L0T341 -> L1T109 at its pool value;
- a path claim with the path at its pool value and its edges at 0 (they hold: the path alone
  decides), and with every part at its pool value (all three at their boundaries).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from neurospec import calibration_real as cr
from neurospec.calibration_cases import Case
from neurospec.claims.transcoder_paths import decide_part, decide_path

SOURCE, MIDDLE, TOKEN = 341, 109, "\n"
GROUP = "real: transcoder edges and paths"


def path_sums(model, names: tuple[str, ...], limit: int | None) -> dict[str, np.ndarray]:
    """Per document of ``names`` (the first ``limit`` of each, all if None): the edges' and
    the path's summed direct effects and the counted tokens (cached)."""
    from neurospec.data.corpus import load_corpus
    from neurospec.measure.transcoder import load_transcoder
    from neurospec.measure.transcoder_paths import Step, logit, path_effects, token_id

    corpora = [load_corpus(n) for n in names]
    if limit is not None:
        corpora = [c.subset(min(limit, len(c))) for c in corpora]
    hashes = "-".join(c.hash[:8] for c in corpora)
    key = f"{model.fingerprint}-path-{hashes}-L0T{SOURCE}-L1T{MIDDLE}-newline"

    def compute() -> dict:
        from neurospec.measure.transcoder import check_transcoder
        from neurospec.units import TranscoderFeature

        tcs = load_transcoder("tiny-bilingual")
        steps = [Step(check_transcoder(model, tcs, TranscoderFeature(layer, i)), i)
                 for layer, i in ((0, SOURCE), (1, MIDDLE))]
        tok = token_id(model, logit(TOKEN))
        parts = [path_effects(model, steps, tok, c) for c in corpora]
        return {"edge0": np.concatenate([p.edges[0][0] for p in parts]),
                "edge1": np.concatenate([p.edges[1][0] for p in parts]),
                "path": np.concatenate([p.path[0] for p in parts]),
                "tokens": np.concatenate([p.tokens for p in parts])}
    return cr._cached(key, compute)


def _truth(sums: np.ndarray, tokens: np.ndarray) -> float:
    return float(sums.sum() / tokens.sum())


def edge_case(z: dict[str, np.ndarray], n: int) -> Callable[[np.random.Generator, int], bool]:
    """``drives()`` of L0T341 -> L1T109 at its pool value, on ``n`` random documents."""
    truth = _truth(z["edge0"], z["tokens"])

    def trial(rng: np.random.Generator, seed: int) -> bool:
        i = rng.choice(len(z["tokens"]), n, replace=False)
        return decide_part("edge", z["edge0"][i], z["tokens"][i], truth, seed).verdict == "pass"
    return trial


def path_case(z: dict[str, np.ndarray], n: int, edges_at_boundary: bool
              ) -> Callable[[np.random.Generator, int], bool]:
    """The path claim with the path at its pool value (edges at 0, or at theirs too)."""
    tokens = z["tokens"]
    truths = {k: _truth(z[k], tokens) for k in ("edge0", "edge1", "path")}

    def trial(rng: np.random.Generator, seed: int) -> bool:
        i = rng.choice(len(tokens), n, replace=False)
        edges = [decide_part(k, z[k][i], tokens[i], truths[k] if edges_at_boundary else 0.0,
                             seed) for k in ("edge0", "edge1")]
        whole = decide_part("path", z["path"][i], tokens[i], truths["path"], seed)
        return decide_path(edges, whole)[0] == "pass"
    return trial


def edge_rows(model, quick: bool, notes: list[str]) -> list[Case]:
    """The rows (quick: the first 200 German fortunes, n = 10 and 30; full: the German pool
    of fortunes and man pages, n = 10, 30 and 100)."""
    names = ("german",) if quick else cr.GERMAN
    z = path_sums(model, names, 200 if quick else None)
    sizes = (10, 30) if quick else (10, 30, 100)
    reps = (300, 1000) if quick else (2000, 2000)
    tokens = z["tokens"]
    notes.append(f"transcoder edges and paths: L0T{SOURCE} -> L1T{MIDDLE} -> logit({TOKEN!r}) "
                 f"on {len(tokens)} German documents ({', '.join(names)}): per token, edge "
                 f"{_truth(z['edge0'], tokens):.4g} (pre-activation), edge "
                 f"{_truth(z['edge1'], tokens):.4g} (logit), path {_truth(z['path'], tokens):.4g}"
                 f" (logit); each claim's threshold at its part's pool value")
    rows = []
    for n in sizes:
        rows.append(Case(f"drives(): L0T{SOURCE} -> L1T{MIDDLE} at its pool value, n={n}", GROUP,
                         edge_case(z, n), reps))
    for n in sizes:
        rows.append(Case(f"path L0T{SOURCE} -> L1T{MIDDLE} -> logit, path at its pool value "
                         f"(edges hold), n={n}", GROUP, path_case(z, n, False), reps))
    if not quick:
        for n in sizes:
            rows.append(Case(f"path L0T{SOURCE} -> L1T{MIDDLE} -> logit, every part at its "
                             f"pool value, n={n}", GROUP, path_case(z, n, True), reps))
    return rows
