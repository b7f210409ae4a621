"""Loading models (bundled, local folders, hub) behind neurospec's own interface."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from neurospec.models.registry import available_models, resolve

if TYPE_CHECKING:
    from neurospec.models.bridge import Model
    from neurospec.models.loading import load_model

__all__ = ["Model", "available_models", "load_model", "resolve"]


def __getattr__(name: str) -> Any:
    # torch and transformer_lens load only when a model is actually needed.
    if name == "Model":
        from neurospec.models.bridge import Model

        return Model
    if name == "load_model":
        from neurospec.models.loading import load_model

        return load_model
    raise AttributeError(name)
