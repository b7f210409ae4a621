"""Claims written as data: run a claim stored as JSON, as the planted model's manifest stores
its facts (``fixtures/models/planted/MANIFEST.json``).

A spec names a unit, optionally an SAE, and a chain of claim methods with keyword arguments::

    {"unit": "L0N1",
     "chain": [["ablated", {"to": "zero"}],
               ["raises_loss", {"on": "planted_open", "by_at_least": 0.2}]]}

which runs ``expect("L0N1").ablated(to="zero").raises_loss(on="planted_open", by_at_least=0.2)``.
Datasets are given by name (found as ``corpus(name)`` finds them); the spec's ``sae`` and a
keyword argument ``sae`` are paths, relative to ``root`` unless absolute.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neurospec.errors import InvalidArgument

SPEC_KEYS = frozenset({"unit", "sae", "chain"})


def run_spec(spec: dict, model: Any = None, root: Path | str = ".") -> Any:
    """Run the claim ``spec`` describes and return what its last method returns.

    Args:
        spec: ``{"unit": ..., "chain": [[method, kwargs], ...], "sae": path (optional)}``.
        model: the model (under pytest the plugin supplies the test's model).
        root: the folder relative SAE paths start from (the repository root for fixtures).

    Raises:
        InvalidArgument: a malformed spec (unknown keys, an empty chain, a private or unknown
            method); a claim that does not hold raises :class:`~neurospec.errors.ClaimFailed`.

    Example:
        >>> run_spec({"unit": "L0N1", "chain": [["writes_tokens", {"include": ["door"]}]]},
        ...          model=load_model("planted"))
    """
    __tracebackhide__ = True
    from neurospec.claims.expect import expect

    _check(spec)
    root = Path(root)
    sae = spec.get("sae")
    target: Any = expect(spec["unit"], model, sae=_path(sae, root) if sae else None)
    for method, kwargs in spec["chain"]:
        kwargs = {k: _path(v, root) if k == "sae" else v for k, v in kwargs.items()}
        fn = getattr(target, method, None)
        if fn is None or not callable(fn):
            said = getattr(getattr(target, "scope", None), "statement", None)
            if said is not None:
                said.called()  # the spec failed here: the error says what is missing
            raise InvalidArgument(f"claim spec for {spec['unit']}: {type(target).__name__} has no "
                                  f"claim method {method!r}", value=method)
        target = fn(**kwargs)
    return target


def describe_spec(spec: dict) -> str:
    """The spec as the Python call it stands for, e.g. ``expect('L0N1').ablated(to='zero')...``."""
    _check(spec)
    head = f"expect({spec['unit']!r}" + (f", sae={spec['sae']!r})" if spec.get("sae") else ")")
    calls = "".join(f".{m}({', '.join(f'{k}={v!r}' for k, v in kw.items())})"
                    for m, kw in spec["chain"])
    return head + calls


def _check(spec: Any) -> None:
    if not isinstance(spec, dict) or "unit" not in spec or "chain" not in spec:
        raise InvalidArgument(f"a claim spec is a dict with 'unit' and 'chain' (and optionally "
                              f"'sae'), got {spec!r}", value=spec)
    extra = set(spec) - SPEC_KEYS
    if extra:
        raise InvalidArgument(f"claim spec for {spec['unit']}: unknown keys {sorted(extra)}; "
                              f"allowed: {sorted(SPEC_KEYS)}", value=spec)
    chain = spec["chain"]
    if not isinstance(chain, list) or not chain:
        raise InvalidArgument(f"claim spec for {spec['unit']}: 'chain' must be a non-empty list "
                              f"of [method, kwargs] pairs", value=chain)
    for step in chain:
        ok = (isinstance(step, (list, tuple)) and len(step) == 2 and isinstance(step[0], str)
              and isinstance(step[1], dict))
        if not ok or step[0].startswith("_"):
            raise InvalidArgument(f"claim spec for {spec['unit']}: each step is [method, kwargs] "
                                  f"with a public claim method, got {step!r}", value=step)


def _path(value: Any, root: Path) -> Any:
    if isinstance(value, str):
        p = Path(value)
        return p if p.is_absolute() else root / p
    return value
