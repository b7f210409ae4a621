"""Measured calibration of neurospec's verdicts.

    python -m neurospec.calibrate [--quick] [--out docs/calibration.md] [--seed N]

(a) **False passes.**  For every case of :func:`neurospec.calibration_cases.cases`,
hundreds of claims whose true size sits exactly at their threshold, decided exactly as the
claim helpers decide them (the same statistics, 95% CI against the threshold): the bundled
model's per-document values (random units of ``tiny-bilingual`` on held-out German; two
disjoint random sets of one unit's documents, or paired changes centred on 0) at
thresholds 0 and > 0 and n = 10 / 30 / 100; and distributions that stress a rule: unequal
sets (10 vs 400), skew against the claim (lognormal sigma 1 and 2), sparse features,
families of claims under Holm, token AUROC and token d (documents of correlated tokens),
random-unit baselines (with ties), the vacuity flag, units and documents picked from the
data (top-k share, top examples).

(b) **Power.**  The same bundled-model draws with a planted effect of ``d`` standard
deviations.

A one-sided claim decided by a 95% CI should pass a true null at most 2.5% of the time.
Each rate comes with its Clopper-Pearson 95% interval.  A case whose interval lies wholly
above 0.025 is *detected* as invalid; where that is expected (no test of a mean holds its
level: rare huge values at n = 10) the table says so and the case is left out of the worst
rate.  Targets (exit status 0): every other case's upper bound <= 0.05, no unexpected
invalid case, power >= 0.9 at d = 0.8, n = 100 for every kind (quick and full).  Sparse SAE
features are the lowest (0.90-0.94 over 200-1000 claims): most of their misses are decided by
the two-set skew guard's Cantelli bound, which chance differences between two samples of one
skewed shape trigger; that guard is what holds skewed "than" sets at their level (without it,
lognormal sigma 1 than-sets passed 4.5-5.5% of boundary claims), so its price is kept and
stated rather than the guard weakened.

**A case that misses a target is re-run on fresh draws**, and the re-run decides it.  Each
row's interval is a 95% test, and there are over 30 rows: a case whose true rate is exactly
the nominal 0.025 lands wholly above it about 2% of the time at 1000 claims, so a screen of
all rows flags one exact case in every two or three runs by chance (measured: the
permutation-guarded ``activation_contrast, n=100`` gave 36/1000 in one quick run, and
489/20000 = 0.0245 over 20000 fresh draws).  The re-run uses independent draws (selection
and verdict on separate data) and the full number of claims; a truly invalid case fails it
again.  The table shows both counts.  The last line printed is
``false_pass_rate=<worst case> power_d0.8_n100=<lowest over kinds> kinds=<cases>``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import binomtest

from neurospec.bundled import bundled
from neurospec.calibration_cases import Case, Pool, cases
from neurospec.claims.verdict import decide
from neurospec.stats.inference import mean_ci, two_sample

REAL_INTRO = (
    "The bundled model (tiny-bilingual) on the bundled corpora: a pool per set (German: the "
    "German fortunes and man pages, 1000 documents; English likewise), the truth is the "
    "statistic on the whole pools, and each claim \"statistic >= truth\" is decided on random "
    "subsets of n documents per set (without replacement), by the same functions the claims "
    "call; every pass is a false pass.  Units: L0N125 (the German neuron), L0N26 "
    "(unselective: token AUROC 0.50), L1N221 (sparse, firing on a rare sub-genre of the "
    "English fortunes), L0N20 (a skewed than set); other pools and units than these were "
    "never used to choose a rule.  Near-copies: sets made of whole families of five versions "
    "of a text (one word changed).  Transcoder edges and paths (drives()): the bundled "
    "graph's path L0T341 -> L1T109 -> logit('\\n') on the German pool, per-document direct "
    "effects, one set of documents per claim.")
NOMINAL = 0.025  # what a 95% CI gives a one-sided claim
BOUND = 0.05  # the most a case's Clopper-Pearson upper bound may reach
POWER_TARGET = 0.9  # the least power of any kind at d = 0.8, n = 100 (see the module note)


@dataclass(frozen=True)
class Row:
    case: Case
    hits: int
    reps: int
    lo: float
    hi: float
    screen: tuple[int, int] | None = None  # (hits, reps) of the first run, when re-run

    @property
    def rate(self) -> float:
        return self.hits / self.reps

    @property
    def invalid(self) -> bool:
        """Detected: significantly more false passes than nominal."""
        return self.lo > NOMINAL


def _power_trial(pool: Pool, rng: np.random.Generator, n: int, d: float, seed: int) -> bool:
    values = pool.units[rng.integers(len(pool.units))]
    if pool.paired:
        centred = values - values.mean()
        x = rng.choice(centred, size=n) + d * centred.std(ddof=1)
        est = mean_ci(x, seed=seed)
        return decide(est.ci, 0.0, ">=", est.undefined)[0] == "pass"
    if 2 * n <= len(values):
        idx = rng.permutation(len(values))
        a, b = values[idx[:n]], values[idx[n:2 * n]]
    else:
        a, b = rng.choice(values, size=n), rng.choice(values, size=n)
    est = two_sample(a + d * values.std(ddof=1), b, seed=seed)
    return decide(est.ci, 0.0, ">=", est.undefined)[0] == "pass"


def _power(pool: Pool, n: int, d: float) -> Callable[[np.random.Generator, int], bool]:
    """:func:`_power_trial` on ``pool`` at size ``n`` and effect ``d``, as ``_count`` runs it."""
    def trial(rng: np.random.Generator, seed: int) -> bool:
        return _power_trial(pool, rng, n, d, seed)
    return trial


def _count(trial: Callable[[np.random.Generator, int], bool], reps: int, seed: int,
           key: str) -> int:
    rng = np.random.default_rng([seed, sum(map(ord, key))])
    return sum(trial(rng, seed * 100003 + i) for i in range(reps))


def misses_target(row: Row) -> bool:
    """A testable case whose interval is not wholly within the targets."""
    return row.case.mean_testable and row.case.target and (row.invalid or row.hi > BOUND)


def decide_case(case: Case, reps: int, confirm_reps: int, seed: int) -> Row:
    """Count ``case``'s false passes in ``reps`` claims; a case that misses a target is
    counted again on ``confirm_reps`` independent claims, and that count is its row."""
    hits = _count(case.trial, reps, seed, case.name)
    row = Row(case, hits, reps, *_ci(hits, reps))
    if not misses_target(row):
        return row
    again = _count(case.trial, confirm_reps, seed + 1, case.name + " (re-run)")
    return Row(case, again, confirm_reps, *_ci(again, confirm_reps), screen=(hits, reps))


def collect(units: int, seed: int, log: Callable[[str], None]) -> dict[str, Pool]:
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
    for _ in range(max(8, units // 2)):  # Holm families draw from these
        u = Neuron(int(rng.integers(model.n_layers)), int(rng.integers(model.d_mlp)))
        abl = make_ablation(model, u, "mean", english, seed=seed)
        kinds["ablation_loss"].append(ablation_effect(model, abl, small).delta)
    for layer in range(model.n_layers):
        for h in range(model.n_heads):
            kinds["head_ablation"].append(head_ablation(model, Head(layer, h), small).delta)
    log(f"  ablations: {time.perf_counter() - t:.1f} s")
    return {k: Pool(k, k in ("ablation_loss", "head_ablation"), v) for k, v in kinds.items()}


def _ci(hits: int, n: int) -> tuple[float, float]:
    ci = binomtest(hits, n).proportion_ci(confidence_level=0.95, method="exact")
    return float(ci.low), float(ci.high)


def run(quick: bool, seed: int, out: Path | None, log: Callable[[str], None] = print,
        only: Sequence[str] = (), update: Path | None = None) -> dict:
    """Every case (or those matching ``only``), power unless ``only`` is given; the table
    written to ``out``, or the re-run rows written into the table ``update``."""
    sizes = [(0.8, 50), (0.8, 100)] if quick else \
        [(0.5, 25), (0.5, 100), (0.8, 25), (0.8, 50), (0.8, 100), (1.2, 25)]
    reps_power = 40 if quick else 200
    t0 = time.perf_counter()
    from neurospec.calibration_real_cases import real_cases
    from neurospec.calibration_sequential import power_rows, sequential_cases
    from neurospec.calibration_update import selected, update_table

    real, notes = real_cases(quick, log)
    chosen = [c for c in real if selected(c, only)] if only else real
    pools: dict[str, Pool] = {}
    if not only or any(not any(selected(c, [p]) for c in real) for p in only):
        log(f"measuring per-document values on tiny-bilingual (seed {seed})")
        pools = collect(4 if quick else 16, seed, log)
        synthetic = cases(pools) + sequential_cases(pools)
        chosen = ([c for c in synthetic if selected(c, only)] if only else synthetic) + chosen
    rows = []
    for case in chosen:
        t = time.perf_counter()
        row = decide_case(case, case.reps[0 if quick else 1], case.reps[1], seed)
        rows.append(row)
        flag = "INVALID" if row.invalid else ""
        first = f"re-run after {row.screen[0]}/{row.screen[1]}: " if row.screen else ""
        log(f"  {case.group:<27} {case.name:<42} {first}{row.hits:>3}/{row.reps:<4} = "
            f"{row.rate:.3f} [{row.lo:.3f}, {row.hi:.3f}] {flag} "
            f"({time.perf_counter() - t:.0f} s)")
    testable = [r for r in rows if r.case.mean_testable and r.case.target]
    worst = max(testable, key=lambda r: r.rate, default=None)
    worst_hi = max((r.hi for r in testable), default=0.0)
    surprises = [r for r in rows if r.case.target and r.invalid != (not r.case.mean_testable)]
    for r in surprises:
        log(f"note: {r.case.name}: " + ("detected invalid (more false passes than nominal)"
                                        if r.invalid else f"held its level although no "
                                                          f"{r.case.untestable} test is "
                                                          f"expected to"))
    result = {"false_pass_rate": worst.rate if worst else 0.0, "false_pass_upper": worst_hi,
              "power": float("nan"), "kinds": len(rows),
              "ok": worst_hi <= BOUND and not [r for r in testable if r.invalid]}
    if only:
        if update is not None:
            command = "python -m neurospec.calibrate" + " --quick" * quick + \
                f" --seed {seed} " + " ".join(f"--only '{p}'" for p in only)
            seen = dict.fromkeys(r.case.note for r in rows if r.case.note)
            tails = {r.case.group.split(": ")[-1] for r in rows}
            units = tuple(f"{r.case.name.split(' ')[0]} on {r.case.group.split(': ')[-1]}"
                          for r in rows)  # the notes on a re-run row's unit and pools
            picked = [n for n in notes if n.split(":")[0] in tails or n.startswith(units)]
            update.write_text(update_table(update.read_text(), [(r.case, _row(r)) for r in rows],
                                           command, time.perf_counter() - t0,
                                           [f"{n}." for n in list(seen) + picked]))
            log(f"rows written into {update}")
        return result
    power = {}
    for pool in pools.values():
        for d, n in sizes:
            hits = _count(_power(pool, n, d), reps_power, seed, f"power {pool.kind} {d} {n}")
            power[pool.kind, d, n] = (hits, reps_power)
    seq_power = power_rows(pools, reps_power * 2, seed)
    p08 = min(h / m for (k, d, n), (h, m) in power.items() if d == 0.8 and n == 100)
    table = _markdown(rows, power, sizes, quick, seed, time.perf_counter() - t0, reps_power,
                      notes) + _seq_power(seq_power, reps_power * 2)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(table)
        log(f"table written to {out}")
    else:
        log(table)
    result["power"] = p08
    result["ok"] = result["ok"] and p08 >= POWER_TARGET
    return result


def _seq_power(rows: list[tuple[str, float, float, float, float]], reps: int) -> str:
    lines = [f"## Power of sequential mode beside fixed-n ({reps} claims per cell)", "",
             "A planted effect of d SDs of the pool's per-document values, at most 100 "
             "documents per set (the fixed-n test's n); the sequence looks after every batch "
             "(first 20 groups per set, batches x1.5).", "",
             "| kind | d | sequential power | fixed-n power | share of documents read "
             "(sequential) |", "|---|---|---|---|---|"]
    lines += [f"| {k} | {d} | {s:.2f} | {f:.2f} | {u:.2f} |" for k, d, s, f, u in rows]
    return "\n".join(lines + [""])


def _row(r: Row) -> str:
    if not r.case.target:
        verdict = "shown for comparison, not a target"
    elif not r.case.mean_testable:
        verdict = (f"no valid {r.case.untestable} test (detected)" if r.invalid else
                   f"held here; no valid {r.case.untestable} test is guaranteed")
    else:
        verdict = "INVALID" if r.invalid else ("ok" if r.hi <= BOUND else "above bound")
    if r.screen:
        verdict += f" (re-run; first run {r.screen[0]}/{r.screen[1]})"
    return (f"| {r.case.group} | {r.case.name} | {r.hits}/{r.reps} | {r.rate:.3f} | "
            f"[{r.lo:.3f}, {r.hi:.3f}] | {verdict} |")


def _markdown(rows: list[Row], power, sizes, quick, seed, elapsed, reps_power,
              notes: Sequence[str] = ()) -> str:
    lines = [
        "# Calibration of neurospec verdicts",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} with `python -m neurospec.calibrate"
        f"{' --quick' if quick else ''} --seed {seed}` ({elapsed:.0f} s, 1 process). Every "
        "claim's true size sits exactly at its threshold, and it is decided as the claim "
        "helpers decide (95% CI: for means, the most conservative of bootstrap-t, Student's t "
        "with Satterthwaite df and the two-sided 97.5% Student bound (99% for an equivalence "
        "claim), Cantelli's bound on a "
        "side that faces a skewed tail; for differences of means of small sets also a "
        "permutation test of the shift; BCa for Cohen's d; a studentized bootstrap over "
        "documents for token AUROC (logit scale) and token d, no narrower than Student's t "
        "with Satterthwaite df and the two-sided 99% Student bound; "
        "Clopper-Pearson for shares; p = (1 + #as extreme) / (k + 1) for random-unit "
        "baselines; the whole CI "
        "must clear the threshold; Holm: each claim's CI recomputed at its adjusted level).",
        "",
        f"## False passes (nominal one-sided {NOMINAL}; target: Clopper-Pearson upper bound "
        f"<= {BOUND})",
        "",
        "A case that missed a target was re-run on independent draws, and the re-run decides "
        "it (the first count is shown in the last column).",
        "",
        "| group | case | false passes | rate | 95% CI (Clopper-Pearson) | verdict |",
        "|---|---|---|---|---|---|",
    ]
    synthetic = [r for r in rows if not r.case.group.startswith(("real", "other pools"))]
    real = [r for r in rows if r not in synthetic]
    lines += [_row(r) for r in synthetic]
    described = [r.case for r in synthetic if r.case.note]
    if described:
        lines += [""] + [f"- *{c.name}*: {c.note}." for c in described]
    if real:
        lines += ["", "## False passes on real activations", "", REAL_INTRO, "",
                  "| group | case | false passes | rate | 95% CI (Clopper-Pearson) | verdict |",
                  "|---|---|---|---|---|---|"] + [_row(r) for r in real]
        seen = dict.fromkeys(r.case.note for r in real if r.case.note)
        lines += [""] + [f"- {n}." for n in list(seen) + list(notes)]
    lines += ["", f"## Power for planted true effects ({reps_power} claims per cell)", "",
              "| kind | " + " | ".join(f"d={d}, n={n}" for d, n in sizes) + " |",
              "|---|" + "---|" * len(sizes)]
    for kind in dict.fromkeys(k for k, _, _ in power):
        cells = [f"{power[kind, d, n][0] / power[kind, d, n][1]:.2f}" for d, n in sizes]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    lines += ["", "d is the planted shift in standard deviations of the unit's per-document "
              "values; n is documents per set.  Target: at least "
              f"{POWER_TARGET} at d = 0.8, n = 100 for every kind.  Sparse SAE features are the "
              "lowest: most of their misses are decided by the two-set skew guard's Cantelli "
              "bound (chance differences between two samples of one skewed shape), the price "
              "of the guard that holds skewed \"than\" sets at their level.", ""]
    return "\n".join(lines)


def _seed(text: str) -> int:
    """An argparse type: numpy seeds are whole numbers in 0 .. 2**32-1."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2 ** 32:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number in 0 .. 2**32-1, "
                                         f"e.g. --seed 0")
    return value


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m neurospec.calibrate",
                                description="False-pass rate and power of neurospec verdicts, "
                                            "measured on the bundled model.")
    p.add_argument("--quick", action="store_true",
                   help="fewer claims per case (a few minutes)")
    p.add_argument("--seed", type=_seed, default=0, help="seed, 0 .. 2**32-1 (default 0)")
    p.add_argument("--out", type=Path, default=None, help="write the markdown table here")
    p.add_argument("--only", action="append", default=[], metavar="TEXT",
                   help="run only the false-pass rows whose 'group: case' contains TEXT "
                        "(repeatable; no power table)")
    p.add_argument("--update", type=Path, default=None, metavar="TABLE",
                   help="with --only: write the re-run rows into this table (in place)")
    args = p.parse_args(argv)
    if args.update is not None and not args.only:
        p.error("--update writes re-run rows: give the rows with --only TEXT")
    import torch

    torch.set_num_threads(1)
    res = run(args.quick, args.seed, args.out, only=args.only, update=args.update)
    print(f"false_pass_rate={res['false_pass_rate']:.4f} power_d0.8_n100={res['power']:.3f} "
          f"kinds={res['kinds']}")
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
