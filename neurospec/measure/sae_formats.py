"""Sparse autoencoders: the encoders researchers ship, read from SAELens's saved layout (or a
plain safetensors file) without importing SAELens, or wrapped from any object with
``encode`` / ``decode``.

SAELens's ``cfg.json`` fields read here (anything else that changes the numbers is refused):

- ``architecture``: ``standard`` (ReLU), ``jumprelu`` (tensor ``threshold``:
  ``f = relu(pre) * [pre > threshold]``), ``topk`` (``k``: keep each token's k largest
  pre-activations, then ReLU), ``batchtopk`` (read with its saved ``threshold`` as JumpReLU,
  which is how it runs at inference; without one its output depends on the batch: refused),
  ``gated`` (``b_gate``, ``r_mag``, ``b_mag``: ``[x W_enc + b_gate > 0] * relu(x (W_enc *
  exp(r_mag)) + b_mag)``);
- ``apply_b_dec_to_input``: subtract ``b_dec`` from the input before encoding (default true);
- ``normalize_activations``: ``none``, ``constant_norm_rescale`` (each input scaled to norm
  ``sqrt(d_in)``, the output scaled back) or ``layer_norm`` (input standardised, output
  restored); ``expected_average_only_in`` needs a dataset-wide factor the files do not hold:
  refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from neurospec.errors import CheckpointError, InvalidArgument

ARCHITECTURES = ("standard", "relu", "jumprelu", "topk", "batchtopk", "gated")
NORMALISATIONS = ("none", "constant_norm_rescale", "layer_norm")
LN_EPS = 1e-5  # SAELens's layer_norm normalisation


@dataclass(frozen=True)
class SAE:
    """An SAE's weights and the rule that turns pre-activations into features."""

    w_enc: Tensor  # [d_in, d_sae]
    b_enc: Tensor  # [d_sae]
    w_dec: Tensor  # [d_sae, d_in]
    b_dec: Tensor  # [d_in]
    hook: str
    source: str
    architecture: str = "standard"
    threshold: Tensor | None = field(default=None, repr=False)  # jumprelu / batchtopk
    k: int | None = None  # topk
    b_gate: Tensor | None = field(default=None, repr=False)  # gated
    r_mag: Tensor | None = field(default=None, repr=False)
    b_mag: Tensor | None = field(default=None, repr=False)
    apply_b_dec_to_input: bool = True
    normalize_activations: str = "none"

    @property
    def d_in(self) -> int:
        return self.w_enc.shape[0]

    @property
    def d_sae(self) -> int:
        return self.w_enc.shape[1]

    @property
    def layer(self) -> int:
        return hook_layer(self.hook, self.source)

    def to(self, device: Any) -> SAE:
        """The same SAE with its tensors on ``device`` (itself where they already are)."""
        device = torch.device(device)
        moved = {f.name: v.to(device) for f in fields(self)
                 if isinstance(v := getattr(self, f.name), Tensor) and v.device != device}
        return replace(self, **moved) if moved else self

    def _norm_in(self, x: Tensor) -> tuple[Tensor, Any]:
        if self.normalize_activations == "constant_norm_rescale":
            coeff = self.d_in ** 0.5 / x.norm(dim=-1, keepdim=True)
            return x * coeff, coeff
        if self.normalize_activations == "layer_norm":
            mu = x.mean(-1, keepdim=True)
            std = (x - mu).std(-1, keepdim=True)
            return (x - mu) / (std + LN_EPS), (mu, std)
        return x, None

    def encode(self, x: Tensor) -> Tensor:
        """Feature activations ``[..., d_sae]`` of inputs ``[..., d_in]``."""
        x, _ = self._norm_in(x)
        if self.apply_b_dec_to_input:
            x = x - self.b_dec
        if self.architecture == "gated":
            gate = (x @ self.w_enc + self.b_gate) > 0
            return gate * torch.relu(x @ (self.w_enc * self.r_mag.exp()) + self.b_mag)
        pre = x @ self.w_enc + self.b_enc
        if self.architecture in ("jumprelu", "batchtopk"):
            return torch.relu(pre) * (pre > self.threshold)
        if self.architecture == "topk":
            top = pre.topk(self.k, dim=-1)
            return torch.zeros_like(pre).scatter(-1, top.indices, torch.relu(top.values))
        return torch.relu(pre)

    def feature(self, x: Tensor, index: int) -> Tensor:
        """Feature ``index`` alone ``[...]``: one column of the encoder where the rule is per
        feature (every architecture but TopK, which must rank all features)."""
        if self.architecture == "topk":
            return self.encode(x)[..., index]
        x, _ = self._norm_in(x)
        if self.apply_b_dec_to_input:
            x = x - self.b_dec
        w = self.w_enc[:, index]
        if self.architecture == "gated":
            gate = (x @ w + self.b_gate[index]) > 0
            return gate * torch.relu(x @ (w * self.r_mag[index].exp()) + self.b_mag[index])
        pre = x @ w + self.b_enc[index]
        if self.architecture in ("jumprelu", "batchtopk"):
            return torch.relu(pre) * (pre > self.threshold[index])
        return torch.relu(pre)

    def decode(self, f: Tensor, x: Tensor | None = None) -> Tensor:
        """The reconstruction of features ``f``; ``x`` (the input they came from) is needed
        to undo a per-input normalisation."""
        out = f @ self.w_dec + self.b_dec
        if self.normalize_activations == "none":
            return out
        if x is None:
            raise InvalidArgument(f"the SAE from {self.source} normalises its inputs "
                                  f"({self.normalize_activations}): decode needs the input x",
                                  value=self.source)
        _, stats = self._norm_in(x)
        if self.normalize_activations == "constant_norm_rescale":
            return out / stats
        mu, std = stats
        return out * std + mu


