"""Documents that are not independent (near-copies, prompts of one template) count as one
observation: per-document values become per-group means before any CI is computed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from neurospec.errors import InvalidArgument

GroupIds = Sequence[int] | NDArray[np.int64]  # a group id per document


def group_means(values: NDArray[np.float64], groups: GroupIds | None) -> NDArray[np.float64]:
    """The mean of ``values`` over each group (groups in order of first appearance); the
    values themselves when ``groups`` is None or every group has one document.

    Example:
        >>> group_means(np.array([1.0, 3.0, 5.0]), [0, 0, 1]).tolist()
        [2.0, 5.0]
    """
    x = np.asarray(values, dtype=np.float64)
    if groups is None:
        return x
    g = np.asarray(groups)
    if g.shape != x.shape:
        raise InvalidArgument(f"{len(g)} group ids for {len(x)} per-document values: give one "
                              f"group id per document", value=len(g))
    _, first, inverse = np.unique(g, return_index=True, return_inverse=True)
    if len(first) == len(x):
        return x
    order = np.argsort(first, kind="stable")  # groups in order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    inverse = rank[inverse.ravel()]
    return np.bincount(inverse, x) / np.bincount(inverse)
