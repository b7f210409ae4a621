"""The real-data rows of :mod:`neurospec.calibrate`: which units, pools, statistics and
sample sizes are decided (quick and full), plus near-copies (families of five versions of a
text) and the random-unit baseline at a unit just below the stated percentile.

Every row is a :class:`~neurospec.calibration_cases.Case` whose truth sits exactly at the
claim's threshold (the value on the whole pools), so every pass is a false pass.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from neurospec import calibration_real as cr
from neurospec.calibration_cases import Case
from neurospec.claims.rerun import random_p
from neurospec.stats.baselines import min_units, percentile_test
from neurospec.stats.clustered import auroc_from_pairs, d_from_sums

LABEL = {"token_auroc": "token AUROC", "token_d": "token d", "mean_diff": "difference of means"}
MIXED = "German vs English, fortunes + man pages"


RARE_SHARE = 0.15  # top 1% of a pool's documents carrying this share of its spread: rare


def rare_share(up: cr.UnitPool) -> float:
    """The largest share, over the two pools, of the documents' absolute deviations from the
    median document mean carried by the top 1% of documents (0.04-0.12 for every unit and
    pool measured but one: L1N221's English documents, 0.20, where IRC logs among the
    fortunes, 1% of the documents, carry the neuron's activity)."""
    shares = []
    for m in up.means:
        d = np.sort(np.abs(m - np.median(m)))[::-1]
        shares.append(float(d[:max(1, len(d) // 100)].sum() / d.sum()) if d.sum() else 0.0)
    return max(shares)


def _contrast_rows(ups: list[cr.UnitPool], metrics: tuple[str, ...], sizes, reps, group: str
                   ) -> list[Case]:
    out = []
    for up in ups:
        role = cr.UNITS.get(up.unit, "")
        rare = rare_share(up)
        for metric in metrics:
            # a spread carried by a sub-genre that most samples of <= 100 documents lack: the
            # token d (its SD is the sub-genre's) cannot see it; the rank-based AUROC and the
            # guarded difference of document means hold (measured, 2000 claims a row)
            testable = metric != "token_d" or rare <= RARE_SHARE
            for na, nb in sizes:
                n = f"n={na}" if na == nb else f"n={na} vs {nb}"
                out.append(Case(
                    f"{up.name}{f' ({role})' if role else ''}, {LABEL[metric]}, {n}",
                    f"{group}: {up.pool}", cr.contrast_case(up, metric, na, nb), reps,
                    mean_testable=testable, untestable="token d", note="" if testable else (
                        f"{up.name} on {up.pool}: the top 1% of a pool's documents carry "
                        f"{rare:.0%} of its spread (a rare sub-genre), so most samples of "
                        f"these sizes hold none of the documents that carry the mean and "
                        f"the token SD; token d cannot keep its level here, the token AUROC "
                        f"and the difference of document means do")))
    return out


def families(names: tuple[str, ...], count: int, seed: int) -> list[str]:
    """``count`` families of five versions of documents of ``names``: the text and four
    copies with one word each replaced by another word of the corpora (templated prompt
    sets, a text quoted with a word changed)."""
    from neurospec.data.corpus import load_corpus

    texts = [t for n in names for t in load_corpus(n).texts]
    rng = np.random.default_rng([seed, 17])
    words = sorted({w for t in texts for w in t.split() if w.isalpha()})
    out = []
    for i in rng.permutation(len(texts)):
        w = texts[i].split()
        if len(w) < 4:
            continue
        fam = [" ".join(w)]
        for k in rng.choice(len(w), 4, replace=False):
            v = list(w)
            v[k] = next(x for x in rng.choice(words, 8) if x != w[k])
            fam.append(" ".join(v))
        if len(set(fam)) == 5:
            out += fam
        if len(out) == 5 * count:
            return out
    return out


def family_case(pa, pb, groups_a, groups_b, metric: str, n_families: int, how: str
                ) -> Callable[[np.random.Generator, int], bool]:
    """Sets of ``n_families`` whole families each (five versions of a text, the shape of a
    templated prompt set); the claim "metric >= its value on the pools" decided with the
    detected groups resampled as one (``how`` 'grouped'), the true families declared as
    groups ('declared'), every version as a document
    ('versions'), or on the first version of each family alone ('texts': as many
    independent texts as there are families, no copies; truth on the pools of first
    versions)."""
    pairs, na, nb = pa
    sa, sb = pb
    if how == "texts":
        first_a, first_b = np.arange(0, len(na), 5), np.arange(0, len(nb), 5)
        pairs, na, nb = pairs[np.ix_(first_a, first_b)], na[first_a], nb[first_b]
        sa, sb = sa[:, first_a], sb[:, first_b]
    truth = {"token_auroc": float(pairs.sum() / (na.sum() * nb.sum())),
             "token_d": d_from_sums(sa, sb, n_resamples=2).estimate}[metric]
    per = 1 if how == "texts" else 5

    def docs(rng, size):
        fam = rng.choice(size // per, n_families, replace=False)
        return (fam[:, None] * per + np.arange(per)[None]).ravel()

    def pooled(x: np.ndarray, labels: np.ndarray, axis: int) -> np.ndarray:
        _, inv = np.unique(labels, return_inverse=True)
        onehot = np.zeros((inv.max() + 1, len(inv)))
        onehot[inv.ravel(), np.arange(len(inv))] = 1
        return onehot @ x if axis == 0 else x @ onehot.T

    def trial(rng: np.random.Generator, seed: int) -> bool:
        ia, ib = docs(rng, len(na)), docs(rng, len(nb))
        p, ca, cb = pairs[np.ix_(ia, ib)], na[ia], nb[ib]
        xa, xb = sa[:, ia], sb[:, ib]
        if how in ("grouped", "declared"):
            ga, gb = (groups_a[ia], groups_b[ib]) if how == "grouped" else (ia // 5, ib // 5)
            p = pooled(pooled(p, ga, 0), gb, 1)
            ca, cb = pooled(ca, ga, 0), pooled(cb, gb, 0)
            xa, xb = pooled(xa, ga, 1), pooled(xb, gb, 1)
        if metric == "token_auroc":
            est = auroc_from_pairs(p, ca, cb, seed=seed, null=truth)
        else:
            est = d_from_sums(xa, xb, seed=seed, null=truth)
        return cr._passes(est, truth)
    return trial


HOW = {"versions": "versions as documents", "grouped": "grouped near-copies",
       "declared": "families declared as groups", "texts": "one version per family"}
HOW_NOTE = {"versions": "every version counted as an independent document: the behaviour "
                        "before grouping",
            "texts": "one version per family: as many independent texts as the grouped row "
                     "has groups, no copies (the same claim on the first versions' pools); "
                     "what the grouped row can at best reach",
            "declared": "the true families declared as groups (a template id): what the "
                        "grouped row would be if the MinHash grouping were exact"}


def family_rows(model, units, per_set: int, sizes, reps, log) -> tuple[list[Case], list[str]]:
    """Rows for near-copies: before (every version a document) and after (detected groups)."""
    from neurospec.data.corpus import Corpus
    from neurospec.data.near_duplicates import near_duplicate_groups
    from neurospec.stats.clustered import doc_sums, pair_counts

    texts_a = families(cr.GERMAN, per_set, 0)
    texts_b = families(cr.ENGLISH, per_set, 1)
    ga, gb = near_duplicate_groups(texts_a), near_duplicate_groups(texts_b)
    found = sum(len(set(ga[i:i + 5])) == 1 for i in range(0, len(ga), 5)) + \
        sum(len(set(gb[i:i + 5])) == 1 for i in range(0, len(gb), 5))
    joined = len(set(ga)) + len(set(gb))
    notes = [f"near-copies: {found} of {(len(ga) + len(gb)) // 5} families of five versions "
             f"were found whole by the MinHash grouping ({joined} groups in all)"]
    acts = cr.unit_docs(model, [Corpus.from_texts(texts_a, name="families-de"),
                                Corpus.from_texts(texts_b, name="families-en")], units)
    out = []
    for u in units:
        a, b = acts[u][:len(texts_a)], acts[u][len(texts_a):]
        centre = float(np.concatenate(a + b).mean())
        pa, pb = pair_counts(a, b), (doc_sums(a, centre), doc_sums(b, centre))
        for metric in ("token_auroc", "token_d"):
            for k in sizes:
                for how in ("versions", "grouped", "declared", "texts"):
                    if how in ("declared", "texts") and k != max(sizes):
                        continue
                    n = k if how == "texts" else 5 * k
                    out.append(Case(
                        f"L{u[0]}N{u[1]}, {LABEL[metric]}, {k} families (n={n}), "
                        f"{HOW[how]}", "real: near-copies",
                        family_case(pa, pb, ga, gb, metric, k, how), reps,
                        target=how in ("grouped", "declared"), note=HOW_NOTE.get(how, "")))
    log("  real activations: families of near-copies")
    return out, notes


def percentile_row(model, n: int, k: int, reps) -> tuple[list[Case], list[str]]:
    """``beats_random_units(k, 97.5)`` and ``beats_percentile_of_layer(97.5)`` on the
    difference of document means (mixed pools) at the layer-0 neuron whose true effect beats
    248 of the other 255 (97.25%)."""
    means_a = _layer_means(model, cr.GERMAN)
    means_b = _layer_means(model, cr.ENGLISH)
    true = means_a.mean(0) - means_b.mean(0)
    order = np.argsort(true)
    unit = int(order[248])  # beats 248 of the 255 others: percentile 97.25
    others = np.array([i for i in range(len(true)) if i != unit])

    def trial(rng: np.random.Generator, seed: int) -> bool:
        ia = rng.choice(len(means_a), n, replace=False)
        ib = rng.choice(len(means_b), n, replace=False)
        eff = means_a[ia].mean(0) - means_b[ib].mean(0)
        rand = rng.choice(others, k, replace=False)
        return random_p(float(eff[unit]), [float(eff[r]) for r in rand]) <= 0.025 + 1e-12

    need = min_units(97.5, 0.025)

    def percentile(rng: np.random.Generator, seed: int) -> bool:
        ia = rng.choice(len(means_a), n, replace=False)
        ib = rng.choice(len(means_b), n, replace=False)
        eff = means_a[ia].mean(0) - means_b[ib].mean(0)
        se = np.sqrt(means_a[ia].var(0, ddof=1) / n + means_b[ib].var(0, ddof=1) / n)
        rand = rng.choice(others, need, replace=False)
        return percentile_test(float(eff[unit]), float(se[unit]), eff[rand].tolist(),
                               se[rand].tolist(), 97.5).passed

    note = (f"beats_random_units is a rank test of exchangeability (p = (1 + #random units at "
            f"least as extreme) / (k + 1)): L0N{unit}, whose true difference of document means "
            f"({true[unit]:.3f}) beats 97.25% of its layer, is no more exchangeable with it "
            f"than the German neuron is; its passes here are correct rejections of "
            f"exchangeability, not false passes of a percentile (none is claimed)")
    return [Case(f"L0N{unit} (true percentile 97.25), beats_random_units(k={k}, "
                 f"percentile=97.5), n={n}", "real: random-unit baselines", trial, reps,
                 target=False, note=note),
            Case(f"L0N{unit} (true percentile 97.25), beats_percentile_of_layer(97.5) "
                 f"(k={need}), n={n}", "real: random-unit baselines", percentile, reps)], []


def _layer_means(model, names: tuple[str, ...]) -> np.ndarray:
    from neurospec.data.corpus import load_corpus
    from neurospec.data.tokens import tokenize
    from neurospec.measure.activations import layer_activations

    return np.concatenate([np.stack([a.double().mean(0).numpy() for a in layer_activations(
        model, tokenize(model, load_corpus(c)), 0)]) for c in names])


def real_cases(quick: bool, log: Callable[[str], None]) -> tuple[list[Case], list[str]]:
    """Every real-data row, and notes for the table (pool truths, refusal rates)."""
    from neurospec.models import load_model

    model = load_model("tiny-bilingual", device="cpu")
    notes: list[str] = []
    metrics = ("token_auroc", "token_d", "mean_diff")
    if quick:
        ups = cr.measure(model, {MIXED: cr.POOLS[MIXED]}, [(0, 125), (0, 20)], log)
        rows = _contrast_rows(ups, metrics, [(10, 10), (30, 30)], (300, 1000), "real")
    else:
        ups = cr.measure(model, {MIXED: cr.POOLS[MIXED]}, list(cr.UNITS), log)
        rows = _contrast_rows(ups, metrics, [(10, 10), (30, 30), (100, 100)], (2000, 2000),
                              "real")
        other = cr.measure(model, {k: v for k, v in cr.POOLS.items() if k != MIXED},
                           [(0, 125), (0, 151), (1, 172), (1, 190)], log)
        rows += _contrast_rows(other, metrics, [(15, 15), (50, 50), (12, 60)], (300, 600),
                               "other pools and units")
        ups += other
        for pool, names in cr.HELD_OUT.items():
            held = cr.measure(model, {pool: names}, cr.held_out_units(model, names), log)
            rows += _contrast_rows(held, metrics, [(12, 12), (20, 20), (50, 50), (12, 60)],
                                   (300, 600), "held-out pools and units")
            ups += held
        notes += [_rare_note(up) for up in ups if rare_share(up) > RARE_SHARE]
    notes += [cr.pool_summary(up) for up in ups]
    rows += _loss_rows(model, quick, notes)
    from neurospec.calibration_sequential import real_sequential_rows

    rows += real_sequential_rows([up for up in ups if up.pool == MIXED][:2],
                                 cr.loss_changes(model, cr.GERMAN, (0, 125), "english"),
                                 (300, 1000) if quick else (1000, 2000))
    fam, fam_notes = family_rows(model, [(0, 125)] if quick else [(0, 125), (0, 26)],
                                 120 if quick else 200, (6,) if quick else (2, 6, 20),
                                 (300, 1000) if quick else (1000, 2000), log)
    pct, _ = percentile_row(model, 100, 39, (300, 1000) if quick else (2000, 2000))
    from neurospec.calibration_edges import edge_rows

    edges = edge_rows(model, quick, notes)
    log("  real direct effects: transcoder edges and paths")
    return rows + fam + pct + edges, notes + fam_notes


def _loss_rows(model, quick: bool, notes: list[str]) -> list[Case]:
    """raises_loss and and_not_on at their boundary: the German neuron mean-ablated (mean
    over English), per-document loss changes on the German and English pools."""
    sizes = (10, 30) if quick else (10, 30, 100)
    reps = (300, 1000) if quick else (2000, 2000)
    rows = []
    pools = [("German", cr.GERMAN, ">="), ("English", cr.ENGLISH, "within")]
    if not quick:
        pools.append(("German", cr.GERMAN, "within"))
    for label, names, direction in pools:
        delta = cr.loss_changes(model, names, (0, 125), "english")
        claim = "raises loss by >= its pool mean" if direction == ">=" else \
            "changes loss by less than +/- |pool mean|"
        for n in sizes:
            rows.append(Case(f"L0N125 mean-ablated, {claim}, {label}, n={n}",
                             "real: loss changes", cr.loss_case(delta, n, direction), reps))
        if direction == "within":
            for tol in (abs(float(delta.mean())), 0.01):
                shares = ", ".join(f"n={n}: {cr.refusal(delta, n, tol, 200, 0):.2f}"
                                   for n in sizes)
                notes.append(f"and_not_on({label}, tolerance={tol:.4g}) without a verdict "
                             f"(skew beyond {0.35}): {shares}")
    return rows


def _rare_note(up: cr.UnitPool, n: int = 30, reps: int = 2000) -> str:
    """Whether a guard on the sample could refuse the token d claims that pass falsely on a
    pool whose rare documents carry the spread: only if those documents are in the passing
    samples."""
    passes, held, share = cr.rare_in_passes(up, "token_d", n, reps, 0)
    return (f"{up.name} on {up.pool}, token d at n={n} ({reps} claims): {passes} false passes, "
            f"{held} of them with one of the top 1% of the than pool's documents in the "
            f"sample (which {share:.0%} of all samples hold): the false passes come from "
            f"samples that lack the documents that carry the mean and look tame, so no "
            f"guard on the sample can refuse them; the rows are reported as no valid token d "
            f"test")
