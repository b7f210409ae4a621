"""Each pytest-xdist worker gets its own device from --neurospec-devices."""

import json

import pytest

from neurospec.plugin.fixtures import worker_device


class Config:
    def __init__(self, devices=None, device="auto", worker=None):
        self.options = {"--neurospec-devices": devices, "--device": device}
        if worker is not None:
            self.workerinput = {"workerid": worker}

    def getoption(self, name):
        return self.options[name]


def test_workers_take_devices_in_turn():
    assert worker_device(Config("cuda:0,cuda:1", worker="gw0")) == "cuda:0"
    assert worker_device(Config("cuda:0,cuda:1", worker="gw1")) == "cuda:1"
    assert worker_device(Config("cuda:0, cuda:1", worker="gw2")) == "cuda:0"
    assert worker_device(Config("cuda:1")) == "cuda:1"  # no xdist: the first
    assert worker_device(Config(None, device="cpu", worker="gw3")) == "cpu"


def test_empty_device_list_is_a_usage_error():
    with pytest.raises(pytest.UsageError, match="give devices such as"):
        worker_device(Config(" , "))


def test_xdist_run_with_a_device_list(pytester):
    pytest.importorskip("xdist")
    pytester.makepyfile(test_inner='''
        import pytest
        from neurospec import expect
        pytestmark = pytest.mark.model("tiny-bilingual")

        @pytest.mark.parametrize("unit", ["L0N125", "L0N150", "L0N7", "L0N12"])
        def test_claim(corpus, unit):
            try:
                expect(unit).activates_more(on=corpus("german").subset(20),
                                            than=corpus("english").subset(20), by_at_least=0.0)
            except AssertionError:
                pass
    ''')
    result = pytester.runpytest_subprocess("-n", "2", "--neurospec-devices=cpu,cpu",
                                           "--neurospec-json=x.json", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
    records = json.loads((pytester.path / "x.json").read_text())["records"]
    assert sorted(r["unit"] for r in records) == ["L0N12", "L0N125", "L0N150", "L0N7"]
    assert {r["model"]["device"] for r in records} == {"cpu"}


def test_xdist_workers_share_the_cores_instead_of_each_taking_all(monkeypatch):
    from neurospec.plugin.plugin import worker_threads

    monkeypatch.setattr("os.cpu_count", lambda: 16)
    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT", raising=False)
    assert worker_threads() is None  # no xdist: torch's default
    for workers, threads in [("2", 8), ("4", 4), ("16", 1), ("32", 1)]:
        monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", workers)
        assert worker_threads() == threads
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "x")
    assert worker_threads() is None


def test_each_xdist_worker_runs_its_share_of_threads(pytester):
    pytest.importorskip("xdist")
    import os

    pytester.makepyfile(test_inner='''
        import torch

        def test_threads():
            assert torch.get_num_threads() == max(1, OS_CORES // 2)
    '''.replace("OS_CORES", str(os.cpu_count() or 1)))
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
