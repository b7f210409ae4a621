"""Benchmark: 20 claims on the same model and data against 1 claim, with neurospec's cache of
forward passes shared across the claims of a session, and against the notebook way (every
claim recomputes its own forward passes: the cache switched off), same run.

    python benchmarks/suite.py [--quick] [--threads T] [--device cuda]

Target: 20 claims <= 1.3x the time of 1 claim.  Last line:
``name=suite speedup=<naive 20 / cached 20> max_abs_diff=<cached vs uncached numbers>``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def claims(model, de, en, count: int, ablations: bool = False
           ) -> list[tuple[float, float, float]]:
    """``count`` claims about tiny-bilingual's layer 0 on German vs English: activation
    contrasts of several neurons (by difference and by Cohen's d) and the German neuron's
    top examples; with ``ablations``, the last two are its mean ablation on both sets
    (two interventions, so two forward passes no cache can share)."""
    from neurospec import expect, neuron
    from neurospec.claims.context import using
    from neurospec.errors import ClaimFailed
    from neurospec.evidence.sink import collecting

    units = ["L0N125", "L0N150", "L0N7", "L0N12", "L0N40", "L0N99", "L0N144", "L0N201"]
    steps = []
    for u in units:
        steps.append(lambda u=u: expect(u).activates_more(on=de, than=en, by_at_least=0.0))
        steps.append(lambda u=u: expect(u).activates_more(on=de, than=en,
                                                          effect_size_at_least=0.0))
    steps.append(lambda: expect("L0N125").top_examples_come_from(on=de, among=[de, en], k=10,
                                                                 share_at_least=0.5))
    steps.append(lambda: expect("L0N125").activates_more(on=de, than=en, by_at_least=1.0))
    steps.append(lambda: expect("L0N150").activates_more(on=de, than=en, by_at_least=1.0))
    steps.append(lambda: expect("L0N125").top_examples_come_from(on=de, among=[de, en], k=20,
                                                                 share_at_least=0.5))
    if ablations:
        steps[-2:] = [
            lambda: expect(neuron("L0N125")).ablated(to="mean", over=en)
            .raises_loss(on=de, by_at_least=0.0),
            lambda: expect(neuron("L0N125")).ablated(to="mean", over=en)
            .and_not_on(en, tolerance=0.05)]
    out = []
    with collecting() as records, using(model=model):
        for step in steps[:count]:
            try:
                step()
            except ClaimFailed:
                pass
    for r in records:
        out.append((r.effect, r.ci[0], r.ci[1]))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="100 documents per set instead of 400")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from neurospec import corpus, load_model

    n = 100 if args.quick else 400
    model = load_model("tiny-bilingual", device=args.device)
    de, en = corpus("german").subset(n), corpus("english").subset(n)
    claims(model, de.subset(12), en.subset(12), 20)  # warm-up (imports, kernels)

    def timed(count: int, cache: bool, ablations: bool = False) -> tuple[float, list]:
        model.cache.clear()
        model.cache.max_bytes = (2 << 30) if cache else 0
        t = time.perf_counter()
        res = claims(model, de, en, count, ablations)
        return time.perf_counter() - t, res

    t_one, _ = timed(1, True)
    t_cached, cached = timed(20, True)
    t_naive, naive = timed(20, False)
    t_mixed, mixed = timed(20, True, ablations=True)
    t_mixed_naive, mixed_naive = timed(20, False, ablations=True)
    diff = float(max(np.abs(np.array(cached) - np.array(naive)).max(),
                     np.abs(np.array(mixed) - np.array(mixed_naive)).max()))
    print(f"model tiny-bilingual, {n} German + {n} English docs, {args.device}, "
          f"torch threads {args.threads}")
    print(f"{'run':<46}{'seconds':>10}{'vs 1 claim':>12}")
    for name, t in (("1 claim", t_one), ("20 claims, shared cache", t_cached),
                    ("20 claims, no cache (notebook way)", t_naive),
                    ("20 claims with 2 ablations, shared cache", t_mixed),
                    ("20 claims with 2 ablations, no cache", t_mixed_naive)):
        print(f"{name:<46}{t:>10.2f}{t / t_one:>12.2f}")
    print(f"20 claims cost {t_cached / t_one:.2f}x one claim (target <= 1.3x); with two "
          f"ablations (two new interventions) {t_mixed / t_one:.2f}x; numbers with and "
          f"without the cache differ by at most {diff:.1e}")
    print(f"name=suite speedup={t_naive / t_cached:.2f} max_abs_diff={diff:.2e}")


if __name__ == "__main__":
    main()
