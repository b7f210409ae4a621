"""A least-recently-used cache bounded by bytes, for tensors shared across claims.

Keys are tuples such as ``("acts", corpus_hash, hook)``; the cache lives on one
:class:`~neurospec.models.bridge.Model`, so the model fingerprint is implied.  A hit
returns the very object that was stored, so it can never change a number.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar, cast

T = TypeVar("T")


def nbytes(value: Any) -> int:
    """Approximate size of tensors / arrays, possibly nested in lists, tuples and dicts."""
    if hasattr(value, "element_size") and hasattr(value, "numel"):
        size: int = value.element_size() * value.numel()
        return size
    if hasattr(value, "nbytes"):
        return int(value.nbytes)
    if isinstance(value, (list, tuple)):
        return sum(nbytes(v) for v in value) + 8 * len(value)
    if isinstance(value, dict):
        return sum(nbytes(v) for v in value.values()) + 8 * len(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(nbytes(getattr(value, f.name)) for f in dataclasses.fields(value)) + 64
    return 64


class ByteLRU:
    """``get_or_compute(key, fn)`` with eviction of the least recently used entries."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The stored value (counted as a hit, marked recently used), or ``default``."""
        if key not in self._items:
            return default
        self._items.move_to_end(key)
        self.hits += 1
        return self._items[key][0]

    def get_or_compute(self, key: Hashable, fn: Callable[[], T]) -> T:
        """The value stored under ``key``, or ``fn()`` computed and stored (when it fits).

        A key names one computation (its name, the data's hash, its arguments), so what is
        stored under it is what ``fn`` returns."""
        if key in self._items:
            return cast(T, self.get(key))
        self.misses += 1
        value = fn()
        size = nbytes(value)
        if size <= self.max_bytes:
            self._items[key] = (value, size)
            self.bytes += size
            while self.bytes > self.max_bytes:
                _, (_, old) = self._items.popitem(last=False)
                self.bytes -= old
        return value

    def put(self, key: Hashable, value: Any) -> None:
        """Store ``value`` unless ``key`` is already held (a by-product of another pass)."""
        if key not in self._items:
            self.get_or_compute(key, lambda: value)
            self.misses -= 1  # not a lookup

    def clear(self) -> None:
        self._items.clear()
        self.bytes = 0