def hook_layer(hook: str, source: str) -> int:
    parts = hook.split(".")
    if len(parts) < 3 or parts[0] != "blocks" or not parts[1].isdigit():
        raise InvalidArgument(f"the SAE from {source} reads {hook!r}, which is not inside a "
                              f"block; neurospec reads SAEs at block hooks such as "
                              f"'blocks.0.mlp.hook_post'", value=hook)
    return int(parts[1])


def read_sae(path: Path, cfg: dict, tensors: dict[str, Tensor], hook: str) -> SAE:
    """Build an :class:`SAE` from SAELens's config fields and its saved tensors."""
    arch = str(cfg.get("architecture", "standard")).lower()
    if arch not in ARCHITECTURES:
        raise CheckpointError(f"{path}: SAE architecture {arch!r} is not supported; neurospec "
                              f"reads {', '.join(ARCHITECTURES)}", value=arch)
    norm = str(cfg.get("normalize_activations") or "none")
    if norm not in NORMALISATIONS:
        raise CheckpointError(f"{path}: normalize_activations={norm!r} is not supported (it "
                              f"needs a scaling factor the saved files do not hold); fold it into "
                              f"the weights (SAELens: fold_activation_norm_scaling_factor) or use "
                              f"one of {NORMALISATIONS}", value=norm)
    needs = {"gated": ("W_enc", "b_gate", "r_mag", "b_mag", "W_dec", "b_dec"),
             "jumprelu": ("W_enc", "b_enc", "threshold", "W_dec", "b_dec")}.get(
        arch, ("W_enc", "b_enc", "W_dec", "b_dec"))
    if arch == "batchtopk":
        if "threshold" not in tensors:
            raise CheckpointError(f"{path}: a BatchTopK SAE without a saved threshold selects "
                                  f"features across the whole batch, so a token's features depend "
                                  f"on the other tokens; save it for inference (JumpReLU with its "
                                  f"threshold)", value=arch)
    missing = [k for k in needs if k not in tensors]
    if missing:
        raise CheckpointError(f"{path} lacks {missing}; a {arch} SAE needs tensors "
                              f"{list(needs)}", value=path)
    t = {k: v.float() for k, v in tensors.items()}
    kwargs = cfg.get("activation_fn_kwargs") or {}
    if not isinstance(kwargs, dict):
        raise CheckpointError(f"{path}: cfg.json has activation_fn_kwargs={kwargs!r:.80}; it "
                              f"must be an object such as {{\"k\": 32}}", value=kwargs)
    k = cfg.get("k", kwargs.get("k"))
    if t["W_enc"].dim() != 2:
        raise CheckpointError(f"{path}: W_enc has shape {tuple(t['W_enc'].shape)}, not "
                              f"[d_in, d_sae]", value=path)
    d_sae = t["W_enc"].shape[1]
    if arch == "topk" and not (type(k) is int and 0 < k <= d_sae):
        raise CheckpointError(f"{path}: a TopK SAE needs a whole number k in 1..{d_sae} (its "
                              f"features) in cfg.json ('k' or activation_fn_kwargs.k), got {k!r}",
                              value=k)
    sae = SAE(t["W_enc"], t.get("b_enc", torch.zeros(d_sae)), t["W_dec"], t["b_dec"], hook,
              str(path), "standard" if arch == "relu" else arch, threshold=t.get("threshold"),
              k=k if arch == "topk" else None, b_gate=t.get("b_gate"), r_mag=t.get("r_mag"),
              b_mag=t.get("b_mag"),
              apply_b_dec_to_input=_flag(cfg, "apply_b_dec_to_input", True, path),
              normalize_activations=norm)
    _check_shapes(sae, path)
    return sae


