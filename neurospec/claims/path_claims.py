"""Path patching (seed 000's ``get_direct_effect``): how much of an ablation's effect on the
loss runs through named downstream components."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from neurospec.claims import checks
from neurospec.claims.rerun import unit_claim
from neurospec.claims.verdict import decide
from neurospec.data.corpus import Corpus
from neurospec.evidence.payloads import Bar
from neurospec.evidence.record import Record
from neurospec.stats.inference import mean_ci

if TYPE_CHECKING:
    from neurospec.claims.conclude import Scope
    from neurospec.measure.ablation import Ablation
    from neurospec.models.protocol import ModelBackend


class PathClaims:
    """The path-patching claim of a chain of claims about one ablation (a mixin of
    :class:`~neurospec.claims.column_ablation.ColumnAblated`)."""

    scope: Scope
    model: ModelBackend
    ablation: Ablation
    over: Corpus | None

    _too_few: Callable[[Corpus, str, str], Record | None]  # from the ablation class

    @unit_claim
    def runs_through(self, components: list[str], *, on: Corpus | str,
                     share_at_least: float) -> Record:
        """Claim that patching only ``components`` (downstream hook names such as
        ``'blocks.1.hook_mlp_out'``) recovers at least ``share_at_least`` of the ablation's
        total effect on the loss of ``on`` (path patching, seed 000's ``get_direct_effect``).
        The share is a ratio of means over documents with a bootstrap percentile CI."""
        __tracebackhide__ = True
        from neurospec.measure.path_patching import path_patching
        from neurospec.stats.resample import bootstrap_rows

        share = checks.share("share_at_least", share_at_least)
        if isinstance(components, str):
            components = [components]
        corpus = checks.as_corpus(on)
        described = self.ablation.describe()
        if weak := self._too_few(corpus, "path_patching",
                                 f"the effect of {described} on {corpus.name} loss runs "
                                 f"through {', '.join(components)}"):
            return weak
        eff = path_patching(self.model, self.ablation, corpus, list(components))
        matrix = np.stack([eff.via, eff.total])

        def ratio(means: np.ndarray) -> np.ndarray:
            den = means[..., 1]
            return np.where(den != 0, means[..., 0] / np.where(den != 0, den, 1), 0.0)

        est, ci, boot = bootstrap_rows(matrix, ratio, seed=self.scope.seed)
        verdict, missed = decide(ci, share, ">=")
        names = ", ".join(components)
        claim = (f"the effect of {described} on {corpus.name} loss runs through {names}: "
                 f"patching only them recovers >= {share:.0%} of it")

        def bar(name: str, v: np.ndarray) -> Bar:
            e = mean_ci(v, seed=self.scope.seed)
            return {"set": name, "mean": e.estimate, "ci": list(e.ci), "n": len(v)}

        return self.scope.record(
            claim=claim, kind="path_patching", data=checks.data_of(corpus, self.over),
            n=len(corpus), effect=est, ci=ci,
            p=float((1 + (boot < share).sum()) / (1 + len(boot))), threshold=share,
            direction=">=", metric="recovered_share", verdict=verdict,
            method="four-run path patching; bootstrap percentile CI of a ratio of means",
            missed=missed,
            details={"units_label": "(share)", "through": list(components),
                     "total_effect": float(eff.total.mean()), "via_path": float(eff.via.mean()),
                     "clean_loss": float(eff.clean.mean())},
            charts={"bars": {"title": f"loss change on {corpus.name}: total vs through {names}",
                             "unit": "nats", "items": [
                                 bar("total effect", eff.total), bar("through path", eff.via),
                                 bar("other paths", eff.total - eff.via)]}})
