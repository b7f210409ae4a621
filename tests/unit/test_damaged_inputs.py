"""Bad input gets a clear error, never a raw traceback (issue 26, items 6 and 7): damaged
results files of every kind, bounds on the CLI's numbers, ``neurospec init`` into a folder
it cannot fill, corpus files by their format whatever the suffix's case, separators as
documented, and true/false settings of an SAE's config read strictly."""

from __future__ import annotations

import copy
import json
import os
import random
from pathlib import Path

import pytest

from neurospec.cli import main
from neurospec.evidence.jsonio import write_results
from neurospec.report.samples import sample_records

WRONG = [None, 1, -1, 1.5, "x", "nan", [], {}, [1, 2], {"a": 1}, True, "<b>", [None],
         {"sets": "x"}, [[1]], "\u202e"]


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:3]):
            yield from _paths(v, prefix + (i,))


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("results") / "good.json"
    write_results(path, sample_records(8, columns=("step150", "step3000")),
                  meta={"complete": True, "collected": ["t.py::a"]})
    return path, json.loads(path.read_text())


def _damaged(doc: dict, rng: random.Random) -> tuple[dict, str]:
    d = copy.deepcopy(doc)
    path = rng.choice([p for p in _paths(doc) if p])
    target = d
    for k in path[:-1]:
        target = target[k]
    if isinstance(target, dict) and rng.random() < 0.25:
        del target[path[-1]]
        return d, f"del {path}"
    value = rng.choice(WRONG)
    target[path[-1]] = value
    return d, f"{path} = {value!r}"


def test_every_damaged_results_file_is_read_rendered_or_refused_clearly(good, tmp_path, capsys):
    """Any field of any record, chart, detail or the meta set to a wrong type or removed:
    summary, report and compare either work or exit 2 with a message naming the file."""
    base, doc = good
    rng = random.Random(7)
    bad = tmp_path / "bad.json"
    refused = 0
    for _ in range(250):
        damaged, what = _damaged(doc, rng)
        bad.write_text(json.dumps(damaged))
        for args in (["summary", str(bad)], ["report", str(bad), "-o", str(tmp_path / "p.html")],
                     ["compare", str(base), str(bad)], ["compare", str(bad), str(base)]):
            rc = main(args)  # a raw exception fails the test, naming the damage below
            err = capsys.readouterr().err
            assert rc in (0, 1, 2), (what, args, rc)
            if rc == 2:
                refused += 1
                assert "bad.json" in err and "neurospec: error:" in err, (what, err)
    assert refused > 100  # most damage is refused, not rendered as if nothing happened


@pytest.mark.parametrize("text", ['{"schema": "neurospec.results/2", "records": {}}',
                                  '{"schema": "neurospec.results/2", "records": [], "meta": []}',
                                  '[]', '{"schema": "neurospec.results/2"}', "{", "",
                                  '{"schema": ["neurospec.results/2"], "records": []}'])
def test_truncated_or_misshapen_files_are_refused(tmp_path, capsys, text):
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    assert main(["summary", str(bad)]) == 2
    assert "bad.json" in capsys.readouterr().err


def test_report_sample_is_bounded(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["report", "--sample", "2000000", "-o", str(tmp_path / "x.html")])
    assert info.value.code == 2
    assert "give at most 20000 records" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()


def test_report_never_overwrites_another_page(tmp_path, capsys):
    page = tmp_path / "mine.html"
    page.write_text("<html>my notes</html>")
    assert main(["report", "--sample", "2", "-o", str(page)]) == 2
    assert "exists and is not a neurospec or pytest-html report" in capsys.readouterr().err
    assert page.read_text() == "<html>my notes</html>"
    fresh = tmp_path / "fresh.html"
    assert main(["report", "--sample", "2", "-o", str(fresh)]) == 0
    assert main(["report", "--sample", "3", "-o", str(fresh)]) == 0  # its own kind: replaced


@pytest.mark.parametrize("make, message", [
    (lambda d: (d / "data").write_text("x"), "data is a file, but the starter project needs "
                                             "a folder there"),
    (lambda d: os.symlink("/nonexistent-neurospec-target", d / "hypotheses"),
     "hypotheses is a symbolic link"),
    (lambda d: os.symlink("/nonexistent-neurospec-target.toml", d / "pyproject.toml"),
     "not overwriting"),
])
def test_init_refuses_what_it_cannot_fill_inside_the_project(tmp_path, capsys, make, message):
    make(tmp_path)
    assert main(["init", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
    assert not Path("/nonexistent-neurospec-target").exists()
    assert not (tmp_path / "hypotheses" / "test_german_neuron.py").exists() or \
        not (tmp_path / "hypotheses").is_symlink()


def test_corpus_files_are_read_by_format_whatever_the_suffix_case(tmp_path):
    from neurospec.data.corpus import Corpus, load_corpus
    from neurospec.errors import DatasetError

    (tmp_path / "x.JSONL").write_text('{"text": "one doc"}\n{"text": "two doc"}\n')
    assert Corpus.from_file(tmp_path / "x.JSONL").texts == ("one doc", "two doc")
    assert load_corpus("x", [tmp_path]).texts == ("one doc", "two doc")
    (tmp_path / "y.Txt").write_text("first doc\n  \nsecond doc\n\t\nthird\nstill third\n")
    assert Corpus.from_file(tmp_path / "y.Txt").texts == ("first doc", "second doc",
                                                           "third\nstill third")
    (tmp_path / "z.csv").write_text("a,b\n")
    with pytest.raises(DatasetError, match=r"\.jsonl .* or \.txt .*not \.csv"):
        Corpus.from_file(tmp_path / "z.csv")
    with pytest.raises(DatasetError, match="is 300 characters long"):
        load_corpus("g" * 300, [tmp_path])


@pytest.mark.parametrize("value, expected", [(False, False), ("false", False), ("True", True),
                                             (True, True)])
def test_sae_flags_are_read_strictly(tmp_path, value, expected):
    from neurospec.measure.sae_formats import _flag

    assert _flag({"apply_b_dec_to_input": value}, "apply_b_dec_to_input", True, tmp_path) \
        is expected


@pytest.mark.parametrize("value", ["no", 0, 1, None, [], "yes"])
def test_sae_flags_that_are_not_true_or_false_are_refused(tmp_path, value):
    from neurospec.errors import CheckpointError
    from neurospec.measure.sae_formats import _flag

    with pytest.raises(CheckpointError, match="must be true or false"):
        _flag({"apply_b_dec_to_input": value}, "apply_b_dec_to_input", True, tmp_path)
