"""Claims about SAE features (seed 004): how a feature fires, and what drives it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neurospec.claims import activation_claims, checks, context
from neurospec.claims.charts import bar
from neurospec.claims.expectation import Expectation
from neurospec.claims.rerun import unit_claim
from neurospec.claims.verdict import decide
from neurospec.data.corpus import Corpus
from neurospec.data.near_duplicates import corpus_groups
from neurospec.errors import InvalidArgument
from neurospec.evidence.record import Record
from neurospec.measure.activations import UnitActivations
from neurospec.stats.inference import mean_ci
from neurospec.stats.resample import rank_of
from neurospec.units import parse_unit


class FeatureExpectation(Expectation):
    """Claims about one feature of a sparse autoencoder (``expect("L0F26", sae=path)``)."""

    kind = "feature"

    def __init__(self, unit: Any, model: Any = None, sae: Any = None) -> None:
        from neurospec.measure.sae import check_sae, load_sae

        if sae is None:
            raise InvalidArgument(f"{unit} is an SAE feature: pass sae=load_sae(path) "
                                  f"(or a path) to expect()", value=unit)
        sae = sae if not isinstance(sae, (str, Path)) else load_sae(
            sae, search=context.current().sae_dirs)
        super().__init__(unit, model, sae)
        check_sae(self.model, self.sae, self.unit)

    def _acts(self, corpus: Corpus) -> UnitActivations:
        from neurospec.measure.sae import feature_activations

        return feature_activations(self.model, self.sae, corpus, self.unit)

    activates_more = activation_claims.activates_more

    @unit_claim
    def depends_on(self, early: str, *, sae: Any, on: Corpus | str,
                   by_at_least: float = 0.0) -> Record:
        """Claim that this (later-layer) SAE feature depends on the earlier feature ``early``
        of the SAE ``sae``: the per-document gradient x activation attribution of ``early`` to
        this feature has a mean of at least ``by_at_least`` (bootstrap CI).  The record gives
        ``early``'s rank among all early features."""
        __tracebackhide__ = True
        from neurospec.measure.sae import feature_attribution, load_sae
        from neurospec.units import Feature

        threshold = checks.threshold("by_at_least", by_at_least)
        early_sae = sae if not isinstance(sae, (str, Path)) else load_sae(
            sae, search=context.current().sae_dirs)
        f0 = parse_unit(early)
        if not isinstance(f0, Feature):
            raise InvalidArgument(f"depends_on({early!r}): expected a feature like 'L0F26'",
                                  value=early)
        c = checks.as_corpus(on)
        weak = self.scope.underpowered(f"{self.unit} depends on {f0}", "feature_gradient",
                                     {c.name: len(c)}, {"names": [c.name], "hashes": [c.hash],
                                      "files": [checks.origin(c)]})
        if weak:
            return weak
        attr = feature_attribution(self.model, early_sae, self.sae, c, self.unit)
        mine = attr[:, f0.index]
        est = mean_ci(mine, seed=self.ctx.seed, threshold=threshold, ids=c.ids,
                      groups=corpus_groups(c))
        verdict, missed = decide(est.ci, threshold, ">=", est.undefined)
        means = attr.mean(0)
        rank = int(rank_of(f0.index)(means))
        order = np.argsort(-means)[:12]
        claim = (f"{self.unit} depends on {f0}: mean gradient x activation attribution on "
                 f"{c.name} >= {threshold:g}")
        return self.scope.record(
            claim=claim, kind="feature_gradient", data={"names": [c.name], "hashes": [c.hash],
                                      "files": [checks.origin(c)]},
            n=est.n, effect=est.estimate, ci=est.ci, p=est.p_value, threshold=threshold,
            direction=">=", metric="attribution", verdict=verdict, missed=missed,
            method=est.method + "; early SAE spliced in exactly (error term held fixed)",
            details={"units_label": "(attribution)", "rank_among_early_features": rank,
                     "early_features": early_sae.d_sae, "early_sae": early_sae.source,
                     "late_sae": self.sae.source},
            charts={"bars": {"title": f"early features driving {self.unit} most (mean "
                                      f"attribution over {c.name})", "unit": "", "items": [
                bar(f"L{f0.layer}F{i}" + (" *" if i == f0.index else ""), attr[:, i],
                    self.ctx.seed) for i in order]}})
