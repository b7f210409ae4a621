"""Measured calibration of neurospec's verdicts on the bundled model.

    python -m neurospec.calibrate [--quick] [--out docs/calibration.md] [--seed N]

(a) **False passes.**  For every claim kind, hundreds of claims whose null is true by
construction, decided exactly as the claim helpers decide them (the same statistics
functions and :func:`~neurospec.claims.verdict.decide`, threshold 0, "more on A than B"):

- two-set kinds (``activation_contrast`` by mean difference and by Cohen's d,
  ``sae_feature``, ``weight_gradients``): per-document values of a random unit measured on
  tiny-bilingual's held-out German documents, split at random into two disjoint sets, so
  both sets come from one distribution;
- paired kinds (``ablation_loss``, ``head_ablation``): per-document loss changes of a random
  neuron / head, centred on their mean over the pool, then ``n`` documents drawn from that
  centred pool: a world whose true mean change is exactly 0, with the real data's shape.

(b) **Power.**  The same draws with a planted true effect: set A shifted by ``d`` pooled
standard deviations (two-set kinds) or the centred changes shifted by ``d`` standard
deviations (paired kinds), for several ``d`` and ``n``.

Nominal alpha is 0.05, the error rate of the 95% CI that decides every verdict; as a
claim is one-sided, an exact CI would let only 2.5% of true nulls pass, and the table shows
both.  Each rate comes with its Clopper-Pearson 95% interval.  Targets (exit status 0 when
met): every kind's false-pass rate <= 0.05 with its upper bound <= 0.07, and power >= 0.95
at d = 0.8, n = 100.  ``--quick`` (100 claims per kind) only requires that no kind's rate be
significantly above 0.05 and power >= 0.9.  The last line printed is
``false_pass_rate=<worst kind> power_d0.8_n100=<lowest over kinds> kinds=<k>``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import binomtest

from neurospec.bundled import bundled
from neurospec.claims.verdict import decide
from neurospec.stats.inference import mean_ci, two_sample

ALPHA = 0.05  # the 95% CI's error rate
ALPHA_ONE_SIDED = 0.025  # what an exact CI gives a one-sided claim


@dataclass(frozen=True)
class Kind:
    """A claim kind's per-unit data and its decision."""

    name: str
    paired: bool
    pools: list[np.ndarray]  # per unit: per-document values over the document pool
    measure: str = "mean_diff"  # two-set kinds: mean_diff or cohens_d


def _passes(kind: Kind, a: np.ndarray, b: np.ndarray | None, seed: int) -> bool:
    if kind.paired:
        est = mean_ci(a, seed=seed)
    else:
        est = two_sample(a, b, measure=kind.measure, seed=seed)
    return decide(est.ci, 0.0, ">=")[0] == "pass"


def _draw(kind: Kind, rng: np.random.Generator, n: int, d: float
          ) -> tuple[np.ndarray, np.ndarray | None]:
    pool = kind.pools[rng.integers(len(kind.pools))]
    if kind.paired:
        centred = pool - pool.mean()
        x = rng.choice(centred, size=n, replace=True)
        return x + d * centred.std(ddof=1), None
    if 2 * n <= len(pool):  # a random split into two disjoint sets
        idx = rng.permutation(len(pool))
        a, b = pool[idx[:n]], pool[idx[n:2 * n]]
    else:  # too few documents to split: both sets drawn from the pool with replacement
        a, b = rng.choice(pool, size=n), rng.choice(pool, size=n)
    sd = pool.std(ddof=1)
    return a + d * sd, b


def rate(kind: Kind, reps: int, n: int, d: float, seed: int) -> tuple[int, int]:
    """(passes, claims) for ``reps`` claims of ``kind`` with ``n`` documents per set."""
    rng = np.random.default_rng([seed, n, int(d * 1000), len(kind.name)])
    hits = 0
    for i in range(reps):
        a, b = _draw(kind, rng, n, d)
        hits += _passes(kind, a, b, seed + i)
    return hits, reps


