"""Claims about transcoders as a whole: how well they stand in for the MLPs they replace.

Example::

    expect_replacement("tiny-bilingual").recovers_loss(on=corpus("german"), at_least=0.8)
    expect_replacement("tiny-bilingual").explains_mlp_variance(0, on=corpus("german"),
                                                               at_least=0.8)
"""

from __future__ import annotations

from os import PathLike
from typing import Any

import numpy as np

from neurospec.claims import checks, context
from neurospec.claims.conclude import Scope, conclude
from neurospec.claims.expectation import Stated
from neurospec.claims.result import ClaimResult
from neurospec.claims.verdict import decide
from neurospec.data.corpus import Corpus
from neurospec.errors import InvalidArgument
from neurospec.evidence.record import Record
from neurospec.stats.resample import bootstrap_rows

_METHOD = "percentile bootstrap over documents (2000 resamples) of the ratio of corpus sums"


class ReplacementExpectation(Stated):
    """Claims about a set of transcoders (or one) replacing the model's MLPs."""

    def __init__(self, transcoder: Any, model: Any = None) -> None:
        from neurospec.measure.transcoder import check_transcoder, load_transcoder

        self.model = context.model_or_current(model)
        self.ctx = context.current()
        self.transcoders = load_transcoder(transcoder, search=self.ctx.sae_dirs)
        check_transcoder(self.model, self.transcoders)
        # the name the test gave (a bundled name, a relative path), not where it was found
        self.name = str(transcoder) if isinstance(transcoder, (str, PathLike)) else \
            self.transcoders.source
        self.scope = Scope(f"transcoders {self.name}", self.model, self.ctx)

    def _quality(self, corpus: Corpus) -> Any:
        from neurospec.measure.transcoder import replacement_quality

        key = ("tc_quality", corpus.hash, self.model.prepend_bos, self.transcoders.source)
        return self.model.cache.get_or_compute(
            key, lambda: replacement_quality(self.model, self.transcoders, corpus))

    def _conclude(self, claim: str, corpus: Corpus, metric: str, at_least: float,
                  matrix: np.ndarray, statistic: Any, details: Any) -> ClaimResult:
        data = checks.data_of(corpus)
        if weak := self.scope.underpowered(claim, "transcoder_replacement",
                                           {corpus.name: len(corpus)}, data):
            return conclude(self.scope, weak)
        est, ci, boot = bootstrap_rows(matrix, statistic, seed=self.ctx.seed)
        verdict, missed = decide(ci, at_least, ">=")
        record: Record = self.scope.record(
            claim=claim, kind="transcoder_replacement", data=data, n=len(corpus), effect=est,
            ci=ci, p=float((1 + (boot < at_least).sum()) / (1 + len(boot))),
            threshold=at_least, direction=">=", metric=metric, verdict=verdict,
            method=_METHOD, missed=missed, details=details)
        return conclude(self.scope, record)

    def recovers_loss(self, on: Corpus | str, *, at_least: float) -> ClaimResult:
        """Claim that replacing every MLP the transcoders cover by their prediction (no error
        term) recovers at least ``at_least`` of the loss that zeroing those MLPs' outputs
        loses: ``(L_zero - L_replaced) / (L_zero - L_clean)``, CI by resampling documents."""
        __tracebackhide__ = True
        share = checks.share("at_least", at_least)
        corpus = checks.as_corpus(on)
        claim = (f"transcoders {self.name} replacing the MLPs recover >= "
                 f"{share:.0%} of the loss on {corpus.name}")
        q = self._quality(corpus) if len(corpus) >= self.ctx.min_docs else None
        if q is None:
            return self._conclude(claim, corpus, "loss_recovered", share, np.zeros((3, 0)),
                                  None, {})
        matrix = np.stack([q.zero, q.replaced, q.clean])

        def recovered(means: np.ndarray) -> np.ndarray:
            out: np.ndarray = (means[..., 0] - means[..., 1]) / (means[..., 0] - means[..., 2])
            return out

        return self._conclude(claim, corpus, "loss_recovered", share, matrix, recovered, {
            "units_label": "(share of loss)", "transcoder": self.transcoders.source,
            "clean_loss": float(q.clean.mean()), "replaced_loss": float(q.replaced.mean()),
            "zero_mlp_loss": float(q.zero.mean()),
            "variance_explained": {str(k): v for k, v in q.variance_explained.items()}})

    def explains_mlp_variance(self, layer: int, *, on: Corpus | str,
                              at_least: float) -> ClaimResult:
        """Claim that the transcoders' prediction of block ``layer``'s MLP output (on the
        model's own inputs) explains at least ``at_least`` of its variance over the counted
        tokens of ``on``: ``1 - sum |T(x) - y|^2 / sum |y - mean y|^2``, CI by resampling
        documents."""
        __tracebackhide__ = True
        from neurospec.measure.transcoder import explained

        share = checks.share("at_least", at_least)
        checks.count("layer", layer, minimum=0, maximum=self.model.n_layers - 1)
        corpus = checks.as_corpus(on)
        claim = (f"transcoders {self.name} explain >= {share:.0%} of the variance "
                 f"of MLP{layer}'s output on {corpus.name}")
        q = self._quality(corpus) if len(corpus) >= self.ctx.min_docs else None
        if q is None:
            return self._conclude(claim, corpus, "variance_explained", share,
                                  np.zeros((3, 0)), None, {})
        if layer not in q.sse:
            raise InvalidArgument(f"explains_mlp_variance({layer}): the transcoders from "
                                  f"{self.transcoders.source} cover blocks {sorted(q.sse)}",
                                  value=layer)
        matrix = np.vstack([q.sse[layer], q.sum_sq[layer], q.tokens, q.sums[layer].T])

        def ve(means: np.ndarray) -> np.ndarray:
            out: np.ndarray = np.asarray(explained(means[..., 0], means[..., 1],
                                                   means[..., 3:], means[..., 2]))
            return out

        return self._conclude(claim, corpus, "variance_explained", share, matrix, ve, {
            "units_label": "(share of variance)", "transcoder": self.transcoders.source,
            "variance_explained": {str(k): v for k, v in q.variance_explained.items()}})
