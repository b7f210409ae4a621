"""The example CI workflow stays runnable: its pytest command lines parse and collect, and its
neurospec commands work on results files."""

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from neurospec.cli import main
from neurospec.evidence.jsonio import write_results
from neurospec.report.samples import sample_records

ROOT = Path(__file__).resolve().parents[2]


def _commands() -> list[str]:
    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load((ROOT / "examples/ci/claims.yml").read_text())
    return [" ".join(step["run"].split()) for job in doc["jobs"].values()
            for step in job["steps"] if "run" in step]


def test_pytest_commands_parse_and_collect(tmp_path):
    runs = [c for c in _commands() if c.startswith(".venv/bin/python -m pytest")]
    assert len(runs) == 2
    claims = tmp_path / "test_claims.py"  # stands in for the suite: the options are the point
    claims.write_text("import pytest\npytestmark = pytest.mark.model('tiny-bilingual')\n"
                      "def test_claim():\n    pass\n")
    for command in runs:
        words, args = shlex.split(command)[4:], []
        while words:
            word = words.pop(0)
            if word == "--checkpoint":  # the one option given as two words
                args += [word, words.pop(0)]
            elif word.startswith("-"):
                args.append(word)
            else:
                assert (ROOT / word).exists(), word
        proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                               "-p", "no:cacheprovider", *args, str(claims)], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert "[step3000]" in proc.stdout


def test_neurospec_commands_run(tmp_path, monkeypatch, capsys):
    base, head = tmp_path / "base/run.json", tmp_path / "reports/run.json"
    write_results(base, sample_records(6))
    write_results(head, sample_records(6))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    used = [c for c in _commands() if c.startswith(".venv/bin/neurospec")]
    assert any(" compare " in c for c in used) and any(" summary " in c for c in used)
    for command in used:
        words = shlex.split(command.split(">>")[0])[1:]
        if words[0] == "summary":
            words = ["summary", str(head)]
        assert main(words) == 0
    assert "0 newly failing" in (tmp_path / "summary.md").read_text()


def test_no_step_hides_its_exit_status():
    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load((ROOT / "examples/ci/claims.yml").read_text())
    steps = [step for job in doc["jobs"].values() for step in job["steps"]]
    assert not [s for s in steps if s.get("continue-on-error")]
    assert any("--neurospec-checkpoint-verdict=no-regression" in " ".join(s.get("run", "").split())
               for s in steps)


def test_the_ndif_workflow_commands_parse_and_collect(tmp_path):
    """examples/ci/ndif.yml: the simulated job's and the NDIF job's pytest commands collect
    (the NDIF claims skip here, offline, with their reason)."""
    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load((ROOT / "examples/ci/ndif.yml").read_text())
    runs = [" ".join(step["run"].split()) for job in doc["jobs"].values()
            for step in job["steps"] if "run" in step and "-m pytest" in step["run"]]
    assert len(runs) == 2 and any("--neurospec-remote local" in r for r in runs)
    for command in runs:
        # its outputs go to a temporary folder, not into the checkout's reports/
        args = [a for a in shlex.split(command)[3:]
                if not a.startswith(("--neurospec-json", "--html"))]
        args += [f"--neurospec-json={tmp_path / 'run.json'}", f"--html={tmp_path / 'run.html'}"]
        proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                               "-p", "no:cacheprovider", *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert "tests collected" in proc.stdout or "test collected" in proc.stdout
