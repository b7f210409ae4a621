"""Claims about SAE feature circuits (seed 004).

Mixed into :class:`neurospec.claims.expect.UnitExpectation`; ``self`` has ``model``,
``unit``, ``sae``, ``ctx`` and the ``_record`` / ``_finish`` / ``_enough`` / ``_acts`` helpers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neurospec.claims.common import (
    ClaimResult, _bar, _corpus, _threshold)
from neurospec.claims.rerun import unit_claim
from neurospec.claims.verdict import decide
from neurospec.data.corpus import Corpus
from neurospec.errors import InvalidArgument
from neurospec.stats.inference import mean_ci
from neurospec.units import parse_unit


class SAEClaims:
    @unit_claim
    def depends_on(self, early: str, *, sae: Any, on: Corpus | str,
                   by_at_least: float = 0.0) -> ClaimResult:
        """Claim that this (later-layer) SAE feature depends on the earlier feature ``early``
        of the SAE ``sae``: the per-document gradient x activation attribution of ``early`` to
        this feature has a mean of at least ``by_at_least`` (bootstrap CI).  The record gives
        ``early``'s rank among all early features."""
        __tracebackhide__ = True
        from neurospec.measure.sae import feature_attribution, load_sae
        from neurospec.units import Feature

        if self.sae is None:
            raise InvalidArgument(f"depends_on is a claim about an SAE feature; {self.unit} is "
                                  f"not one", value=self.unit)
        threshold = _threshold("by_at_least", by_at_least)
        early_sae = sae if not isinstance(sae, (str, Path)) else load_sae(sae)
        f0 = parse_unit(early)
        if not isinstance(f0, Feature):
            raise InvalidArgument(f"depends_on({early!r}): expected a feature like 'L0F26'",
                                  value=early)
        c = _corpus(on)
        weak = self._enough(f"{self.unit} depends on {f0}", "feature_gradient",
                            {c.name: len(c)}, {"names": [c.name], "hashes": [c.hash]})
        if weak:
            return self._finish(weak)
        attr = feature_attribution(self.model, early_sae, self.sae, c, self.unit)
        mine = attr[:, f0.index]
        est = mean_ci(mine, seed=self.ctx.seed, threshold=threshold, ids=c.ids)
        verdict, missed = decide(est.ci, threshold, ">=")
        means = attr.mean(0)
        rank = int(1 + (means > mine.mean()).sum())
        order = np.argsort(-means)[:12]
        claim = (f"{self.unit} depends on {f0}: mean gradient x activation attribution on "
                 f"{c.name} >= {threshold:g}")
        return self._finish(self._record(
            claim=claim, kind="feature_gradient", data={"names": [c.name], "hashes": [c.hash]},
            n=est.n, effect=est.estimate, ci=est.ci, p=est.p_value, threshold=threshold,
            direction=">=", metric="attribution", verdict=verdict, missed=missed,
            method=est.method + "; early SAE spliced in exactly (error term held fixed)",
            details={"units_label": "(attribution)", "rank_among_early_features": rank,
                     "early_features": early_sae.d_sae, "early_sae": early_sae.source,
                     "late_sae": self.sae.source},
            charts={"bars": {"title": f"early features driving {self.unit} most (mean "
                                      f"attribution over {c.name})", "unit": "", "items": [
                {"set": f"L{f0.layer}F{i}" + (" *" if i == f0.index else ""),
                 **_bar(attr[:, i], self.ctx.seed)} for i in order]}}))
