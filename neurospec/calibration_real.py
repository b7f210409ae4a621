"""Real-data calibration: the false-pass promise checked on the bundled model's activations
and losses on the bundled corpora, not on synthetic draws.

The boundary design: a *pool* of documents per set (e.g. every German document of the bundled
corpora, fortunes and man pages: 1000, against every English one), a unit, a statistic; the
truth is the statistic on the whole pools, and the claim "statistic >= truth" is decided on
random subsets of ``n`` documents per set, drawn without replacement.  Every pass is a false
pass.  Activations and loss changes are measured once (cached under ``.cache/calibration``,
keyed by the model's weight fingerprint and the corpora's hashes); the draws are pure numpy
and call the same statistics functions the claims call (on per-document sums and pair
counts, which give exactly what the token-level functions compute from the tokens).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neurospec.claims.verdict import decide
from neurospec.stats.clustered import auroc_from_pairs, d_from_sums, doc_sums, pair_counts
from neurospec.stats.inference import mean_ci, two_sample

CACHE = Path(".cache") / "calibration"
GERMAN = ("german", "german_manpages", "german_manpages_unseen_pages")
ENGLISH = ("english", "english_manpages", "english_manpages_unseen_pages")
# (name, A corpora, B corpora): the mixed-genre pools, one genre, and pairs of corpora
# the statistics were never tuned on (other languages, other genres)
POOLS = {
    "German vs English, fortunes + man pages": (GERMAN, ENGLISH),
    "German vs English, fortunes": (("german",), ("english",)),
    "German vs French man pages": (("german_manpages",), ("french_manpages",)),
    "Italian vs Spanish, fortunes + man pages": (("italian_fortunes", "italian_manpages"),
                                                 ("spanish_fortunes", "spanish_manpages")),
}
# chosen after the token floor (cluster_t.TOKEN_FLOOR_TAIL) was set, to check it on pools and
# units no rule was chosen on: per pool the German neuron, the unit with the largest token
# AUROC on the pool, and two units drawn with a fixed seed
HELD_OUT = {
    "German vs Italian fortunes": (("german",), ("italian_fortunes",)),
    "Spanish vs English man pages": (("spanish_manpages",),
                                     ("english_manpages", "english_manpages_unseen_pages")),
    "French man pages vs Italian, fortunes + man pages": (
        ("french_manpages",), ("italian_fortunes", "italian_manpages")),
}
HELD_OUT_SEED = (2026, 12, 7)
# (unit, role): the German neuron, an unselective one (token AUROC 0.50 on the mixed pools),
# a sparse one firing on a rare sub-genre (IRC logs among the English fortunes: skewness of the
# English document means 5.8), one whose "than" set is skewed (2.9) with a modest effect
UNITS = {(0, 125): "selective (German neuron)", (0, 26): "unselective",
         (1, 221): "sparse, rare sub-genre in the than set", (0, 20): "skewed than set"}


@dataclass(frozen=True)
class UnitPool:
    """One unit on one pair of pools: what any subset's statistics need."""

    unit: tuple[int, int]
    pool: str
    pairs: np.ndarray = field(repr=False)  # [docs A, docs B] token pairs (A above B)
    na: np.ndarray = field(repr=False)  # tokens per document
    nb: np.ndarray = field(repr=False)
    sa: np.ndarray = field(repr=False)  # [3, docs] token count, sum, sum of squares
    sb: np.ndarray = field(repr=False)

    @property
    def means(self) -> tuple[np.ndarray, np.ndarray]:
        return self.sa[1] / self.sa[0], self.sb[1] / self.sb[0]

    def truth(self, metric: str) -> float:
        """The statistic on the whole pools."""
        if metric == "token_auroc":
            return float(self.pairs.sum() / (self.na.sum() * self.nb.sum()))
        if metric == "token_d":
            one = d_from_sums(self.sa, self.sb, n_resamples=2)
            return one.estimate
        a, b = self.means
        return float(a.mean() - b.mean())

    @property
    def name(self) -> str:
        return f"L{self.unit[0]}N{self.unit[1]}"


def _cached(key: str, compute: Callable[[], dict]) -> dict:
    path = CACHE / f"{key}.npz"
    if path.is_file():
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    out = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **out)
    tmp.replace(path)
    return out


