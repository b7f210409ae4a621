import pytest

from neurospec.data.corpus import Corpus, load_corpus
from neurospec.errors import DatasetError


def test_jsonl_and_txt(tmp_path):
    (tmp_path / "a.jsonl").write_text(
        '{"text": "Hallo Welt", "id": "x1"}\n\n{"text": "Guten Tag"}\n')
    (tmp_path / "b.txt").write_text("one doc\nstill one\n\nsecond doc\n")
    a = load_corpus("a", [tmp_path])
    assert a.texts == ("Hallo Welt", "Guten Tag") and a.ids[0] == "x1"
    b = load_corpus("b", [tmp_path])
    assert b.texts == ("one doc\nstill one", "second doc")
    assert a.hash != b.hash and len(a.hash) == 16
    assert Corpus.from_texts(["Hallo Welt", "Guten Tag"]).hash == a.hash


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(DatasetError, match="no dataset named 'nope'.*available"):
        load_corpus("nope", [tmp_path])
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(DatasetError, match="is empty"):
        load_corpus("empty", [tmp_path])
    (tmp_path / "bad.jsonl").write_text('{"txt": 1}\n')
    with pytest.raises(DatasetError, match=r"bad.jsonl:1 .*'text' field"):
        load_corpus("bad", [tmp_path])
    with pytest.raises(DatasetError, match="one string"):
        Corpus.from_texts("just one string")


def test_bundled_datasets_are_found():
    assert len(load_corpus("german")) >= 100
    assert len(load_corpus("english")) >= 100
