"""Finding and loading transcoders: SAELens folders and plain files
(:mod:`neurospec.measure.transcoder_formats`), a folder of per-block SAELens folders, and
circuit-tracer's files, read without importing circuit-tracer:

- a per-layer transcoder (PLT) ``.safetensors`` file as circuit-tracer 0.5 saves it:
  ``W_enc [d_tc, d_model]``, ``W_dec [d_tc, d_model]``, ``b_enc``, ``b_dec``, optional
  ``W_skip [d_model, d_model]`` (out ``+= x @ W_skip.T``) and
  ``activation_function.threshold`` (JumpReLU); the block comes from ``layer=`` or from a
  circuit-tracer config ``.yaml`` (``feature_input_hook``, ``feature_output_hook``,
  ``transcoders: [{layer, filepath}]``, local paths only);
- a cross-layer transcoder (CLT) folder: per source block ``i``, ``W_enc_{i}.safetensors``
  (``W_enc_{i} [d_tc, d_model]``, ``b_enc_{i}``, ``b_dec_{i}`` (the bias of block ``i``'s
  output), optional ``threshold_{i}``) and ``W_dec_{i}.safetensors`` (``W_dec_{i} [d_tc,
  n_layers - i, d_model]``: slice ``j`` writes to block ``i + j``).  circuit-tracer reads CLT
  features at ``hook_resid_mid`` by default; pass ``hook_in="mlp.hook_in"`` for transcoders
  trained on the MLP's normalised input.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from torch import Tensor

from neurospec.errors import CheckpointError, InvalidArgument
from neurospec.measure.transcoder_formats import (
    OUT_HOOK,
    Transcoder,
    TranscoderSet,
    read_plain,
    read_saelens,
    transcoder,
)

TranscoderLike = Transcoder | TranscoderSet


def find_transcoder(path: str | Path, search: tuple[Path, ...] = ()) -> Path:
    """Where a relative transcoder path points: under each folder of ``search`` (the test
    file's folder, then the rootdir) and among the bundled transcoders
    (``"tiny-bilingual/L0"``); exactly one may match."""
    from neurospec.bundled import bundled

    path = Path(path).expanduser()
    if path.is_absolute():
        return path
    bases = list(search) or [Path.cwd()]
    places = [(str(b), b / path) for b in bases]
    places.append((f"the bundled transcoders ({bundled('transcoders')})",
                   bundled("transcoders") / path))
    found: dict[Path, str] = {}
    for where, candidate in places:
        try:
            if candidate.exists():
                found.setdefault(candidate.resolve(), where)
        except OSError:
            continue
    if len(found) > 1:
        (a, wa), (b, wb) = list(found.items())[:2]
        raise CheckpointError(f"transcoder={str(path)!r} names two transcoders: {a} (under "
                              f"{wa}) and {b} (under {wb}); give the one you mean as an "
                              f"absolute path", value=str(path))
    if not found:
        root = bundled("transcoders")
        have = sorted(str(p.parent.relative_to(root)) for p in root.glob("*/*/cfg.json"))
        raise CheckpointError(f"no transcoder at {str(path)!r}: looked under "
                              f"{', '.join(w for w, _ in places)}; bundled transcoders: "
                              f"{', '.join(have) or 'none'}", value=str(path))
    return next(iter(found))


def load_transcoder(path: str | Path | TranscoderLike, *, hook_in: str | None = None,
                    hook_out: str | None = None, layer: int | None = None,
                    activation: str | None = None, k: int | None = None,
                    search: tuple[Path, ...] = ()) -> TranscoderLike:
    """Load a transcoder (one block's) or a set of them (several blocks, or a cross-layer
    transcoder) from any layout above; a loaded one is returned as it is.

    Args:
        path: a folder, a ``.safetensors`` or ``.yaml`` file, a bundled name
            (``"tiny-bilingual/L0"``), or a loaded transcoder (returned as it is).
        hook_in: the hook it reads, where the files do not say it (a plain file; a CLT: the
            point within each block, e.g. ``"mlp.hook_in"``).
        hook_out: the hook it writes to, where the files do not say it.
        layer: the block of a circuit-tracer per-layer file.
        activation: of a plain file: ``"relu"``, ``"jumprelu"`` or ``"topk"``.
        k: of a plain ``"topk"`` file.
        search: more folders to look in for a relative path.

    Example:
        >>> tc = load_transcoder("tiny-bilingual/L0")     # a bundled SAELens folder
    """
    if isinstance(path, (Transcoder, TranscoderSet)):
        return path
    if not isinstance(path, (str, Path)):
        raise InvalidArgument(f"{type(path).__name__} is not a transcoder: pass a folder, a "
                              f".safetensors or .yaml file, or a loaded transcoder", value=path)
    path = find_transcoder(path, search)
    if path.is_dir():
        if (path / "cfg.json").is_file():
            return read_saelens(path, hook_in, hook_out)
        if (path / "W_enc_0.safetensors").is_file():
            return read_clt(path, hook_in or "hook_resid_mid", hook_out or OUT_HOOK)
        subs = sorted(p.parent for p in path.glob("*/cfg.json"))
        if subs:
            tcs = tuple(sorted((read_saelens(p) for p in subs), key=lambda t: t.layer))
            if len({t.layer for t in tcs}) != len(tcs):
                raise CheckpointError(f"{path}: two transcoders read the same block "
                                      f"({[t.layer for t in tcs]})", value=path)
            return TranscoderSet(tcs, str(path))
        raise CheckpointError(f"{path} holds no transcoder: expected cfg.json + "
                              f"sae_weights.safetensors (SAELens), folders of them, or "
                              f"W_enc_0.safetensors (a circuit-tracer CLT)", value=path)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return read_ct_config(path)
    if path.suffix == ".safetensors" and path.is_file():
        from safetensors import safe_open

        with safe_open(str(path), "pt") as f:
            names = set(f.keys())
            shapes = {n: tuple(f.get_slice(n).get_shape()) for n in ("W_enc", "b_enc")
                      if n in names}
        ct = "activation_function.threshold" in names or (
            "W_enc" in shapes and "b_enc" in shapes and shapes["W_enc"][0] == shapes["b_enc"][0]
            and shapes["W_enc"][1] != shapes["b_enc"][0])
        if ct:
            if layer is None:
                raise InvalidArgument(f"{path} is a circuit-tracer transcoder file, which does "
                                      f"not say its block: pass layer=", value=str(path))
            return read_ct_plt(path, layer, hook_in or "mlp.hook_in", hook_out or OUT_HOOK)
        return read_plain(path, hook_in, hook_out, activation, k)
    raise CheckpointError(f"no transcoder at {path}: pass a folder, a .safetensors file or a "
                          f"circuit-tracer .yaml", value=path)


def _in(point: str, layer: int) -> str:
    return point if point.startswith("blocks.") else f"blocks.{layer}.{point}"


def read_ct_plt(path: Path, layer: int, hook_in: str, hook_out: str) -> Transcoder:
    """A circuit-tracer per-layer transcoder file, with its block."""
    from safetensors.torch import load_file

    from neurospec.models.checkpoint import check_safetensors

    check_safetensors(path)
    t = load_file(path)
    missing = [n for n in ("W_enc", "W_dec", "b_enc", "b_dec") if n not in t]
    if missing:
        raise CheckpointError(f"{path} lacks {missing} (a circuit-tracer transcoder file has "
                              f"W_enc, W_dec, b_enc, b_dec)", value=path)
    d_tc = t["b_enc"].shape[0]
    named: dict[str, Tensor] = {"W_enc": t["W_enc"].T, "b_enc": t["b_enc"],
                                "W_dec": _dec_rows(t["W_dec"], d_tc, path), "b_dec": t["b_dec"]}
    if "W_skip" in t:
        named["W_skip"] = t["W_skip"]
    act = "relu"
    if "activation_function.threshold" in t:
        named["threshold"], act = t["activation_function.threshold"].reshape(-1), "jumprelu"
    return transcoder(named, hook_in=_in(hook_in, layer), hook_out=_in(hook_out, layer),
                      activation=act, k=None, source=str(path))


def _dec_rows(w_dec: Tensor, d_tc: int, path: Path) -> Tensor:
    """``W_dec`` as ``[d_tc, d_model]`` (circuit-tracer 0.1 saved ``[d_model, d_tc]``)."""
    if w_dec.shape[0] == d_tc:
        return w_dec
    if w_dec.dim() == 2 and w_dec.shape[1] == d_tc:
        return w_dec.T
    raise CheckpointError(f"{path}: W_dec has shape {tuple(w_dec.shape)}, which has no "
                          f"dimension of d_tc={d_tc}", value=path)


def read_clt(folder: Path, hook_in: str, hook_out: str) -> TranscoderSet:
    """A circuit-tracer cross-layer transcoder folder."""
    from safetensors.torch import load_file

    from neurospec.models.checkpoint import check_safetensors

    layers = sorted(int(m[1]) for p in folder.glob("W_enc_*.safetensors")
                    if (m := re.fullmatch(r"W_enc_(\d+)\.safetensors", p.name)))
    if layers != list(range(len(layers))):
        raise CheckpointError(f"{folder}: encoder files for blocks {layers}; a CLT has one per "
                              f"block from 0 on", value=folder)
    n = len(layers)
    out = []
    for i in layers:
        enc_path, dec_path = folder / f"W_enc_{i}.safetensors", folder / f"W_dec_{i}.safetensors"
        if not dec_path.is_file():
            raise CheckpointError(f"{folder} lacks W_dec_{i}.safetensors", value=folder)
        check_safetensors(enc_path)
        check_safetensors(dec_path)
        enc, dec = load_file(enc_path), load_file(dec_path)
        need = [f"W_enc_{i}", f"b_enc_{i}", f"b_dec_{i}"]
        if missing := [x for x in need if x not in enc] + (
                [] if f"W_dec_{i}" in dec else [f"W_dec_{i}"]):
            raise CheckpointError(f"{folder}: block {i} lacks {missing}", value=folder)
        w_dec = dec[f"W_dec_{i}"]
        if w_dec.dim() != 3 or w_dec.shape[1] != n - i:
            raise CheckpointError(f"{folder}: W_dec_{i} has shape {tuple(w_dec.shape)}; a CLT "
                                  f"of {n} blocks needs [d_tc, {n - i}, d_model]", value=folder)
        named: dict[str, Tensor] = {"W_enc": enc[f"W_enc_{i}"].T, "b_enc": enc[f"b_enc_{i}"],
                                    "W_dec": w_dec, "b_dec": enc[f"b_dec_{i}"]}
        act = "relu"
        if f"threshold_{i}" in enc:
            named["threshold"], act = enc[f"threshold_{i}"].reshape(-1), "jumprelu"
        out.append(transcoder(named, hook_in=_in(hook_in, i), hook_out=_in(hook_out, i),
                              activation=act, k=None, source=f"{folder} (block {i})",
                              kind="cross-layer"))
    return TranscoderSet(tuple(out), str(folder))


def read_ct_config(path: Path) -> TranscoderSet:
    """A circuit-tracer transcoder-set config (local file paths only)."""
    import yaml

    cfg: Any = yaml.safe_load(path.read_text("utf-8"))
    if not isinstance(cfg, dict) or not isinstance(cfg.get("transcoders"), list):
        raise CheckpointError(f"{path}: a circuit-tracer config has a 'transcoders' list of "
                              f"{{layer, filepath}}", value=path)
    hook_in = str(cfg.get("feature_input_hook", "hook_resid_mid"))
    hook_out = str(cfg.get("feature_output_hook", OUT_HOOK))
    tcs = []
    for entry in cfg["transcoders"]:
        file = str(entry.get("filepath", ""))
        if file.startswith("hf://"):
            raise CheckpointError(f"{path}: {file} is on the Hugging Face hub; neurospec reads "
                                  f"local files: download it and give its path", value=file)
        local = Path(file) if Path(file).is_absolute() else path.parent / file
        tcs.append(read_ct_plt(local, int(entry["layer"]), hook_in, hook_out))
    return TranscoderSet(tuple(sorted(tcs, key=lambda t: t.layer)), str(path))
