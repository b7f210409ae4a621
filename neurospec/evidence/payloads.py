"""The shapes of what a record carries besides its numbers: chart data, the data sets it
was measured on, and the details the report reads by name.

Claims build these (``claims/``), the report reads them (``report/``): declaring them here
as ``TypedDict`` lets a type checker hold both sides to one shape, and :func:`check` holds
a results file read from disk to it (a damaged file is an error naming the field, never a
traceback deep inside rendering).  Non-finite numbers are stored in JSON as the strings
``"nan"``, ``"inf"``, ``"-inf"``; wherever a number is expected they count as one.
"""


import types
import typing
from typing import Any, NotRequired, TypedDict, Union


class Bar(TypedDict):
    set: str
    mean: float
    ci: list[float]
    n: NotRequired[int]


class Bars(TypedDict):
    title: str
    items: list[Bar]
    unit: NotRequired[str]


class Histogram(TypedDict):
    title: str
    sets: dict[str, list[float]]
    n: NotRequired[dict[str, int]]
    unit: NotRequired[str]
    threshold: NotRequired[float]  # drawn as a line (an edge's own threshold on a path card)


class Null(TypedDict):
    """Random units' effects with the claim's unit marked."""

    title: str
    unit_value: float
    values: list[float]
    units: list[str]


class Attention(TypedDict):
    title: str
    tokens: list[str]
    pattern: list[list[float]]


class Strip(TypedDict):
    """One document's tokens around a position, each with a value (a context strip)."""

    set: str
    doc: str | int
    max: float
    tokens: list[str]
    values: list[float]


class Strips(TypedDict):
    title: str
    items: list[Strip]


class TokenRow(TypedDict):
    token: str
    value: float
    in_set: NotRequired[bool]


class TokenTable(TypedDict):
    title: str
    top: list[TokenRow]
    bottom: list[TokenRow]
    labels: NotRequired[list[str]]


class SequencePoint(TypedDict):
    """One look of a sequential claim: units seen (documents or groups), estimate, bounds."""

    n: int
    estimate: float
    lo: float
    hi: float


class SequenceChart(TypedDict):
    """A confidence sequence drawn against the units processed, with threshold and stop."""

    title: str
    points: list[SequencePoint]
    threshold: float
    n_max: int
    stopped: int


class Sequential(TypedDict, total=False):
    """How a claim read its documents under sequential mode: ``mode`` "sequential" (with
    where it stopped and the sequence's bounds) or "fixed-n" (with ``why``)."""

    mode: str
    why: str
    stopped_after: int  # units (documents or groups, both sets) when it stopped
    of: int  # units in all
    documents: int  # documents read (both sets), the forward passes' measure
    documents_of: int
    looks: int
    bounds: list[float]
    verdict: str  # pass, fail or undecided (the documents ran out first)
    sequence: str  # which confidence sequence
    alpha: float


class Charts(TypedDict, total=False):
    """Every chart a record may carry, by the name the report draws it under."""

    histogram: Histogram
    bars: Bars
    null: Null
    attention: Attention
    contexts: Strips
    token_deltas: Strips
    token_table: TokenTable
    sequence: SequenceChart
    edge_histograms: list[Histogram]  # a path card: each edge's per-document effects


class PathEdge(TypedDict):
    """One edge of a path claim, decided as ``drives()`` decides an edge."""

    source: str
    target: str
    effect: float
    ci: list[float]
    threshold: float
    verdict: str
    missed: str
    p: float
    unit: str  # the target's units: pre-activation or logit
    random_k: NotRequired[int]
    random_percentile: NotRequired[float]
    random_median: NotRequired[float]


class FileOrigin(TypedDict):
    file: str
    sha256: str | None


class GroupSummary(TypedDict):
    """How a set's documents are resampled: ``groups`` units (near-copies and declared groups
    count once), of which ``docs_in_shared_groups`` documents share a group."""

    groups: int
    docs_in_shared_groups: int
    largest_group: int
    declared: bool


class Data(TypedDict, total=False):
    """The data sets a claim was measured on."""

    names: list[str]
    hashes: list[str]
    docs: list[int]
    files: list[FileOrigin]
    truncated: list[int]
    duplicates_dropped: list[int]
    groups: list[GroupSummary]  # per set: its resampling groups (near-copies, declared)


class Vacuity(TypedDict):
    k: int
    requested: int
    passed: int
    rate: float
    rate_lower_bound: float
    checked: bool
    passing_units: list[str]
    limit: float


class MatchedNegative(TypedDict):
    claim: str
    effect: float
    ci: list[float]
    verdict: str
    shown_not_to_hold: bool


class PercentileTest(TypedDict):
    """``beats_percentile_of_layer``: the noise-aware percentile test against k random
    units of the layer."""

    percentile: float
    k: int
    not_shown_below: int
    p: float
    level: float
    min_k: int


