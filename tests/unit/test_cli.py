import json

import pytest

from neurospec.cli import main
from neurospec.errors import OutputError
from neurospec.evidence.jsonio import read_results, write_results
from neurospec.evidence.record import Record


def _record(verdict="pass") -> Record:
    return Record(claim="L0N1 activates more on a than on b by >= 0.1", kind="activation_contrast",
                  unit="L0N1", model={"name": "m", "fingerprint": "f", "prepend_bos": True,
                                      "dtype": "float32", "compatibility_mode": False,
                                      "checkpoint": None},
                  data={"names": ["a", "b"], "hashes": ["1", "2"]}, n=20, effect=0.3,
                  ci=(0.2, 0.4), p=0.001, threshold=0.1, direction=">=", metric="mean_diff",
                  verdict=verdict, seed=0)


def test_results_round_trip_and_cli(tmp_path, capsys):
    path = tmp_path / "run.json"
    write_results(path, [_record(), _record("fail")])
    assert read_results(path)[1].verdict == "fail"
    assert main(["summary", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2 claim checks" in out and "| fail |" in out
    assert main(["report", str(path), "-o", str(tmp_path / "p.html")]) == 0
    assert "ns-card" in (tmp_path / "p.html").read_text()


def test_other_schema_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"schema": "neurospec.results/0", "records": []}))
    assert main(["summary", str(path)]) == 2
    assert "re-run the suite" in capsys.readouterr().err


def test_atomic_write_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "run.json"
    write_results(path, [_record()])
    before = path.read_text()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(OutputError, match="disk full"):
        write_results(path, [_record(), _record()])
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_compare_refuses_another_schema(tmp_path, capsys):
    ok, other = tmp_path / "ok.json", tmp_path / "new.json"
    write_results(ok, [_record()])
    other.write_text(json.dumps({"schema": "neurospec.results/99", "records": []}))
    assert main(["compare", str(other), str(ok)]) == 2
    assert ("has schema 'neurospec.results/99', but this neurospec reads "
            "'neurospec.results/1' and 'neurospec.results/2'" in capsys.readouterr().err)
    assert main(["compare", str(ok), str(ok)]) == 0
    assert "0 newly failing" in capsys.readouterr().out


def test_report_of_sample_records(tmp_path):
    out = tmp_path / "s.html"
    assert main(["report", "--sample", "7", "-o", str(out)]) == 0
    assert out.read_text().count('class="ns-card') == 7