def unit_docs(model, corpora: list, units: list[tuple[int, int]]
              ) -> dict[tuple[int, int], list[np.ndarray]]:
    """Per unit, the per-document token activations on ``corpora`` (names or corpora, in
    order)."""
    from neurospec.data.corpus import load_corpus
    from neurospec.data.tokens import tokenize
    from neurospec.measure.activations import layer_activations

    out: dict[tuple[int, int], list[np.ndarray]] = {u: [] for u in units}
    for c in corpora:
        tc = tokenize(model, load_corpus(c) if isinstance(c, str) else c)
        for layer in sorted({u[0] for u in units}):
            acts = layer_activations(model, tc, layer)
            for u in units:
                if u[0] == layer:
                    out[u] += [a[:, u[1]].double().numpy() for a in acts]
    return out


def measure(model, pools: dict[str, tuple], units: list[tuple[int, int]],
            log: Callable[[str], None]) -> list[UnitPool]:
    """Pair counts and document sums of every unit on every pair of pools (cached)."""
    from neurospec.data.corpus import load_corpus

    out = []
    for pool, (a_names, b_names) in pools.items():
        hashes = "-".join(load_corpus(n).hash[:8] for n in a_names + b_names)
        for unit in units:
            key = f"{model.fingerprint}-{hashes}-L{unit[0]}N{unit[1]}"

            def compute(a_names=a_names, b_names=b_names, unit=unit) -> dict:
                a = unit_docs(model, list(a_names), [unit])[unit]
                b = unit_docs(model, list(b_names), [unit])[unit]
                pairs, na, nb = pair_counts(a, b)
                centre = float(np.concatenate(a + b).mean())
                return {"pairs": pairs, "na": na, "nb": nb, "sa": doc_sums(a, centre),
                        "sb": doc_sums(b, centre)}
            z = _cached(key, compute)
            out.append(UnitPool(unit, pool, z["pairs"], z["na"], z["nb"], z["sa"], z["sb"]))
        log(f"  real activations: {pool}")
    return out


def held_out_units(model, pool: tuple, k: int = 2) -> list[tuple[int, int]]:
    """The units the held-out rows check on ``pool``: the German neuron, the unit with the
    largest token AUROC of A over B (every unit of every layer), and ``k`` units drawn with
    :data:`HELD_OUT_SEED`."""
    from scipy.stats import rankdata

    from neurospec.data.corpus import load_corpus
    from neurospec.data.tokens import tokenize
    from neurospec.measure.activations import layer_activations

    best, best_auc = (0, 125), -1.0
    for layer in range(model.n_layers):
        sets = [np.concatenate([a.double().numpy() for n in names for a in layer_activations(
            model, tokenize(model, load_corpus(n)), layer)]) for names in pool]
        both = np.concatenate(sets)
        ranks = rankdata(both, axis=0)
        na, nb = len(sets[0]), len(sets[1])
        auc = (ranks[:na].sum(0) - na * (na + 1) / 2) / (na * nb)
        i = int(np.argmax(auc))
        if auc[i] > best_auc:
            best, best_auc = (layer, i), float(auc[i])
    rng = np.random.default_rng(HELD_OUT_SEED)
    drawn = [(int(rng.integers(model.n_layers)), int(rng.integers(model.d_mlp)))
             for _ in range(k)]
    return list(dict.fromkeys([(0, 125), best, *drawn]))


def loss_changes(model, names: tuple[str, ...], unit: tuple[int, int], over: str
                 ) -> np.ndarray:
    """Per-document loss changes when ``unit`` is mean-ablated (mean over ``over``) on the
    corpora ``names`` (cached)."""
    from neurospec.data.corpus import load_corpus
    from neurospec.measure.ablation import ablation_effect, make_ablation
    from neurospec.units import Neuron

    hashes = "-".join(load_corpus(n).hash[:8] for n in names)
    key = f"{model.fingerprint}-loss-{hashes}-L{unit[0]}N{unit[1]}-mean-{over}"

    def compute() -> dict:
        ablation = make_ablation(model, Neuron(*unit), "mean", load_corpus(over))
        return {"delta": np.concatenate([ablation_effect(model, ablation, load_corpus(n)).delta
                                         for n in names])}
    return _cached(key, compute)["delta"]


def _passes(est, threshold: float, direction: str = ">=") -> bool:
    return decide(est.ci, threshold, direction, est.undefined)[0] == "pass"


