"""The sizes an activation contrast can claim (``activates_more``): which argument names
which metric, its wording, and the labels and definitions a record shows."""

from __future__ import annotations

from typing import Any

from neurospec.claims import checks
from neurospec.errors import InvalidArgument

LABELS = {"token_auroc": "token AUROC", "token_d": "token Cohen's d",
           "mean_diff": "activation"}
DEFINITIONS = {
    "token_auroc": "chance that a counted token of the first set activates more than one of "
                   "the second (ties 1/2); 95% studentized CI resampling whole documents",
    "token_d": "(mean of the first set's tokens - mean of the second's) / sqrt((token variance "
               "of the first + of the second) / 2); 95% studentized CI resampling whole "
               "documents",
    "mean_diff": "difference of document means; 95% bootstrap-t CI over documents"}


def contrast_size(auroc_at_least: Any, by_at_least: Any, effect_size_at_least: Any
                   ) -> tuple[str, float, str]:
    """The metric, threshold and wording of ``activates_more`` given exactly one size."""
    given = [(n, v) for n, v in (("auroc_at_least", auroc_at_least),
                                 ("by_at_least", by_at_least),
                                 ("effect_size_at_least", effect_size_at_least)) if v is not None]
    if len(given) != 1:
        raise InvalidArgument("activates_more: give exactly one of auroc_at_least= (token "
                              "AUROC), effect_size_at_least= (token Cohen's d) or by_at_least= "
                              "(difference of document means)")
    name, value = given[0]
    if name == "auroc_at_least":
        t = checks.share(name, value)
        return "token_auroc", t, f"with token AUROC >= {t:g}"
    t = checks.threshold(name, value)
    if name == "by_at_least":
        return "mean_diff", t, f"by >= {t:g}"
    return "token_d", t, f"with token Cohen's d >= {t:g}"