def collect(units: int, seed: int, log: Callable[[str], None]) -> list[Kind]:
    """Measure per-document values of random units of tiny-bilingual on held-out German."""
    import torch

    from neurospec.data.corpus import load_corpus
    from neurospec.data.tokens import tokenize
    from neurospec.measure.ablation import ablation_effect, make_ablation
    from neurospec.measure.activations import layer_activations
    from neurospec.measure.gradients import weight_gradient_norms
    from neurospec.measure.heads import head_ablation
    from neurospec.measure.sae import feature_activations, load_sae
    from neurospec.models import load_model
    from neurospec.units import Feature, Head, Neuron

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = load_model("tiny-bilingual", device="cpu")
    pool = load_corpus("german")
    english = load_corpus("english").subset(100)
    tc = tokenize(model, pool)
    kinds: dict[str, list[np.ndarray]] = {k: [] for k in (
        "activation_contrast", "sae_feature", "weight_gradients", "ablation_loss",
        "head_ablation")}
    t = time.perf_counter()
    for layer in range(model.n_layers):
        acts = layer_activations(model, tc, layer)
        means = np.stack([a.double().mean(0).numpy() for a in acts])  # [docs, d_mlp]
        for n in rng.choice(model.d_mlp, size=units, replace=False):
            kinds["activation_contrast"].append(means[:, n])
    log(f"  activations: {time.perf_counter() - t:.1f} s")
    root = bundled("saes") / "tiny-bilingual"
    t = time.perf_counter()
    for layer in range(model.n_layers):
        sae = load_sae(root / f"L{layer}")
        for f in rng.choice(sae.d_sae, size=units, replace=False):
            kinds["sae_feature"].append(
                feature_activations(model, sae, pool, Feature(layer, int(f))).doc_means)
    log(f"  SAE features: {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    small = pool.subset(120)
    for layer in range(model.n_layers):
        g = weight_gradient_norms(model, small, layer)
        for n in rng.choice(model.d_mlp, size=units, replace=False):
            kinds["weight_gradients"].append(np.asarray(g.w_in[:, n], dtype=np.float64))
    log(f"  weight gradients: {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    for _ in range(max(2, units // 4)):
        u = Neuron(int(rng.integers(model.n_layers)), int(rng.integers(model.d_mlp)))
        abl = make_ablation(model, u, "mean", english, seed=seed)
        kinds["ablation_loss"].append(ablation_effect(model, abl, small).delta)
    for layer in range(model.n_layers):
        for h in range(model.n_heads):
            kinds["head_ablation"].append(head_ablation(model, Head(layer, h), small).delta)
    log(f"  ablations: {time.perf_counter() - t:.1f} s")
    out = [Kind("activation_contrast", False, kinds["activation_contrast"]),
           Kind("activation_contrast (Cohen's d)", False, kinds["activation_contrast"],
                "cohens_d"),
           Kind("sae_feature", False, kinds["sae_feature"]),
           Kind("weight_gradients", False, kinds["weight_gradients"]),
           Kind("ablation_loss", True, kinds["ablation_loss"]),
           Kind("head_ablation", True, kinds["head_ablation"])]
    return out


def _ci(hits: int, n: int) -> tuple[float, float]:
    ci = binomtest(hits, n).proportion_ci(confidence_level=0.95, method="exact")
    return float(ci.low), float(ci.high)


def run(quick: bool, seed: int, out: Path | None, log: Callable[[str], None] = print) -> dict:
    reps_null = 100 if quick else 500
    reps_power = 40 if quick else 200
    n_null = 30
    sizes = [(0.5, 25), (0.5, 100), (0.8, 25), (0.8, 50), (0.8, 100), (1.2, 25)] if not quick \
        else [(0.8, 50), (0.8, 100)]
    t0 = time.perf_counter()
    log(f"measuring per-document values on tiny-bilingual (seed {seed})")
    kinds = collect(6 if quick else 16, seed, log)
    rows, power = [], {}
    for kind in kinds:
        hits, n = rate(kind, reps_null, n_null, 0.0, seed)
        lo, hi = _ci(hits, n)
        rows.append((kind.name, hits, n, hits / n, lo, hi))
        log(f"  null  {kind.name:<34} {hits:>4}/{n:<4} false passes = {hits / n:.3f} "
            f"[{lo:.3f}, {hi:.3f}]")
        for d, n_docs in sizes:
            p_hits, p_n = rate(kind, reps_power, n_docs, d, seed)
            power[kind.name, d, n_docs] = (p_hits, p_n)
    worst = max(r[3] for r in rows)
    worst_hi = max(r[5] for r in rows)
    p08 = min(h / n for (k, d, nd), (h, n) in power.items() if d == 0.8 and nd == 100)
    elapsed = time.perf_counter() - t0
    table = _markdown(rows, power, sizes, quick, seed, reps_null, n_null, elapsed)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(table)
        log(f"table written to {out}")
    else:
        log(table)
    if quick:
        ok = all(r[4] <= ALPHA for r in rows) and p08 >= 0.9
    else:
        ok = worst <= ALPHA and worst_hi <= ALPHA + 0.02 and p08 >= 0.95
    return {"false_pass_rate": worst, "false_pass_upper": worst_hi, "power": p08,
            "kinds": len(kinds), "ok": ok}


def _markdown(rows, power, sizes, quick, seed, reps, n_null, elapsed) -> str:
    lines = [
        "# Calibration of neurospec verdicts",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} with `python -m neurospec.calibrate"
        f"{' --quick' if quick else ''} --seed {seed}` ({elapsed:.0f} s, 1 process). "
        "Data: per-document values of random units of the bundled `tiny-bilingual` on its "
        "held-out German documents; decisions by the claim helpers' own statistics "
        "(95% CI: bootstrap-t for means and differences of means, BCa for Cohen's d; "
        "verdict = the whole CI clears the threshold 0).",
        "",
        f"## False passes under a true null ({reps} claims per kind, {n_null} documents per set)",
        "",
        f"Nominal alpha {ALPHA} (the 95% CI's error rate); an exact CI would let "
        f"{ALPHA_ONE_SIDED} of one-sided null claims pass.",
        "",
        "| kind | design | false passes | rate | 95% CI (Clopper-Pearson) |",
        "|---|---|---|---|---|",
    ]
    for name, hits, n, r, lo, hi in rows:
        design = "paired" if name in ("ablation_loss", "head_ablation") else "two sets"
        lines.append(f"| {name} | {design} | {hits}/{n} | {r:.3f} | [{lo:.3f}, {hi:.3f}] |")
    lines += ["", "## Power for planted true effects (share of claims that pass)", "",
              "| kind | " + " | ".join(f"d={d}, n={n}" for d, n in sizes) + " |",
              "|---|" + "---|" * len(sizes)]
    for name, *_ in rows:
        cells = []
        for d, n in sizes:
            h, m = power[name, d, n]
            cells.append(f"{h / m:.2f} ({h}/{m})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "d is the planted shift in standard deviations of the unit's per-document "
              "values; n is documents per set.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m neurospec.calibrate",
                                description="False-pass rate and power of neurospec verdicts, "
                                            "measured on the bundled model.")
    p.add_argument("--quick", action="store_true",
                   help="100 null claims per kind and 40 per power cell (about a minute)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="write the markdown table here")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    res = run(args.quick, args.seed, args.out)
    print(f"false_pass_rate={res['false_pass_rate']:.4f} power_d0.8_n100={res['power']:.3f} "
          f"kinds={res['kinds']}")
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
