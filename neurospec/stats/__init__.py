"""Statistics for verdicts: effect sizes, bootstrap CIs, permutation tests (no torch)."""

from neurospec.stats.effects import auroc, cohens_d, mean_diff
from neurospec.stats.inference import Estimate, mean_ci, two_sample

__all__ = ["Estimate", "auroc", "cohens_d", "mean_ci", "mean_diff", "two_sample"]
