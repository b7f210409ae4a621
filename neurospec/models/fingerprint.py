"""What identifies a model: its weights, the configuration that decides what the weights
compute, and its tokenizer; and the check that a tokenizer fits the model's vocabulary.

Two models with the same weights but a flipped ``use_parallel_residual``, another head
count or another tokenizer compute different things: each part is hashed, and the
fingerprint a record carries covers all three.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from neurospec.errors import CheckpointError

# Configuration entries that say how a model was loaded or run, not what it computes.
_NOT_ARCHITECTURE = {"transformers_version", "torch_dtype", "dtype", "use_cache",
                     "output_attentions", "output_hidden_states", "return_dict",
                     "name_or_path", "architectures"}
# Tokenizer settings that say how a caller batches text, not which ids text becomes.
_NOT_VOCABULARY = {"truncation", "padding"}


@dataclass(frozen=True)
class Fingerprint:
    """SHA-256 digests (16 hex digits each) of a model's parts and of all three together."""

    weights: str
    config: str
    tokenizer: str

    @property
    def combined(self) -> str:
        text = f"{self.weights}:{self.config}:{self.tokenizer}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def parts(self) -> dict[str, str]:
        return {"weights": self.weights, "config": self.config, "tokenizer": self.tokenizer}


def weights_digest(state: dict[str, Tensor]) -> str:
    """Every tensor's name, shape, dtype and bytes."""
    h = hashlib.sha256()
    for key in sorted(state):
        t = state[key].detach().to("cpu").contiguous()
        h.update(key.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(str(t.dtype).encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]


def config_digest(config: Any) -> str:
    """The configuration entries that change what the weights compute (sizes, norms,
    residual layout, rotary settings ...), whatever transformers release saved them."""
    d = config.to_dict() if hasattr(config, "to_dict") else dict(config)
    kept = {k: v for k, v in d.items() if not k.startswith("_") and k not in _NOT_ARCHITECTURE}
    text = json.dumps(kept, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def tokenizer_digest(tok: Any) -> str:
    """The vocabulary, merges, normalisation and special-token ids: what text becomes."""
    backend = getattr(tok, "backend_tokenizer", None)
    if backend is not None:
        spec = {k: v for k, v in json.loads(backend.to_str()).items() if k not in _NOT_VOCABULARY}
    else:
        spec = {"vocab": sorted(tok.get_vocab().items())}
    spec["special"] = {k: getattr(tok, f"{k}_token_id", None) for k in ("bos", "eos", "unk", "pad")}
    text = json.dumps(spec, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def fingerprint(hf: Any, tok: Any) -> Fingerprint:
    """The fingerprint of a Hugging Face model and its tokenizer."""
    return Fingerprint(weights_digest(hf.state_dict()), config_digest(hf.config),
                       tokenizer_digest(tok))


def vocabulary_rows(hf: Any) -> int:
    """How many token ids the model's input embedding holds."""
    emb = hf.get_input_embeddings() if hasattr(hf, "get_input_embeddings") else None
    weight = getattr(emb, "weight", None)
    if weight is not None and weight.dim() == 2:
        return int(weight.shape[0])
    return int(hf.config.vocab_size)


def check_tokenizer_fits(tok: Any, hf: Any, name: str, where: str) -> None:
    """Refuse a tokenizer that belongs to another model, in both directions: more tokens
    than the embedding has rows (ids past its end), or far fewer (most of the model's
    vocabulary unreachable: a tokenizer of another model reads most words as unknown).
    Models pad their vocabulary to a round size (Pythia: 50 277 tokens, 50 304 rows), so up
    to 5% (at least 1024) spare rows are accepted.

    Raises:
        CheckpointError: naming both sizes and the fix.
    """
    n, rows = len(tok), vocabulary_rows(hf)
    fix = (f"use the tokenizer saved with these weights (copy its files into {where}, or pass "
           f"tokenizer=AutoTokenizer.from_pretrained(<the model's folder>))")
    if n > rows:
        raise CheckpointError(
            f"{name}: the tokenizer has {n} tokens but the model's vocabulary has {rows} rows: "
            f"ids from {rows} on would index past the embedding, so the tokenizer belongs to "
            f"another model; {fix}", value=name)
    slack = max(1024, rows // 20)
    if rows - n > slack:
        raise CheckpointError(
            f"{name}: the tokenizer has {n} tokens but the model's vocabulary has {rows} rows "
            f"(more than {slack} of them unreachable): the tokenizer belongs to another model "
            f"and would read most text as tokens this model never saw; {fix}", value=name)
