"""Benchmark: single-neuron ablation sweep of tiny-bilingual's MLP layers against the notebook
way (one forward pass per neuron), same data, same run: the last layer in closed form, the
first layer by batched recompute of the later blocks only.

    python benchmarks/sweep.py [--quick] [--docs N] [--threads T]

Last line: ``name=sweep speedup=<x> max_abs_diff=<d>``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="12 documents instead of 100")
    p.add_argument("--docs", type=int, default=None)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from neurospec import corpus, load_model
    from neurospec.data.tokens import tokenize
    from neurospec.measure.forward import clean_run
    from neurospec.measure.sweep import neuron_sweep

    n_docs = args.docs or (12 if args.quick else 100)
    model = load_model("tiny-bilingual", device="cpu")
    de, en = corpus("german").subset(n_docs), corpus("english")
    clean_run(model, tokenize(model, de))  # shared by both: tokenising and the clean pass
    neuron_sweep(model, de, 1, over=en, method="attribution")  # warm-up, means cached
    times, results = {}, {}
    for method in ("loop", "closed_form", "attribution"):
        t = time.perf_counter()
        results[method] = neuron_sweep(model, de, 1, over=en, method=method)
        times[method] = time.perf_counter() - t
    tc = tokenize(model, de)
    print(f"model tiny-bilingual, layer 1 ({model.d_mlp} neurons), {n_docs} German docs, "
          f"{tc.n_tokens} tokens, vocab {model.d_vocab}, torch threads {args.threads}")
    print(f"{'method':<14}{'seconds':>10}{'speedup':>10}{'max |diff| vs loop':>22}")
    ref = results["loop"].delta
    for m, s in times.items():
        diff = np.abs(results[m].delta - ref).max()
        print(f"{m:<14}{s:>10.2f}{times['loop'] / s:>10.1f}{diff:>22.2e}")
    from scipy.stats import spearmanr

    rho = spearmanr(results["attribution"].mean, results["loop"].mean).statistic
    print(f"attribution (approximate): Spearman rank correlation with the exact sweep {rho:.3f}")
    # An earlier layer: only the later blocks are recomputed, many neurons per pass.
    t = time.perf_counter()
    loop0 = neuron_sweep(model, de, 0, over=en, method="loop")
    t_loop0 = time.perf_counter() - t
    t = time.perf_counter()
    down0 = neuron_sweep(model, de, 0, over=en, method="downstream")
    t_down0 = time.perf_counter() - t
    print(f"layer 0 (1 of 2 blocks skipped): loop {t_loop0:.2f} s, downstream {t_down0:.2f} s, "
          f"speedup {t_loop0 / t_down0:.2f}, max |diff| "
          f"{np.abs(down0.delta - loop0.delta).max():.2e}")
    diff = np.abs(results["closed_form"].delta - ref).max()
    print(f"name=sweep speedup={times['loop'] / times['closed_form']:.2f} max_abs_diff={diff:.2e}")


if __name__ == "__main__":
    main()
