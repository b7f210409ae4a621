"""Many neurons of one layer ablated one at a time, on one corpus: the random-unit baselines
of ablation claims and their reruns share these rows.

Zero and mean ablations run as one downstream replay (:func:`~neurospec.measure.sweep.
neuron_sweep`'s ``downstream`` method) for the neurons not yet measured; each neuron's row is
cached on the model, so the baseline of one claim (``against_random=k``) and the reruns of
another on the same units, corpus and ablation (``.beats_random_units(k)``) share one
measurement.
"""

from __future__ import annotations

import numpy as np

from neurospec.data.corpus import Corpus
from neurospec.measure.sweep import _downstream, _values
from neurospec.models.protocol import ModelBackend
from neurospec.units import Neuron


def ablate_each(model: ModelBackend, corpus: Corpus, layer: int, neurons: list[int], *,
                to: str | float = "mean",
                over: Corpus | None = None, seed: int = 0) -> np.ndarray:
    """Per-document loss changes ``[len(neurons), n_docs]`` when each neuron of ``neurons``
    is ablated alone (as :func:`neuron_sweep` does for the whole layer).

    Zero and mean ablations run as one downstream replay for the neurons not yet measured;
    each neuron's row is cached on the model (:func:`cached_rows`), so the random-unit
    baseline of one claim (``against_random=k``) and the reruns of another claim on the same
    units, corpus and ablation (``.beats_random_units(k)``) share one measurement.  Other modes
    (``'resample'``, a number) ablate one neuron per pass through
    :func:`~neurospec.measure.ablation.ablation_effect`.
    """
    from neurospec.measure.ablation import ablation_effect, make_ablation

    if not neurons:
        return np.empty((0, len(corpus)))
    if to in ("zero", "mean") and (to == "zero" or over is not None):
        values = _cached_values(model, layer, to, over)
        rows = cached_rows(model, corpus, layer, to, over, neurons)
        missing = [n for n in dict.fromkeys(neurons) if n not in rows]
        if missing:
            fresh = _downstream(model, corpus, layer, values, missing)
            for n, row in zip(missing, fresh):
                row.flags.writeable = False  # shared through the cache: never changed
                model.cache.put(_row_key(model, corpus, layer, to, over, n), row)
                rows[n] = row
        return np.stack([rows[n] for n in neurons])
    return np.stack([ablation_effect(model, make_ablation(model, Neuron(layer, i), to, over,
                                                          seed=seed), corpus).delta
                     for i in neurons])


def _cached_values(model, layer: int, to: str, over: Corpus | None) -> np.ndarray:
    return model.cache.get_or_compute(
        ("ablation_values", layer, to, None if over is None else over.hash, model.prepend_bos),
        lambda: _values(model, layer, to, over))


def _row_key(model, corpus: Corpus, layer: int, to: str, over: Corpus | None,
             neuron: int) -> tuple:
    return ("ablation_row", corpus.hash, model.prepend_bos, layer, to,
            None if over is None else over.hash, neuron)


def cached_rows(model, corpus: Corpus, layer: int, to: str, over: Corpus | None,
                neurons: list[int]) -> dict[int, np.ndarray]:
    """The per-document loss changes already measured by :func:`ablate_each` for these
    neurons (zero or mean ablation, the means over ``over``), by neuron index."""
    rows = {n: model.cache.get(_row_key(model, corpus, layer, to, over, n)) for n in neurons}
    return {n: row for n, row in rows.items() if row is not None}
