"""Results records: plain, frozen data of what one assertion measured and decided.

Records hold only JSON-able values, so they travel through pytest-xdist, land in the
results file, and render without torch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

SCHEMA = "neurospec.results/2"
# Schemas this version reads: /1 kept skipped tests in ``meta["skipped"]`` instead of as
# records; they are read as records (:func:`neurospec.evidence.jsonio.read_results`).
READABLE_SCHEMAS = ("neurospec.results/1", SCHEMA)

# A record of a test's outcome rather than of a claim's verdict: the test errored, was
# skipped, stated no claim, or never ran.  Its ``verdict`` is one of OUTCOME_VERDICTS, its
# ``missed`` says why (the error, the skip reason), and it has no numbers.
TEST_OUTCOME = "test_outcome"
ERROR, SKIPPED, NO_CLAIM, NOT_RUN = "error", "skipped", "no claim", "not run"
XFAIL_ERROR = "errored xfail"  # a test marked xfail that errored: not the expected failure
OUTCOME_VERDICTS = (ERROR, XFAIL_ERROR, SKIPPED, NO_CLAIM, NOT_RUN, "fail")


@dataclass(frozen=True)
class Record:
    """One claim's verdict and the numbers and chart data behind it.

    ``direction`` is ``>=`` (the CI's lower bound must reach ``threshold``), ``<=`` (the
    upper bound must stay under it) or ``within`` (the CI must lie in ±``threshold``).
    """

    claim: str
    kind: str
    unit: str
    model: dict
    data: dict
    n: int
    effect: float
    ci: tuple[float, float]
    p: float
    threshold: float
    direction: str
    metric: str
    verdict: str
    seed: int
    method: str = ""
    missed: str = ""
    details: dict = field(default_factory=dict)
    charts: dict = field(default_factory=dict)
    test: str = ""
    percentile: float | None = None  # the unit's percentile among random units of its layer
    vacuous: bool | None = None  # None: not checked; True: random units pass it too
    p_adjusted: float | None = None  # after a correction across the run's claims
    # Filled by the plugin: the --checkpoint column this record belongs to ("" when the
    # run had one model) and the test's pytest outcome ("passed", "failed", "xfailed" ...).
    checkpoint: str = ""
    outcome: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "charts", bounded_charts(self.charts))

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    @property
    def is_claim(self) -> bool:
        """A claim's verdict (not a record of a test's outcome: an error, a skip ...)."""
        return self.kind != TEST_OUTCOME

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ci"] = list(self.ci)
        return _finite(d)

    @property
    def column(self) -> str:
        """Which model / checkpoint the record was measured on, as a column label."""
        if self.checkpoint:
            return self.checkpoint
        name, ckpt = self.model.get("name", ""), self.model.get("checkpoint")
        return f"{name}@{ckpt}" if ckpt else str(name)

    @classmethod
    def from_dict(cls, d: dict) -> Record:
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        kw["ci"] = tuple(_unfinite(x) for x in (kw.get("ci") or (math.nan, math.nan)))
        for name in _FLOATS:
            if name in kw:
                kw[name] = _unfinite(kw[name])
        return cls(**kw)


def outcome_record(test: str, verdict: str, why: str, *, claim: str = "", unit: str = "",
                   model: dict | None = None, seed: int = 0, checkpoint: str = "",
                   outcome: str = "") -> Record:
    """The record of a test whose outcome is not a claim's verdict (``verdict`` one of
    :data:`OUTCOME_VERDICTS`): what it was about (``claim``, e.g. the expectation it had
    built; else the test's name) and why (``why``: the error, the skip reason)."""
    name = test.rsplit("::", 1)[-1] if test else "(collection)"
    return Record(claim=claim or name, kind=TEST_OUTCOME, unit=unit, model=dict(model or {}),
                  data={}, n=0, effect=math.nan, ci=(math.nan, math.nan), p=math.nan,
                  threshold=math.nan, direction="", metric="", verdict=verdict, seed=seed,
                  missed=why, test=test, checkpoint=checkpoint, outcome=outcome)


_FLOATS = ("effect", "p", "threshold", "percentile", "p_adjusted")
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _unfinite(value: Any) -> Any:
    """What :func:`_finite` stored as a string, back as the float it was."""
    return _NON_FINITE.get(value, value) if isinstance(value, str) else value


# Values kept per set for a histogram: a claim over 100 000 documents would otherwise store
# (and its report page render) every document's value.
HISTOGRAM_LIMIT = 1000


def bounded_charts(charts: dict) -> dict:
    """``charts`` with each histogram set of more than :data:`HISTOGRAM_LIMIT` values
    replaced by that many evenly spaced quantiles (the shape a histogram shows is kept; the
    statistics were computed on every value before).  The full counts go to ``"n"``."""
    hist = charts.get("histogram") if isinstance(charts, dict) else None
    if not isinstance(hist, dict) or not isinstance(hist.get("sets"), dict):
        return charts
    sets = hist["sets"]
    big = {k: v for k, v in sets.items() if isinstance(v, list) and len(v) > HISTOGRAM_LIMIT}
    if not big:
        return charts
    import numpy as np

    def quantiles(values: list) -> list[float]:
        v = np.sort(np.asarray(values, dtype=float))
        at = np.linspace(0, len(v) - 1, HISTOGRAM_LIMIT).round().astype(int)
        return v[at].tolist()

    counts = {**hist.get("n", {}), **{k: len(v) for k, v in big.items()}}
    new_sets = {k: quantiles(v) if k in big else v for k, v in sets.items()}
    title = str(hist.get("title", ""))
    if "quantiles" not in title:
        title += f" ({HISTOGRAM_LIMIT} quantiles of sets over {HISTOGRAM_LIMIT} documents)"
    return {**charts, "histogram": {**hist, "sets": new_sets, "n": counts, "title": title}}


def _finite(value: Any) -> Any:
    """JSON has no NaN/Inf: store them as strings that say so."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
