"""Loading models (bundled, local folders, hub) behind neurospec's own interface."""

from neurospec.models.registry import available_models, resolve

__all__ = ["Model", "available_models", "load_model", "resolve"]


def __getattr__(name: str):
    # torch and transformer_lens load only when a model is actually needed.
    if name == "Model":
        from neurospec.models.bridge import Model

        return Model
    if name == "load_model":
        from neurospec.models.loading import load_model

        return load_model
    raise AttributeError(name)
