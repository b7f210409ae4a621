"""Measurements that several claims of a run share, kept in the model's cache.

The measurement functions themselves compute afresh (benchmarks time them); claims ask for
these shared versions.  Every key is built by :func:`_key`: the measurement's name, the data's
hash, the model's ``prepend_bos`` and the measurement's own arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from neurospec.data.corpus import Corpus
from neurospec.errors import InvalidArgument


def _key(what: str, corpus: Corpus, model, *args: Any) -> tuple:
    return (what, corpus.hash, model.prepend_bos) + args


def _get(model, key: tuple, compute: Callable[[], Any]) -> Any:
    return model.cache.get_or_compute(key, compute)


def sweep(model, corpus: Corpus, layer: int, to, over: Corpus | None, method: str):
    """:func:`~neurospec.measure.sweep.neuron_sweep` of ``layer`` on ``corpus``."""
    from neurospec.measure.sweep import neuron_sweep

    if isinstance(to, (int, float)) and not isinstance(to, bool):
        raise InvalidArgument("sweeps ablate every neuron to 'zero' or its 'mean'", value=to)
    key = _key("sweep", corpus, model, layer, to, over.hash if over else None, method)
    return _get(model, key, lambda: neuron_sweep(model, corpus, layer, to=to, over=over,
                                                 method=method))


def token_effects(model, ablation, corpus: Corpus, junk: list[int] | None):
    """:func:`~neurospec.measure.token_effects.token_effects` of ``ablation`` on ``corpus``."""
    from neurospec.measure.token_effects import token_effects as measure

    key = _key("token_effects", corpus, model, *ablation.key(), tuple(junk or ()))
    return _get(model, key, lambda: measure(model, ablation, corpus, junk=junk))


def weight_gradients(model, corpus: Corpus, layer: int):
    """:func:`~neurospec.measure.gradients.weight_gradient_norms` of ``layer`` on ``corpus``."""
    from neurospec.measure.gradients import weight_gradient_norms

    return _get(model, _key("wgrad", corpus, model, layer),
                lambda: weight_gradient_norms(model, corpus, layer))
