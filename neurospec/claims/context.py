"""The run's defaults for claims: model, seed and data folders.

The pytest plugin sets them per test; in a notebook, pass ``model=`` to :func:`expect`
or call :func:`configure`.
"""

from __future__ import annotations

import contextlib
import contextvars
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
    min_docs: int = 10
    test: str = ""
    vacuity: int = 0  # re-run passing unit claims on this many random units (0: off)
    strict: bool = False  # vacuous claims fail


_current: contextvars.ContextVar[Context] = contextvars.ContextVar("neurospec_context",
                                                                   default=Context())


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
    if model is not None:
        return model
    ctx = _current.get()
    if ctx.model is None:
        raise NeurospecError(
            "no model for this claim: pass model=load_model('tiny-bilingual') to expect(), "
            "or run it under pytest with @pytest.mark.model('name') or --model NAME")
    return ctx.model
