"""Statistics for verdicts: effect sizes, bootstrap CIs, permutation tests, multiple-claim
correction (numpy / scipy only: no torch, no pytest; every random draw is seeded)."""

from neurospec.stats.effects import auroc, cohens_d, mean_diff
from neurospec.stats.inference import (
    Estimate, mean_ci, percentile_among, permutation_p, sign_flip_p, two_sample)
from neurospec.stats.multiple import holm

__all__ = ["Estimate", "auroc", "cohens_d", "holm", "mean_ci", "mean_diff", "percentile_among",
           "permutation_p", "sign_flip_p", "two_sample"]
