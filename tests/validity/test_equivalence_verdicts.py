"""Issue 30, item 2: equivalence claims ("changes loss by less than +/- tol", and_not_on) on
changes with a long tail get a verdict more often, without passing more often at their
boundary.  The German neuron mean-ablated (mean over English), loss changes on 1000 English
documents (fortunes and man pages; skewness -4, a few documents drop a lot).  Before, every
sample whose skewness of the mean passed 0.35 either way was refused: 60% of "changes loss by
less than 0.01 nats" claims at n = 30 had no verdict; now a side facing no tail keeps its
bound, and only a claim that would pass were it not for the tail is refused."""

import numpy as np
import pytest

from neurospec.claims.verdict import decide
from neurospec.stats import mean_ci

ENGLISH = ("english", "english_manpages", "english_manpages_unseen_pages")


@pytest.fixture(scope="module")
def changes(tiny):
    from neurospec.data.corpus import load_corpus
    from neurospec.measure.ablation import ablation_effect, make_ablation
    from neurospec.units import neuron

    ablation = make_ablation(tiny, neuron("L0N125"), "mean", load_corpus("english"))
    return np.concatenate([ablation_effect(tiny, ablation, load_corpus(n)).delta
                           for n in ENGLISH])


def claims(changes, tol: float, n: int, trials: int) -> tuple[int, int]:
    rng = np.random.default_rng(30)
    undefined = passed = 0
    for i in range(trials):
        est = mean_ci(changes[rng.choice(len(changes), n, replace=False)], seed=i,
                      threshold=tol, direction="within")
        undefined += bool(est.undefined)
        passed += decide(est.ci, tol, "within", est.undefined)[0] == "pass"
    return undefined, passed


def test_english_is_untouched_mostly_gets_a_verdict(changes):
    assert abs(changes.mean()) < 0.003  # the claim is true with room: |mean| 0.002
    undefined, passed = claims(changes, 0.01, 30, 150)
    assert undefined <= 60, undefined  # 40%; 90 of 150 (60%) before


def test_equivalence_at_its_boundary_keeps_its_level(changes):
    _, passed = claims(changes, abs(float(changes.mean())), 30, 300)
    assert passed <= 10, passed  # nominal 7.5 of 300


def test_equivalence_keeps_its_level_over_many_claims(changes):
    # the same boundary over 1000 claims at 30 and at 100 documents: with the means' floor
    # (two-sided 97.5%) 27 and 25 passed (the calibration table: 3.2% over 2000); an
    # equivalence claim's floor is the two-sided 99% bound (18 and 12 here)
    tol = abs(float(changes.mean()))
    for n in (30, 100):
        _, passed = claims(changes, tol, n, 1000)
        assert passed <= 25, (n, passed)  # nominal: 0.025 of 1000
