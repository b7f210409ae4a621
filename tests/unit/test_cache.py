import numpy as np

from neurospec.models.cache import ByteLRU


def test_lru_by_bytes_evicts_oldest_and_returns_the_same_object():
    c = ByteLRU(max_bytes=2500)
    a = c.get_or_compute("a", lambda: np.zeros(100))  # 800 bytes
    assert c.get_or_compute("a", lambda: np.ones(100)) is a
    c.get_or_compute("b", lambda: np.zeros(100))
    c.get_or_compute("a", lambda: None)  # touch a
    c.get_or_compute("c", lambda: np.zeros(150))  # 1200 bytes: b goes
    assert "a" in c and "c" in c and "b" not in c
    assert c.bytes <= 2500 and c.hits == 2
    c.get_or_compute("big", lambda: np.zeros(1000))  # larger than the budget: not kept
    assert "big" not in c


def test_get_reads_without_computing_and_touches():
    c = ByteLRU(max_bytes=2500)
    assert c.get("a") is None and c.get("a", default=7) == 7 and c.misses == 0
    a = c.get_or_compute("a", lambda: np.zeros(100))
    c.get_or_compute("b", lambda: np.zeros(100))
    assert c.get("a") is a and c.hits == 1
    c.get_or_compute("c", lambda: np.zeros(150))  # a was touched by get: b goes
    assert "a" in c and "b" not in c
