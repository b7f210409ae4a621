"""Which claims a test started and did not state.

``expect(unit)`` and ``.ablated(...)`` build an expectation; a claim method (``raises_loss``,
``activates_more`` ...) states the claim and ends in a verdict.  A test that builds an
expectation and never calls a claim on it checks nothing, yet would pass: every builder
opens a :class:`Statement` here, a verdict closes it, and the pytest plugin fails a test that
leaves one open, naming the call that is missing.

Outside a :func:`tracking` block (a notebook) nothing is tracked; a random-unit rerun builds
its claims objects without a statement.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class Statement:
    """One expectation a test built: how it reads, the claims it offers, the last claim
    method looked up on it, and whether a claim on it reached a verdict."""

    text: str
    choices: tuple[str, ...] = ()
    looked_up: str = ""
    done: bool = False
    attempted: bool = False  # a claim method was called (it may have raised; the test saw it)
    children: list[Statement] = field(default_factory=list)

    def called(self) -> None:
        """A claim method of this expectation was called."""
        self.attempted, self.looked_up = True, ""

    def close(self) -> None:
        """A claim on this expectation reached a verdict."""
        self.done, self.looked_up = True, ""

    def open_child(self, text: str, choices: tuple[str, ...]) -> Statement:
        """An expectation built from this one (``.ablated(...)``): the claim is stated there."""
        self.looked_up = ""
        child = Statement(text, choices)
        self.children.append(child)
        return child

    def unstated(self) -> list[Statement]:
        """This statement and those built from it that state nothing: a builder on which no
        claim was called (and none was built from it), or a claim method looked up after the
        last call and never called."""
        idle = not (self.done or self.attempted or self.children)
        own = [self] if self.looked_up or idle else []
        return own + [s for c in self.children for s in c.unstated()]

    def missing(self) -> str:
        """What the test must add, as a sentence naming the call."""
        if self.looked_up:
            return (f"{self.text} states no claim: .{self.looked_up} was looked up but never "
                    f"called; call it with its arguments, e.g. {self.text}.{self.looked_up}(...)")
        offered = ", ".join(f".{c}(...)" for c in self.choices) or "a claim method"
        return f"{self.text} states no claim: follow it with one of {offered}"


_open: contextvars.ContextVar[list[Statement] | None] = contextvars.ContextVar(
    "neurospec_statements", default=None)


def opened(text: str, choices: tuple[str, ...] = ()) -> Statement:
    """A new statement (kept for the current test when statements are being tracked)."""
    st = Statement(text, choices)
    target = _open.get()
    if target is not None:
        target.append(st)
    return st


def unstated(statements: list[Statement]) -> list[Statement]:
    """Every statement of ``statements`` (and built from them) that states nothing."""
    return [s for st in statements for s in st.unstated()]


@contextlib.contextmanager
def tracking() -> Iterator[list[Statement]]:
    """Track the statements opened inside the block (what the plugin does per test)."""
    found: list[Statement] = []
    token = _open.set(found)
    try:
        yield found
    finally:
        _open.reset(token)


FOLLOW_UPS = ("beats_random_units", "beats_percentile_of_layer", "but_not_when")  # they tighten
# a claim already stated
NOT_CLAIMS = ("for_unit", "concluded", "prefetch")  # the machinery every claims class has


def claim_names(cls: type) -> tuple[str, ...]:
    """The public methods of an expectation class that state a claim (or build one): those its
    own classes define. ``dir(cls)`` would also list what a library mounts on ``object``
    (nnsight puts a ``save`` method on every object once imported)."""
    own = {n for klass in cls.__mro__ if klass is not object for n in vars(klass)}
    return tuple(sorted(n for n in own if not n.startswith("_") and n not in FOLLOW_UPS
                        and n not in NOT_CLAIMS and inspect.isfunction(getattr(cls, n, None))))