def _draw(rng: np.random.Generator, size: int, n: int) -> np.ndarray:
    return rng.choice(size, n, replace=False)


def contrast_case(up: UnitPool, metric: str, n_a: int, n_b: int | None = None
                  ) -> Callable[[np.random.Generator, int], bool]:
    """"``up``'s unit activates more on A than on B with ``metric`` >= its pool value",
    decided on random subsets of ``n_a`` and ``n_b`` documents."""
    n_b = n_a if n_b is None else n_b
    truth = up.truth(metric)

    def trial(rng: np.random.Generator, seed: int) -> bool:
        ia, ib = _draw(rng, len(up.na), n_a), _draw(rng, len(up.nb), n_b)
        if metric == "token_auroc":
            est = auroc_from_pairs(up.pairs[np.ix_(ia, ib)], up.na[ia], up.nb[ib], seed=seed,
                                   null=truth)
        elif metric == "token_d":
            est = d_from_sums(up.sa[:, ia], up.sb[:, ib], seed=seed, null=truth)
        else:
            a, b = up.means
            est = two_sample(a[ia], b[ib], seed=seed, threshold=truth)
        return _passes(est, truth)
    return trial


@dataclass
class Tally:
    """How many claims of an equivalence case ended undefined (no verdict)."""

    claims: int = 0
    undefined: int = 0


def loss_case(delta: np.ndarray, n: int, direction: str, tally: Tally | None = None
              ) -> Callable[[np.random.Generator, int], bool]:
    """Per-document loss changes: "raises loss by >= pool mean" (``direction`` '>=') or
    "changes loss by less than +/- |pool mean|" ('within'), on random subsets of ``n``."""
    truth = float(delta.mean())
    threshold = abs(truth) if direction == "within" else truth

    def trial(rng: np.random.Generator, seed: int) -> bool:
        est = mean_ci(delta[_draw(rng, len(delta), n)], seed=seed, threshold=threshold,
                      direction=direction)
        if tally is not None:
            tally.claims += 1
            tally.undefined += bool(est.undefined)
        return _passes(est, threshold, direction)
    return trial


def refusal(delta: np.ndarray, n: int, tolerance: float, reps: int, seed: int) -> float:
    """Share of "changes loss by less than +/- ``tolerance``" claims on random subsets of
    ``n`` that end undefined (no verdict)."""
    rng = np.random.default_rng([seed, 3])
    undefined = sum(bool(mean_ci(delta[_draw(rng, len(delta), n)], seed=i,
                                 threshold=tolerance, direction="within").undefined)
                    for i in range(reps))
    return undefined / reps


def pool_summary(up: UnitPool) -> str:
    """The pool truths of a unit, for the table's notes."""
    a, b = up.means

    def skew(x: np.ndarray) -> float:
        d = x - x.mean()
        return float(np.mean(d ** 3) / np.mean(d ** 2) ** 1.5) if np.any(d) else math.nan
    return (f"{up.name} on {up.pool} ({len(up.na)} vs {len(up.nb)} documents): token AUROC "
            f"{up.truth('token_auroc'):.3f}, token d {up.truth('token_d'):.3f}, difference of "
            f"document means {up.truth('mean_diff'):.3f}; skewness of document means "
            f"{skew(a):.1f} / {skew(b):.1f}")


def rare_in_passes(up: UnitPool, metric: str, n: int, reps: int, seed: int
                   ) -> tuple[int, int, float]:
    """For "``metric`` >= its pool value" on random subsets of ``n`` documents per set: (false
    passes, false passes whose "than" subset holds one of the top 1% of its pool's documents
    by distance of their mean from the median, share of all subsets that hold one).  Whether
    a guard on the sample could see the documents that carry the mean: only if they are in
    the samples that pass."""
    trial = contrast_case(up, metric, n)
    b = up.means[1]
    top = np.argsort(-np.abs(b - np.median(b)))[:max(1, len(b) // 100)]
    passes = with_top = holding = 0
    for i in range(reps):
        rng = np.random.default_rng([seed, 29, i])
        _draw(rng, len(up.na), n)
        held = bool(np.isin(_draw(rng, len(up.nb), n), top).any())
        passed = trial(np.random.default_rng([seed, 29, i]), i)
        passes += passed
        with_top += passed and held
        holding += held
    return passes, with_top, holding / reps
