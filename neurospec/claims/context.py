"""The run's defaults for claims: model, seed and data folders.

The pytest plugin sets them per test; in a notebook, pass ``model=`` to :func:`expect`
or call :func:`configure`.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from neurospec.errors import NeurospecError


@dataclass(frozen=True)
class Context:
    model: Any = None
    seed: int = 0
    data_dirs: tuple[Path, ...] = ()
    sae_dirs: tuple[Path, ...] = ()  # where relative SAE paths are found (test folder, rootdir)
    min_docs: int = 10
    test: str = ""
    vacuity: int = 0  # re-run passing unit claims on this many random units (0: off)
    strict: bool = False  # vacuous claims fail
    sequential: bool = False  # claims that have a confidence sequence stop once it decides


_current: contextvars.ContextVar[Context] = contextvars.ContextVar(
    "neurospec_context", default=Context())  # noqa: B039 - a frozen dataclass: immutable


def current() -> Context:
    return _current.get()


def configure(**changes: Any) -> Context:
    """Change the defaults for claims run outside pytest (``model=``, ``seed=`` ...)."""
    ctx = replace(_current.get(), **changes)
    _current.set(ctx)
    return ctx


@contextlib.contextmanager
def using(**changes: Any) -> Iterator[Context]:
    """Set defaults for the duration of a block (what the plugin does around each test)."""
    token = _current.set(replace(_current.get(), **changes))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def model_or_current(model: Any) -> Any:
    """The claim's model: ``model`` if given (a name, folder or model object is loaded or
    wrapped once and reused), else the model the plugin set for the current test."""
    if model is not None:
        from neurospec.models.loading import is_loaded_model

        return model if is_loaded_model(model) else _loaded(model)
    ctx = _current.get()
    if ctx.model is None:
        raise NeurospecError(
            "no model for this claim: pass model=load_model('tiny-bilingual') to expect(), "
            "or run it under pytest with @pytest.mark.model('name') or --model NAME")
    return ctx.model


_by_name: dict[str, Any] = {}


def _loaded(model: Any) -> Any:
    """``load_model(model)``; a name or folder is loaded once and reused (model objects are
    wrapped once by ``load_model`` itself)."""
    from neurospec.models.loading import load_model

    if not isinstance(model, (str, os.PathLike)):
        return load_model(model)
    key = os.fspath(model)
    if key not in _by_name:
        _by_name.clear()  # hold one named model at a time: they can be large
        _by_name[key] = load_model(key)
    return _by_name[key]
