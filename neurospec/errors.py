"""neurospec's exceptions: one root, one subclass per problem.

Every message names the offending value and says how to fix it.  Errors carry the
offending object as data (``err.value``) so callers can act on it without parsing text.
"""

from __future__ import annotations

from typing import Any


class NeurospecError(Exception):
    """Root of every error neurospec raises on purpose."""

    def __init__(self, message: str, value: Any = None) -> None:
        super().__init__(message)
        self.value = value


class InvalidUnit(NeurospecError, ValueError):
    """A unit name that does not parse (``'L3N669'`` is a neuron, ``'L10H7'`` a head)."""


class UnitOutOfRange(NeurospecError, IndexError):
    """A unit whose layer / neuron / head index does not exist in the model."""


class ModelNotFound(NeurospecError, LookupError):
    """No bundled model, local folder or hub model by that name."""


class ModelUnavailable(NeurospecError):
    """A known hub model whose weights cannot be reached here (offline, no local cache)."""


class CheckpointError(NeurospecError):
    """A checkpoint folder that cannot be loaded: no weights, corrupt files, mismatches."""


class UntrustedCheckpoint(CheckpointError):
    """A pickle checkpoint, refused unless the user explicitly trusts it."""


class UntrustedCode(CheckpointError):
    """A model that needs its own Python code (``auto_map``), refused unless the user
    explicitly trusts it."""


class ResourceError(NeurospecError, MemoryError):
    """A measurement that would need more memory (or threads) than the machine has."""


class DatasetError(NeurospecError, ValueError):
    """A dataset that is missing, empty or malformed."""


class InvalidArgument(NeurospecError, ValueError):
    """An argument of a claim of the wrong type, sign or combination."""


class ResultsFileError(NeurospecError, ValueError):
    """A results JSON that cannot be read: missing, not JSON, or of another schema version."""


class GraphFileError(NeurospecError, ValueError):
    """An attribution graph file that is not circuit-tracer's graph JSON, or lacks what a claim
    needs (the message names the field and the fix)."""


class OutputError(NeurospecError):
    """An output (results JSON, HTML report) that cannot be written where it was asked for."""


class UnsupportedArchitecture(NeurospecError):
    """An exact shortcut does not hold for this model's layout (the message names the feature)."""


class HookLeak(NeurospecError):
    """A hook was left registered on a model after a measurement."""


class HookNeverFired(NeurospecError):
    """A hook or intervention a measurement installed was never called by the forward pass
    (the measurement would silently be of the un-intervened model)."""


class RemoteUnsupported(UnsupportedArchitecture):
    """A measurement a remote backend (NDIF) cannot run: it needs neurospec's own Python code
    on the server, the weights, or parameter gradients (the message says which)."""


class RemoteFailed(NeurospecError):
    """A remote run (NDIF) that started and did not finish: the connection was lost, the job
    failed on the server, or it ran past its deadline."""


class ModelModified(NeurospecError):
    """A test changed the weights or settings of the model the session shares."""


class NumericalError(NeurospecError, FloatingPointError):
    """NaN or Inf appeared in activations or losses."""


class ClaimFailed(NeurospecError, AssertionError):
    """A claim whose measured evidence does not support it.

    The record with every number is kept as ``err.record``.
    """

    def __init__(self, message: str, record: Any = None) -> None:
        super().__init__(message, value=record)
        self.record = record


class Underpowered(ClaimFailed):
    """A claim with too few documents for its confidence interval to mean anything."""


class NoClaimStated(NeurospecError):
    """A test built an expectation (``expect(unit)``, ``.ablated(...)``) and stated no claim
    on it, so it checked nothing; the message names the call that is missing."""


class NeurospecWarning(UserWarning):
    """Something a result depends on that the user should know (e.g. truncated documents)."""


class WrongUnitKind(InvalidUnit, AttributeError):
    """A claim called on a unit of another kind (``activates_more`` on a head)."""
