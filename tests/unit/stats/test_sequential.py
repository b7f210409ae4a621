"""Confidence sequences: coverage under repeated peeking (by simulation), bounds that only
shrink, the three decisions, and naive peeking at the fixed-n CI as the counterexample."""

import math

import numpy as np
import pytest

from neurospec.calibration_sequential import share_case
from neurospec.errors import InvalidArgument
from neurospec.stats.sequential import (
    anytime_p,
    at_level,
    betting_bounds,
    betting_p,
    decision,
    mixture_multiplier,
    normal_bounds,
    schedule,
)
from neurospec.stats.sequential_stats import estimate_se, sequence_on


def test_mixture_multiplier_is_narrowest_at_a_quarter_and_costs_1_6x_at_the_full_corpus():
    assert mixture_multiplier(25, 100) == pytest.approx(3.035, abs=1e-3)
    c_full = mixture_multiplier(100, 100)
    assert c_full / 1.96 == pytest.approx(1.6, abs=0.01)
    cs = [mixture_multiplier(n, 100) for n in (2, 5, 10, 25)]
    assert cs == sorted(cs, reverse=True)
    assert mixture_multiplier(0, 100) == math.inf
    with pytest.raises(InvalidArgument, match="alpha=1.5"):
        mixture_multiplier(10, 100, alpha=1.5)


def test_schedule_grows_and_ends_at_the_corpus():
    assert schedule(100, 20, 1.5) == [20, 30, 45, 68, 100]
    assert schedule(10, 20, 1.5) == [10]
    with pytest.raises(InvalidArgument, match="ratio"):
        schedule(10, 2, 1.0)


def test_decision_has_three_outcomes():
    assert decision(0.9, 1.0, 0.85, ">=") == "pass"
    assert decision(0.7, 0.8, 0.85, ">=") == "fail"
    assert decision(0.8, 0.9, 0.85, ">=") == "undecided"
    assert decision(-0.1, 0.1, 0.2, "within") == "pass"
    assert decision(0.3, 0.4, 0.2, "within") == "fail"


def test_sequence_bounds_only_shrink():
    rng = np.random.default_rng(1)
    res = sequence_on("mean", rng.normal(0.0, 1.0, 400), threshold=5.0, first=10)
    los = [k.lo for k in res.looks]
    his = [k.hi for k in res.looks]
    assert los == sorted(los) and his == sorted(his, reverse=True)
    assert res.verdict == "fail" and res.last.n < 400  # shown false early: it stops


@pytest.mark.parametrize("metric", ["mean", "mean_diff"])
def test_coverage_under_peeking_after_every_batch(metric):
    # the truth sits at the threshold: passing at any look is a false pass
    rng = np.random.default_rng(7)
    reps = 600
    hits = 0
    for _ in range(reps):
        a = rng.standard_t(5, 100)
        b = None if metric == "mean" else rng.standard_t(5, 100)
        hits += sequence_on(metric, a, b, threshold=0.0, first=10).verdict == "pass"
    assert hits / reps <= 0.025


def test_a_clear_effect_stops_early():
    rng = np.random.default_rng(2)
    res = sequence_on("mean_diff", rng.normal(1.0, 1, 400), rng.normal(0, 1, 400),
                      threshold=0.0)
    assert res.verdict == "pass" and res.stopped_early and res.last.n <= 80
    assert "stopped after" in res.summary()


def test_groups_count_once_and_batches_end_on_group_boundaries():
    rng = np.random.default_rng(3)
    groups = np.repeat(np.arange(50), 4)  # 50 groups of 4 near-copies
    x = np.repeat(rng.normal(0, 1, 50), 4) + rng.normal(0, 0.01, 200)
    res = sequence_on("mean", x, threshold=0.0, groups=(groups, None), first=10)
    assert res.n_max == 50
    assert all(k.n <= 50 for k in res.looks)


def test_token_statistics_have_estimates_and_ses():
    rng = np.random.default_rng(4)
    a = [rng.normal(1, 1, 20) for _ in range(30)]
    b = [rng.normal(0, 1, 20) for _ in range(30)]
    auc, se, n, ok = estimate_se("token_auroc", a, b)
    assert 0.6 < auc < 0.9 and se > 0 and n == 60 and ok
    lo, hi = normal_bounds(auc, se, n, 60, logit=True)
    assert 0 < lo < auc < hi < 1
    d, se_d, _, _ = estimate_se("token_d", a, b)
    assert 0.6 < d < 1.4 and se_d > 0


def test_betting_sequence_covers_a_share_under_peeking_and_naive_peeking_does_not():
    # the acceptance test: the same draws, decided by the fixed-n Clopper-Pearson bound
    # after every batch (naive peeking) and by the betting sequence
    reps = 1500
    naive = sum(share_case(0.9, 400, naive=True)(np.random.default_rng([5, i]), i)
                for i in range(reps))
    seq = sum(share_case(0.9, 400)(np.random.default_rng([5, i]), i) for i in range(reps))
    assert naive / reps > 0.04  # well above the 2.5% a one-sided 95% claim may pass
    assert seq / reps <= 0.025


def test_betting_bounds_hold_a_bernoulli_mean():
    rng = np.random.default_rng(6)
    lo, hi = betting_bounds((rng.random(300) < 0.3).astype(float))
    assert np.all(np.diff(lo) >= 0) and np.all(np.diff(hi) <= 0)
    assert lo[-1] < 0.3 < hi[-1] and hi[-1] - lo[-1] < 0.25
    assert betting_p(np.ones(100), 0.5) < 0.025
    assert betting_p(np.zeros(10), 0.5) == 1.0
    with pytest.raises(InvalidArgument):
        betting_bounds(np.array([2.0]))


def test_anytime_p_matches_the_sequence_and_holm_levels_recompute_it():
    rng = np.random.default_rng(8)
    res = sequence_on("mean", rng.normal(0.5, 1, 200), threshold=0.0)
    p = anytime_p(res.looks, res.n_max, 0.0, ">=")
    assert res.verdict == "pass" and p <= 0.025
    lo, _ = at_level(res.looks, res.n_max, 2 * p * 1.01)
    assert lo >= 0.0
    lo_strict, _ = at_level(res.looks, res.n_max, 2 * p * 0.5)
    assert lo_strict < 0.0
