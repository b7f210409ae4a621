"""Random transcoders written in each on-disk layout neurospec reads, with the plain-torch
formulas they stand for (written from the layouts' definitions, not from neurospec's code)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

FORMATS = ["saelens", "saelens_skip", "saelens_jumprelu", "plain_topk", "ct_plt", "ct_plt_jump",
           "clt"]


def weights(d: int, n_tc: int, layer: int, seed: int, n_targets: int = 1) -> dict:
    """SAELens-named tensors: W_enc [d, T], b_enc, W_dec [T, n_targets, d], b_dec, W_skip,
    threshold."""
    g = torch.Generator().manual_seed(seed * 31 + layer)
    return {"W_enc": torch.randn(d, n_tc, generator=g) / d ** 0.5,
            "b_enc": torch.randn(n_tc, generator=g) * 0.3,
            "W_dec": torch.randn(n_tc, n_targets, d, generator=g) * 0.2,
            "b_dec": torch.randn(d, generator=g) * 0.1,
            "W_skip": torch.randn(d, d, generator=g) * 0.05,
            "threshold": torch.rand(n_tc, generator=g) * 0.3}


def activation(fmt: str) -> str:
    return {"saelens_jumprelu": "jumprelu", "ct_plt_jump": "jumprelu",
            "plain_topk": "topk"}.get(fmt, "relu")


def skip(fmt: str) -> bool:
    return fmt in ("saelens_skip", "ct_plt")


K = 5


def features(w: dict, x: torch.Tensor, act: str) -> torch.Tensor:
    """The definition: pre = x W_enc + b_enc; relu / pre * [pre > threshold] / top-k relu."""
    pre = x @ w["W_enc"] + w["b_enc"]
    if act == "jumprelu":
        return pre * (pre > w["threshold"]).float()
    if act == "topk":
        keep = torch.zeros_like(pre).scatter(-1, pre.topk(K, dim=-1).indices, 1.0)
        return torch.relu(pre) * keep
    return torch.relu(pre)


def write(fmt: str, folder: Path, d: int, n_tc: int, n_layers: int, seed: int = 0
          ) -> tuple[Path, dict, dict[int, dict]]:
    """Write transcoders for every block in layout ``fmt`` under ``folder``; returns the path
    to load, the keyword arguments load_transcoder needs, and the weights per block."""
    folder.mkdir(parents=True, exist_ok=True)
    ws: dict[int, dict] = {}
    if fmt == "clt":
        for i in range(n_layers):
            w = weights(d, n_tc, i, seed, n_layers - i)
            ws[i] = w
            save_file({f"W_enc_{i}": w["W_enc"].T.contiguous(), f"b_enc_{i}": w["b_enc"],
                       f"b_dec_{i}": w["b_dec"]}, str(folder / f"W_enc_{i}.safetensors"))
            save_file({f"W_dec_{i}": w["W_dec"].contiguous()},
                      str(folder / f"W_dec_{i}.safetensors"))
        return folder, {"hook_in": "mlp.hook_in"}, ws
    if fmt.startswith("ct_plt"):
        entries = []
        for i in range(n_layers):
            w = ws[i] = weights(d, n_tc, i, seed)
            t = {"W_enc": w["W_enc"].T.contiguous(), "W_dec": w["W_dec"][:, 0].contiguous(),
                 "b_enc": w["b_enc"], "b_dec": w["b_dec"]}
            if skip(fmt):
                t["W_skip"] = w["W_skip"]
            if fmt == "ct_plt_jump":
                t["activation_function.threshold"] = w["threshold"][None]
            save_file(t, str(folder / f"layer_{i}.safetensors"))
            entries.append({"id": f"L{i}", "layer": i, "filepath": f"layer_{i}.safetensors"})
        cfg = {"model_name": "tiny", "feature_input_hook": "mlp.hook_in",
               "feature_output_hook": "hook_mlp_out", "transcoders": entries}
        (folder / "set.yaml").write_text(json.dumps(cfg))  # JSON is YAML
        return folder / "set.yaml", {}, ws
    for i in range(n_layers):
        w = ws[i] = weights(d, n_tc, i, seed)
        sub = folder / f"L{i}"
        sub.mkdir(exist_ok=True)
        t = {"W_enc": w["W_enc"], "b_enc": w["b_enc"], "W_dec": w["W_dec"][:, 0].contiguous(),
             "b_dec": w["b_dec"]}
        if skip(fmt):
            t["W_skip"] = w["W_skip"]
        if fmt == "saelens_jumprelu":
            t["threshold"] = w["threshold"]
        save_file(t, str(sub / "sae_weights.safetensors"))
        if fmt == "plain_topk":
            (sub / "cfg.json").write_text(json.dumps({"hook_name": f"blocks.{i}.mlp.hook_in",
                                                      "activation": "topk", "k": K}))
            continue
        arch = {"saelens": "transcoder", "saelens_skip": "skip_transcoder",
                "saelens_jumprelu": "jumprelu_transcoder"}[fmt]
        (sub / "cfg.json").write_text(json.dumps({
            "architecture": arch, "d_in": d, "d_sae": n_tc, "d_out": d,
            "apply_b_dec_to_input": False, "normalize_activations": "none",
            "metadata": {"hook_name": f"blocks.{i}.ln2.hook_normalized",
                         "hook_name_out": f"blocks.{i}.hook_mlp_out"}}))
    if fmt == "plain_topk":
        return folder / "L0" / "sae_weights.safetensors", {}, ws
    return folder, {}, ws


def predict(ws: dict[int, dict], xs: dict[int, torch.Tensor], target: int, fmt: str,
            zero: tuple[int, int] | None = None) -> torch.Tensor:
    """The transcoders' prediction of block ``target``'s MLP output (every earlier block's
    features too, for a CLT); ``zero=(layer, feature)`` sets that feature to 0."""
    act = activation(fmt)
    out = ws[target]["b_dec"] + (xs[target] @ ws[target]["W_skip"].T if skip(fmt) else 0)
    for src, w in ws.items():
        j = target - src
        if not 0 <= j < w["W_dec"].shape[1]:
            continue
        f = features(w, xs[src], act)
        if zero is not None and zero[0] == src:
            f = f.clone()
            f[..., zero[1]] = 0
        out = out + f @ w["W_dec"][:, j]
    return out