# The details claims write, by name (the report and failure messages read some of them; the
# card lists the rest).  Declared in the functional form because one key is ``from``.
Details = TypedDict("Details", {
    # read by the report and failure messages
    "units_label": str, "n_unit": str, "random_k": int, "random_k_requested": int,
    "random_percentile": float, "random_p": float, "random_median": float,
    "required_percentile": float, "percentile_test": PercentileTest, "total_effect": float,
    "vacuity": Vacuity,
    "matched_negative": MatchedNegative,
    # activation contrasts
    "definition": str, "token_auroc": float, "doc_auroc": float,
    "token_mean": dict[str, float], "doc_mean": dict[str, float],
    "frac_tokens_above_0": dict[str, float], "n_docs": dict[str, int],
    "n_tokens": dict[str, int], "hook": str, "sae": str,
    # top examples, simplification, prompt optimisation, properties
    "base_rate": float, "from": dict[str, int], "keep": float, "max_tokens": int,
    "lengths": list[int], "kept": list[float], "top_activation_on_corpus": float,
    "projected": list[float], "soft": list[float], "above": float, "mean_activation": float,
    "counterexample": list[str] | None,
    # ablations, heads, path patching, token effects, sweeps
    "ablation": str, "mode": str, "value": float | None, "clean_loss": float,
    "ablated_loss": float, "relative_change": float, "how": str,
    "mean_delta_all_tokens": float, "through": list[str], "via_path": float,
    "eligible_tokens": int, "found": list[str], "answer_logit_change": float,
    "log_sum_exp_change": float, "answer_logprob_change": float, "mechanism": str,
    "sweep_method": str, "exact": bool, "neurons": int, "largest": dict[str, float],
    "top": list[str],
    # weights and logit attribution
    "weights": str, "mean_norm": dict[str, float], "rank_in_layer": dict[str, int],
    "layer_size": int,
    "folded_final_ln": bool, "set_size": int, "vocab": int,
    # SAE features
    "rank_among_early_features": int, "early_features": int, "early_sae": str,
    "late_sae": str,
    # transcoder features
    "transcoder": str, "targets": list[int], "replaced_loss": float, "zero_mlp_loss": float,
    "variance_explained": dict[str, float],
    # paths through transcoder features: the nodes, each edge, a logit target's token id
    "path": list[str], "path_edges": list[PathEdge], "target_token_id": int,
    # sequential mode
    "sequential": Sequential,
}, total=False)


class ModelInfo(TypedDict, total=False):
    """What a record says about the model it was measured on."""

    name: str
    checkpoint: str | None
    fingerprint: str
    fingerprint_parts: dict[str, str]
    context: int
    prepend_bos: bool
    dtype: str
    device: str
    compatibility_mode: bool
    backend: str  # transformer_lens or nnsight
    remote: str | None  # nnsight: None (here), "local simulation", or the NDIF host
    revision: str | None  # nnsight on NDIF: the hub commit the model ran at
    nnsight: str  # nnsight's version


def _is_number(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) or v in ("nan", "inf", "-inf")


def _name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def check(value: Any, hint: Any, path: str) -> None:
    """Raise ``ValueError`` naming ``path`` when ``value`` does not have the shape ``hint``
    (a ``TypedDict``, ``list[...]``, ``dict[str, ...]``, a union, or a plain type)."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return
    if origin in (Union, types.UnionType):
        for option in typing.get_args(hint):
            try:
                check(value, option, path)
                return
            except ValueError:
                continue
        options = " or ".join(map(_name, typing.get_args(hint)))
        raise ValueError(f"{path} is {value!r:.60}, not {options}")
    if origin is list:
        if not isinstance(value, list):
            raise ValueError(f"{path} is a {type(value).__name__}, not a list")
        (item,) = typing.get_args(hint)
        for i, v in enumerate(value):
            check(v, item, f"{path}[{i}]")
        return
    if origin is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{path} is a {type(value).__name__}, not an object")
        _, item = typing.get_args(hint)
        for k, v in value.items():
            check(v, item, f"{path}.{k}")
        return
    if typing.is_typeddict(hint):
        if not isinstance(value, dict):
            raise ValueError(f"{path} is a {type(value).__name__}, not an object")
        hints = typing.get_type_hints(hint)
        missing = sorted(hint.__required_keys__ - set(value))
        if missing:
            raise ValueError(f"{path} lacks {', '.join(missing)}")
        for k, v in value.items():
            if k in hints:
                check(v, hints[k], f"{path}.{k}")
        return
    if hint is type(None):
        if value is not None:
            raise ValueError(f"{path} is {value!r:.60}, not null")
        return
    if hint is float:
        if not _is_number(value):
            raise ValueError(f"{path} is {value!r:.60}, not a number")
        return
    if hint is int:
        if type(value) is not int:
            raise ValueError(f"{path} is {value!r:.60}, not a whole number")
        return
    if not isinstance(value, hint) or (hint is not bool and isinstance(value, bool)):
        raise ValueError(f"{path} is {value!r:.60}, not {_name(hint)}")
