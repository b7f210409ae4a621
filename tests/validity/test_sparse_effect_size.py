"""Item 1: a non-finite bootstrap resample never shrinks a CI; a CI that cannot be computed
fails the claim as undefined (Cohen's d of a sparse feature)."""

import math

import numpy as np

from neurospec.claims.verdict import decide
from neurospec.stats import two_sample


def sparse(n: int = 30, fires: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A feature that fires on ``fires`` of ``n`` documents of one set, never on the other."""
    a = np.zeros(n)
    a[:fires] = [1.0, 2.0, 1.5][:fires]
    return a, np.zeros(n)


def test_sparse_cohens_d_claim_fails_as_undefined():
    # used to pass "d >= 0.3" with CI (0.441, 0.441): every resample with no firing document
    # has no pooled variance (d = NaN) and the CI fell back to the point estimate
    a, b = sparse()
    est = two_sample(a, b, measure="cohens_d", threshold=0.3, seed=0)
    assert est.undefined and not math.isfinite(est.ci[0])
    verdict, missed = decide(est.ci, 0.3, ">=")
    assert verdict == "fail" and "undefined" in missed


def test_a_non_finite_resample_never_shrinks_the_ci():
    # one more firing document: few resamples are degenerate, the CI is defined and wide
    a, b = sparse(fires=3)
    a[3:8] = 0.5
    est = two_sample(a, b, measure="cohens_d", threshold=0.3, seed=0)
    assert not est.undefined and est.ci[1] - est.ci[0] > 0.3
    assert est.ci[0] <= est.estimate <= est.ci[1]


def test_boundary_sparse_claims_do_not_pass_often():
    # true d at the threshold, a sparse feature at n = 30: 0.71 false passes before
    rng = np.random.default_rng(0)
    passes = 0
    for i in range(40):
        a = np.where(rng.random(30) < 0.1, rng.exponential(1.0, 30), 0.0)
        b = np.where(rng.random(30) < 0.1, rng.exponential(1.0, 30), 0.0)
        est = two_sample(a, b, measure="cohens_d", threshold=0.0, seed=i)
        passes += decide(est.ci, 0.0, ">=")[0] == "pass"
    assert passes <= 4
