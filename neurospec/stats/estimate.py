"""The result of every CI computation: a frozen record of the estimate, its CI and p."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CONFIDENCE = 0.95
DIRECTIONS = (">=", "<=", "within")


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its CI and its p-value against the claim's threshold.

    ``undefined`` says why no CI could be computed ("" when it could): such a claim fails.
    ``recipe`` holds the call's inputs so that :func:`reestimate` can redo it at another
    confidence level (Holm).
    """

    estimate: float
    ci: tuple[float, float]
    p_value: float
    n: int
    method: str
    undefined: str = ""
    recipe: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
