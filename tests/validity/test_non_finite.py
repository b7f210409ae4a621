"""Item 10: non-finite per-document values raise NumericalError naming the documents;
variances are computed stably; tolerances are relative to scale."""

import numpy as np
import pytest

from neurospec.errors import NumericalError
from neurospec.stats import mean_ci, two_sample
from neurospec.stats.inference import sign_flip_p


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_a_non_finite_document_is_an_error_naming_it(bad):
    x = np.linspace(0.1, 1.0, 20)
    x[7] = bad
    ids = tuple(f"doc{i}" for i in range(20))
    with pytest.raises(NumericalError, match="'doc7'"):
        mean_ci(x, ids=ids)
    with pytest.raises(NumericalError, match="#7"):
        two_sample(x, np.zeros(20))


def test_mean_ci_of_a_rare_one_has_a_sane_upper_bound():
    # s2 - s1^2/n left float residue for resamples of nine zeros: upper bound 2.5e7
    lo, hi = mean_ci(np.array([0.0] * 9 + [1.0]), seed=0).ci
    assert lo <= 0.1 <= hi <= 1.0


def test_tiny_effects_are_tested_at_their_own_scale():
    # an absolute tolerance of 1e-15 made every effect of 1e-16 p = 1
    d = np.full(12, 1e-16)
    assert sign_flip_p(d, "greater", seed=0) < 0.01
    assert mean_ci(d + np.linspace(0, 1e-17, 12), seed=0).ci[0] > 0
