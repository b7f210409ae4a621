"""Every results file records what produced it; compare warns when two runs differ in it."""

import platform

from neurospec.cli import main
from neurospec.evidence.environment import KEYS, differences, environment
from neurospec.evidence.jsonio import write_results
from neurospec.report.samples import sample_records


def test_environment_records_versions_device_and_dtype():
    import torch
    import transformers

    env = environment([{"device": "cpu", "dtype": "float32"},
                       {"device": "cuda:0", "dtype": "float32"}])
    assert set(env) == set(KEYS)
    assert env["python"] == platform.python_version()
    assert env["torch"] == torch.__version__ and env["transformers"] == transformers.__version__
    assert env["transformer_lens"][0].isdigit() and env["neurospec"][0].isdigit()
    assert (env["device"], env["dtype"]) == ("cpu, cuda:0", "float32")
    assert environment()["device"] == "none measured"


def test_differences_name_each_changed_entry():
    a = environment([{"device": "cpu", "dtype": "float32"}])
    assert differences(a, dict(a)) == []
    b = {**a, "torch": "9.9.9", "dtype": "bfloat16"}
    assert differences(a, b) == [f"torch: {a['torch']} -> 9.9.9", "dtype: float32 -> bfloat16"]
    assert differences({}, a)[0] == f"python: not recorded -> {a['python']}"


def test_compare_says_at_the_top_when_environments_differ(tmp_path, capsys):
    records = sample_records(4)
    env = environment([{"device": "cpu", "dtype": "float32"}])
    write_results(tmp_path / "a.json", records, meta={"environment": env})
    write_results(tmp_path / "b.json", records, meta={"environment": env})
    main(["compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    assert "differ in their environment" not in capsys.readouterr().out
    write_results(tmp_path / "c.json", records,
                  meta={"environment": {**env, "transformers": "0.0.1"}})
    main(["compare", str(tmp_path / "a.json"), str(tmp_path / "c.json")])
    out = capsys.readouterr().out
    head = out.split("|")[0]  # before the first table
    assert "differ in their environment" in head
    assert f"transformers: {env['transformers']} -> 0.0.1" in head
