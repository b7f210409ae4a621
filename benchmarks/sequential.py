"""Benchmark: sequential mode against fixed-n, in the same run.

1. The bundled hypotheses suite twice in one pytest process each, fixed-n (the default) and
   with ``--neurospec-sequential``: per claim that ran sequentially, the documents (and
   forward passes) read against the fixed-n claim's, and every claim's verdict compared; a
   claim whose verdict differs is listed with its numbers.  A claim is *clear* of its
   threshold when the fixed-n CI misses the threshold by more than 1.6 times its half-width
   (the sequence's width at the full corpus): sequential mode must not change those.
2. A synthetic grid of effect sizes (difference of document means and token AUROC, normal
   documents, the claims' schedule): mean documents read and pass rates, sequential against
   fixed-n on the same draws.

    python benchmarks/sequential.py [--quick]

Last line: ``name=sequential docs_saved=<x on passing suite claims> verdicts_changed=<n>
clear_changed=<n>``.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
QUICK = ["hypotheses/test_tiny_bilingual_german_neuron.py",
         "hypotheses/test_tiny_bilingual_properties.py"]
# forward passes per document read: activations one, an ablation's loss change two (clean
# and ablated; the clean pass is shared between claims on the same documents)
PASSES = {"activation_contrast": 1, "sae_feature": 1, "ablation_loss": 2, "property": 1}


def suite(files: list[str], json_path: Path, *extra: str) -> float:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", *files, "-q", "-p", "no:cacheprovider",
                           f"--neurospec-json={json_path}", "--neurospec-threads=2", *extra],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 1) or not json_path.exists():
        sys.exit(f"pytest {' '.join(extra)} ended with {done.returncode}:\n"
                 f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return time.perf_counter() - t


def compare_suite(files: list[str], keep: Path | None = None, reuse: Path | None = None
                  ) -> tuple[list[str], float, int, int]:
    from neurospec.evidence.jsonio import read_results
    from neurospec.evidence.results import claim_ids

    with tempfile.TemporaryDirectory() as tmp:
        folder = reuse or keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        fixed_path, seq_path = folder / "fixed.json", folder / "seq.json"
        if reuse is None:
            t_fixed = suite(files, fixed_path)
            t_seq = suite(files, seq_path, "--neurospec-sequential")
            timing = (f"fixed-n {t_fixed:.1f} s, sequential {t_seq:.1f} s (one process each, "
                      f"2 threads)")
        else:
            timing = f"results read from {reuse}"
        fixed, seq = list(read_results(fixed_path)), list(read_results(seq_path))
    by_id = dict(zip(claim_ids(fixed), fixed))
    lines = [f"suite: {', '.join(files)}; {timing}; {len(seq)} sequential-run records", "",
             "| claim | kind | verdict fixed / seq | documents seq / fixed | forward passes "
             "seq / fixed | saved | stopped after (units) | sequence | fixed-n CI |",
             "|---|---|---|---|---|---|---|---|---|"]
    read = full = 0
    changed: list[str] = []
    clear_changed = 0
    for cid, r in zip(claim_ids(seq), seq):
        f = by_id.get(cid)
        note = r.details.get("sequential", {})
        if f is None or note.get("mode") != "sequential":
            if f is not None and f.verdict != r.verdict:
                changed.append(f"- {cid}: {f.verdict} -> {r.verdict} (fixed-n in both)")
            continue
        docs, of = int(note["documents"]), int(note["documents_of"])
        per = PASSES.get(r.kind, 1)
        if f.verdict == "pass":
            read, full = read + docs, full + of
        lines.append(
            f"| {cid.split('::')[-1]} | {r.kind} | {f.verdict} / {r.verdict} | {docs} / {of} | "
            f"{docs * per} / {of * per} | {of / max(docs, 1):.1f}x | {note['stopped_after']} of "
            f"{note['of']} | [{r.ci[0]:.4g}, {r.ci[1]:.4g}] | [{f.ci[0]:.4g}, {f.ci[1]:.4g}] |")
        if f.verdict != r.verdict:
            half = (f.ci[1] - f.ci[0]) / 2
            clear = math.isfinite(half) and abs(f.effect - f.threshold) > 1.6 * half
            clear_changed += clear
            changed.append(
                f"- {cid}: fixed-n {f.verdict} (effect {f.effect:.4g}, CI [{f.ci[0]:.4g}, "
                f"{f.ci[1]:.4g}], threshold {f.threshold:.4g}) -> sequential {r.verdict} "
                f"(sequence [{r.ci[0]:.4g}, {r.ci[1]:.4g}] after {note['stopped_after']} of "
                f"{note['of']} units, {note['verdict']}); "
                + ("CLEAR of its threshold" if clear else "not clear of its threshold"))
    saved = full / max(read, 1)
    lines += ["", f"passing claims (fixed-n) that ran sequentially: {full} documents fixed-n, "
              f"{read} sequential: **{saved:.1f}x fewer**", "",
              "verdicts that differ:" if changed else "no verdict differs", *changed]
    return lines, saved, len(changed), clear_changed


def grid(reps: int, n: int = 200) -> list[str]:
    from neurospec.stats.inference import two_sample
    from neurospec.stats.sequential_stats import sequence_on

    rng = np.random.default_rng(0)
    lines = ["", f"synthetic grid: {n} documents per set, {reps} claims per cell, threshold "
             f"0 (difference of document means, SD 1)", "",
             "| true effect (SD) | docs read seq / fixed | saved | pass seq | pass fixed-n | "
             "verdicts differ |", "|---|---|---|---|---|---|"]
    for d in (0.0, 0.2, 0.35, 0.5, 0.8, 1.2):
        used, ps, pf, diff = [], 0, 0, 0
        for i in range(reps):
            a, b = rng.normal(d, 1, n), rng.normal(0, 1, n)
            s = sequence_on("mean_diff", a, b, threshold=0.0)
            f = two_sample(a, b, seed=i)
            sp, fp = s.verdict == "pass", f.ci[0] >= 0
            used.append(s.last.n)
            ps, pf, diff = ps + sp, pf + fp, diff + (sp != fp)
        m = float(np.mean(used))
        lines.append(f"| {d} | {m:.0f} / {2 * n} | {2 * n / m:.1f}x | {ps / reps:.2f} | "
                     f"{pf / reps:.2f} | {diff / reps:.2f} |")
    return lines


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", help="two hypotheses files, fewer draws")
    p.add_argument("--keep", type=Path, default=None,
                   help="keep the two results files (fixed.json, seq.json) in this folder")
    p.add_argument("--reuse", type=Path, default=None,
                   help="compare the results files a --keep run left in this folder")
    args = p.parse_args()
    files = QUICK if args.quick else ["hypotheses/"]
    lines, saved, changed, clear = compare_suite(files, args.keep, args.reuse)
    lines += grid(50 if args.quick else 200)
    print("\n".join(lines))
    print(f"name=sequential docs_saved={saved:.2f} verdicts_changed={changed} "
          f"clear_changed={clear}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
