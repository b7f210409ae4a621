"""``neurospec agree``: two runs of one suite (two backends, devices), number by number."""

from dataclasses import replace

from neurospec.cli import main
from neurospec.evidence.jsonio import write_results
from neurospec.report.samples import sample_records


def test_the_same_records_on_another_backend_agree(tmp_path, capsys):
    base = sample_records(6)
    head = [replace(r, model={**r.model, "backend": "nnsight", "remote": "local simulation",
                              "nnsight": "0.8.1"}) for r in base]
    write_results(tmp_path / "a.json", base)
    write_results(tmp_path / "b.json", head)
    assert main(["agree", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 0
    assert "0 claims disagree" in capsys.readouterr().out


def test_a_moved_number_or_verdict_disagrees_and_fails(tmp_path, capsys):
    base = sample_records(6)
    head = list(base)
    head[0] = replace(head[0], effect=head[0].effect + 0.5)
    head[1] = replace(head[1], verdict="fail" if head[1].verdict == "pass" else "pass")
    write_results(tmp_path / "a.json", base)
    write_results(tmp_path / "b.json", head)
    assert main(["agree", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 1
    out = capsys.readouterr().out
    assert "2 claims disagree" in out and "effect" in out and "verdict" in out


def test_an_empty_run_agrees_with_nothing(tmp_path, capsys):
    write_results(tmp_path / "a.json", sample_records(3))
    write_results(tmp_path / "b.json", [])
    assert main(["agree", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 1
