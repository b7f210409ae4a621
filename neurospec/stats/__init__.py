"""Statistics for verdicts: effect sizes, bootstrap CIs, p-values against a claim's
threshold, multiple-claim correction (numpy / scipy only: no torch, no pytest; every random
draw is seeded)."""

from neurospec.stats.effects import auroc, cohens_d, mean_diff
from neurospec.stats.inference import (
    Estimate,
    check_finite,
    mean_ci,
    percentile_among,
    permutation_p,
    reestimate,
    sign_flip_p,
    two_sample,
)
from neurospec.stats.multiple import holm, holm_decisions, holm_levels

__all__ = ["Estimate", "auroc", "check_finite", "cohens_d", "holm", "holm_decisions",
           "holm_levels", "mean_ci", "mean_diff", "percentile_among", "permutation_p",
           "reestimate", "sign_flip_p", "two_sample"]