def _flag(cfg: dict, key: str, default: bool, path: Path) -> bool:
    """A true/false setting of ``cfg.json``: JSON true / false (or the strings "true" /
    "false", as some writers save them); anything else is an error, never read as true."""
    value = cfg.get(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise CheckpointError(f"{path}: cfg.json has {key}={value!r}; it must be true or false",
                          value=value)


def _check_shapes(sae: SAE, path: Path) -> None:
    vectors = {"b_enc": sae.b_enc, "threshold": sae.threshold, "b_gate": sae.b_gate,
               "r_mag": sae.r_mag, "b_mag": sae.b_mag}
    bad = [f"{k} {tuple(v.shape)}" for k, v in vectors.items()
           if v is not None and v.numel() != 1 and tuple(v.shape) != (sae.d_sae,)]
    if sae.w_dec.shape != (sae.d_sae, sae.d_in) or sae.b_dec.shape != (sae.d_in,) or bad:
        raise CheckpointError(f"{path}: inconsistent SAE shapes W_enc {tuple(sae.w_enc.shape)}, "
                              f"W_dec {tuple(sae.w_dec.shape)}, b_dec {tuple(sae.b_dec.shape)}"
                              f"{', ' + ', '.join(bad) if bad else ''}", value=path)


def find_sae(path: str | Path, search: tuple[Path, ...] = ()) -> Path:
    """Where a relative SAE path points: looked up in each folder of ``search`` (under pytest:
    the test file's folder, then the rootdir; elsewhere the working folder) and among the
    bundled SAEs by name (``"tiny-bilingual/L0"``).  Exactly one may match: two different
    matches are an error naming both, never a silent choice, and no match is an error
    listing where it looked.

    Raises:
        CheckpointError: no match, or two different ones.
    """
    from neurospec.bundled import bundled

    path = Path(path).expanduser()
    if path.is_absolute():
        return path
    bases = list(search) or [Path.cwd()]
    places = [(f"{base}", base / path) for base in bases]
    places.append((f"the bundled SAEs ({bundled('saes')})", bundled("saes") / path))
    found: dict[Path, str] = {}
    for where, candidate in places:
        try:
            if candidate.exists():
                found.setdefault(candidate.resolve(), where)
        except OSError:  # a name too long for the file system exists nowhere
            continue
    if len(found) > 1:
        (a, wa), (b, wb) = list(found.items())[:2]
        raise CheckpointError(f"sae={str(path)!r} names two SAEs: {a} (under {wa}) and {b} "
                              f"(under {wb}); give the one you mean as an absolute path",
                              value=str(path))
    if not found:
        have = sorted(str(p.parent.relative_to(bundled("saes"))) for p in
                      bundled("saes").glob("*/*/cfg.json"))
        raise CheckpointError(f"no SAE at {str(path)!r}: looked under "
                              f"{', '.join(w for w, _ in places)}; bundled SAEs: "
                              f"{', '.join(have) or 'none'}", value=str(path))
    return next(iter(found))


def load_sae(path: str | Path | Any, hook: str | None = None,
             search: tuple[Path, ...] = ()) -> Any:
    """Load an SAE from a SAELens-style folder or a plain safetensors file (never a pickle),
    or wrap an object with ``encode`` / ``decode`` (a SAELens SAE, a dictionary_learning
    dictionary, your own) given the hook it reads.  A relative path is found by
    :func:`find_sae` (``search``: the folders it is relative to)."""
    if not isinstance(path, (str, Path)):
        return as_sae(path, hook)
    from safetensors.torch import load_file

    from neurospec.models.checkpoint import check_safetensors, read_settings

    path = find_sae(path, search)
    if path.is_dir():
        cfg_path, weights = path / "cfg.json", path / "sae_weights.safetensors"
        if not cfg_path.is_file() or not weights.is_file():
            raise CheckpointError(f"{path} is not an SAE folder: it needs cfg.json and "
                                  f"sae_weights.safetensors (SAELens's saved layout)", value=path)
        cfg = read_settings(cfg_path, "restore the SAE's cfg.json (SAELens writes it with "
                                      "the weights), or load the .safetensors file with hook=")
        hook = hook or cfg.get("hook_name")
        if not isinstance(hook, str):
            raise CheckpointError(f"{cfg_path}: hook_name={hook!r} is not a hook name such as "
                                  f"'blocks.0.mlp.hook_post'; fix cfg.json or pass hook=",
                                  value=cfg_path)
    elif path.suffix == ".safetensors" and path.is_file():
        weights, cfg = path, {}
    else:
        raise CheckpointError(f"no SAE at {path}: pass a folder (cfg.json + "
                              f"sae_weights.safetensors) or a .safetensors file", value=path)
    if not hook:
        raise InvalidArgument(f"{path}: say which hook the SAE reads, e.g. "
                              f"hook='blocks.0.mlp.hook_post'", value=path)
    check_safetensors(weights)
    sae = read_sae(path, cfg, load_file(weights), hook)
    for key in ("d_in", "d_sae"):
        if key in cfg and cfg[key] != getattr(sae, key):
            raise CheckpointError(f"{path}: cfg.json says {key}={cfg[key]} but the weights have "
                                  f"{getattr(sae, key)}", value=path)
    return sae


@dataclass(frozen=True)
class ExternalSAE:
    """Any object with ``encode(x) -> f`` and ``decode(f) -> x_hat``, read at ``hook``."""

    obj: Any = field(repr=False)
    hook: str
    source: str
    d_in: int
    d_sae: int
    device: Any = None  # where the object's weights are (inputs go there, results come back)

    @property
    def layer(self) -> int:
        return hook_layer(self.hook, self.source)

    def _run(self, fn: Any, t: Tensor) -> Tensor:
        if self.device is None or t.device == self.device:
            return fn(t)
        return fn(t.to(self.device)).to(t.device)

    def encode(self, x: Tensor) -> Tensor:
        return self._run(self.obj.encode, x)

    def feature(self, x: Tensor, index: int) -> Tensor:
        return self.encode(x)[..., index]

    def decode(self, f: Tensor, x: Tensor | None = None) -> Tensor:
        return self._run(self.obj.decode, f)


def as_sae(obj: Any, hook: str | None = None) -> Any:
    """``obj`` itself if it is neurospec's SAE, else a wrapper of its ``encode`` / ``decode``
    (the hook from ``hook=``, or the object's ``cfg.hook_name``)."""
    if isinstance(obj, (SAE, ExternalSAE)):
        return obj
    if not (callable(getattr(obj, "encode", None)) and callable(getattr(obj, "decode", None))):
        raise InvalidArgument(f"{type(obj).__name__} is not an SAE: pass a folder, a "
                              f".safetensors file, or an object with encode() and decode()",
                              value=obj)
    hook = hook or getattr(getattr(obj, "cfg", None), "hook_name", None)
    if not hook:
        raise InvalidArgument(f"say which hook the {type(obj).__name__} reads, e.g. "
                              f"load_sae(sae, hook='blocks.0.mlp.hook_post')", value=obj)
    if (w_dec := getattr(obj, "W_dec", None)) is not None:  # SAELens: [d_sae, d_in]
        d_sae, d_in = w_dec.shape
    elif (w_dec := getattr(getattr(obj, "decoder", None), "weight", None)) is not None:
        d_in, d_sae = w_dec.shape  # dictionary_learning: an nn.Linear decoder, [d_in, d_sae]
    else:
        raise InvalidArgument(f"{type(obj).__name__} has neither W_dec [d_sae, d_in] nor a "
                              f"decoder.weight [d_in, d_sae] to read its sizes from", value=obj)
    return ExternalSAE(obj, hook, type(obj).__name__, int(d_in), int(d_sae),
                       getattr(w_dec, "device", None))
