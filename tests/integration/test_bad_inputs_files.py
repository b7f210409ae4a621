"""Bad files and names (issue 14): nothing is silently substituted, every bad value is a
``NeurospecError`` that names the file or value and the fix, and checks run before memory
is allocated.  Plugin-level cases are in ``tests/plugin/test_bad_inputs_options.py``.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import tracemalloc
from pathlib import Path

import pytest

from neurospec.cli import main
from neurospec.data.corpus import Corpus, load_corpus
from neurospec.data.tokens import encode_cut, tokenize
from neurospec.errors import CheckpointError, DatasetError, InvalidUnit, OutputError
from neurospec.evidence.jsonio import atomic_write_text, write_results
from neurospec.evidence.record import Record
from neurospec.measure.sae import load_sae
from neurospec.models import load_model
from neurospec.models.checkpoint import inspect_folder
from neurospec.units import parse_unit

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "fixtures" / "models" / "tiny-bilingual"
SAES = ROOT / "fixtures" / "saes" / "tiny-bilingual"


def _copy_model(tmp_path: Path, keep_manifest: bool = False) -> Path:
    dest = tmp_path / "model"
    ignore = ("checkpoints",) if keep_manifest else ("checkpoints", "MANIFEST.json")
    shutil.copytree(TINY, dest, ignore=shutil.ignore_patterns(*ignore))
    return dest


def _rewrite_header(path: Path, change) -> None:
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    new = json.dumps(change(header), separators=(",", ":")).encode().ljust(n)  # same length: offsets stay valid
    assert len(new) == n
    path.write_bytes(data[:8] + new + data[8 + n:])


# -- names and data files -------------------------------------------------------------


def test_units_parse_ascii_digits_only():
    with pytest.raises(InvalidUnit, match="not a unit name"):
        parse_unit("L0N\u0662\u0663\u0660")  # Arabic-Indic 230
    assert parse_unit("L0N230").index == 230


@pytest.mark.parametrize("name", ["../german", "/etc/passwd", "fixtures/data/german.jsonl",
                                  "..\\german", ".hidden"])
def test_a_path_is_not_a_dataset_name(name):
    with pytest.raises(DatasetError, match=r"is a path, not a name.*Corpus\.from_file"):
        load_corpus(name)


def test_explicit_constructor_loads_a_file(tmp_path):
    f = tmp_path / "mine.jsonl"
    f.write_text('{"text": "Hallo Welt"}\n')
    c = Corpus.from_file(f)
    assert c.texts == ("Hallo Welt",) and c.origin()["sha256"] == c.file_hash


def test_same_name_in_two_folders_names_both_files(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "mine.jsonl").write_text('{"text": "eins"}\n')
    (b / "mine.txt").write_text("zwei\n")
    with pytest.raises(DatasetError, match=r"defined twice: .*a/mine\.jsonl and .*b/mine\.txt"):
        load_corpus("mine", [a, b])
    (a / "german.jsonl").write_text('{"text": "eins"}\n')  # shadows the bundled set
    with pytest.raises(DatasetError, match=r"german\.jsonl and .*fixtures/data/german\.jsonl"):
        load_corpus("german", [a])
    assert load_corpus("german", [ROOT / "fixtures" / "data"]).name == "german"  # same folder


def test_corpus_records_its_file_and_hash(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    german = load_corpus("german")
    assert german.origin() == {"file": "fixtures/data/german.jsonl",
                               "sha256": german.file_hash}
    import hashlib

    raw = (ROOT / "fixtures/data/german.jsonl").read_bytes()
    assert german.file_hash == hashlib.sha256(raw).hexdigest()[:16]
    assert german.subset(10).origin() == german.origin()
    assert Corpus.from_texts(["a b"]).origin() == {"file": "inline", "sha256": None}


def test_txt_with_bom_and_crlf(tmp_path):
    (tmp_path / "bom.txt").write_bytes("\ufeffErstes Dokument\r\n\r\nZweites".encode())
    (tmp_path / "bomj.jsonl").write_bytes('\ufeff{"text": "Hallo"}\n'.encode())
    assert load_corpus("bom", [tmp_path]).texts == ("Erstes Dokument", "Zweites")
    assert load_corpus("bomj", [tmp_path]).texts == ("Hallo",)


@pytest.mark.parametrize("args, match", [((-1,), r"subset\(n=-1\).*>= 1"),
                                         ((0,), r"subset\(n=0\)"),
                                         ((2.5,), r"subset\(n=2.5\)"),
                                         ((True,), r"subset\(n=True\)"),
                                         ((1, -3), r"subset\(start=-3\).*>= 0"),
                                         ((1, 99), r"only 2 documents")])
def test_subset_bad_arguments(args, match):
    with pytest.raises(DatasetError, match=match):
        Corpus.from_texts(["a b", "c d"], name="two").subset(*args)


# -- checkpoint files -----------------------------------------------------------------


@pytest.mark.parametrize("change, match", [
    (lambda h: {("gpt_neox.embed_in.weighx" if k == "gpt_neox.embed_in.weight" else k): v
                for k, v in h.items()},
     r"lack or misshape \['gpt_neox.embed_in.weight'\].*random"),
    (lambda h: {**h, "gpt_neox.embed_in.weight": {k.replace("data_offsets", "data_offsetz"): v
                for k, v in h["gpt_neox.embed_in.weight"].items()}},
     r"'gpt_neox.embed_in.weight'.*has no data_offsets"),
    (lambda h: list(h), r"header is a JSON list"),
    (lambda h: {**h, "embed_out.weight": [1, 2]}, r"'embed_out.weight'.*is a JSON list"),
    (lambda h: {**h, "embed_out.weight": {**h["embed_out.weight"], "dtype": "F99"}},
     r"dtype 'F99'"),
    (lambda h: {**h, "embed_out.weight": {**h["embed_out.weight"], "shape": [4096, 64]}},
     r"spans 2097152 bytes but shape \[4096, 64\]"),
])
def test_bad_safetensors_headers_name_file_and_tensor(tmp_path, change, match):
    dest = _copy_model(tmp_path)
    w = dest / "model.safetensors"
    _rewrite_header(w, change)
    with pytest.raises(CheckpointError, match=match) as err:
        load_model(str(dest), device="cpu")
    assert str(dest) in str(err.value)


def test_invalid_config_json_is_not_blamed_on_the_tokenizer(tmp_path):
    dest = _copy_model(tmp_path)
    (dest / "config.json").write_text('{"num_hidden_layers": 2,')
    with pytest.raises(CheckpointError, match=r"config\.json is not valid JSON") as err:
        load_model(str(dest), device="cpu")
    assert "tokenizer" not in str(err.value)
    (dest / "config.json").write_text("[1, 2]")
    with pytest.raises(CheckpointError, match=r"config\.json holds a JSON list"):
        load_model(str(dest), device="cpu")


@pytest.mark.parametrize("key, value, match", [
    ("num_hidden_layers", 1_000_000, r"num_hidden_layers=1000000 but the weights beside it "
                                     r"hold 2 layers"),
    ("num_hidden_layers", -1, r"num_hidden_layers=-1"),
    ("hidden_size", 1_000_000, r"hidden_size=1000000 .* an embedding of 128"),
    ("vocab_size", 10 ** 9, r"vocab_size=1000000000 .* an embedding of 4096"),
    ("intermediate_size", 10 ** 7, r"intermediate_size=10000000 .* no tensor of that size"),
])
def test_config_checked_against_weights_before_allocating(tmp_path, key, value, match):
    dest = _copy_model(tmp_path)
    config = json.loads((dest / "config.json").read_text())
    (dest / "config.json").write_text(json.dumps({**config, key: value}))
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=match):
            load_model(str(dest), device="cpu")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2 ** 20  # refused from the header, not after building the model


def test_bundled_model_is_verified_against_its_manifest(tmp_path):
    dest = _copy_model(tmp_path, keep_manifest=True)
    inspect_folder(dest)  # the copy matches its manifest
    w = dest / "model.safetensors"
    data = bytearray(w.read_bytes())
    data[-100] ^= 0x01  # one flipped bit in tensor data: the header stays valid
    w.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"does not match the sha256 in .*MANIFEST\.json"):
        load_model(str(dest), device="cpu")
    (dest / "MANIFEST.json").unlink()  # a copy changed on purpose
    assert inspect_folder(dest).safetensors == (w,)


def test_invalid_sae_cfg(tmp_path):
    folder = tmp_path / "L0"
    shutil.copytree(SAES / "L0", folder)
    (folder / "cfg.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"cfg\.json is not valid JSON.*SAELens"):
        load_sae(folder)
    (folder / "cfg.json").write_text('{"hook_name": 3}')
    with pytest.raises(CheckpointError, match=r"hook_name=3 is not a hook name"):
        load_sae(folder)


# -- big inputs -----------------------------------------------------------------------


def test_a_huge_document_is_cut_before_tokenising(tiny):
    big = "Der Hund bellt laut. " * 250_000  # 5 MB
    corpus = Corpus.from_texts([big, "Die Katze schläft."], name="huge")
    calls = []
    encode = tiny.encode

    def spy(texts):
        calls.append(max(map(len, texts)))
        return encode(texts)

    tiny.encode = spy
    try:
        tok = tokenize(tiny, corpus)
    finally:
        del tiny.encode
    assert max(calls) < 100_000  # never the whole 5 MB
    whole = encode([big[:200_000]])[0]
    assert tok.docs[0].tolist() == ([tiny.bos_token_id] + whole)[:tiny.n_ctx]
    assert tok.truncated == 1 and len(tok.docs[1]) < tiny.n_ctx


def test_cut_widens_when_a_prefix_has_too_few_tokens():
    class Chars:  # one token per 40 characters: the first cut is too short
        def encode(self, texts):
            return [list(range(len(t) // 40)) for t in texts]

    out = encode_cut(Chars(), ("x" * 1_000_000,), limit=100)
    assert len(out[0]) > 100 + 64


# -- command line -----------------------------------------------------------------------


def _record(**kw) -> dict:
    r = Record(claim="c", kind="activation_contrast", unit="L0N1", model={"name": "m"},
               data={"names": ["a"]}, n=20, effect=0.3, ci=(0.2, 0.4), p=0.001, threshold=0.1,
               direction=">=", metric="mean_diff", verdict="pass", seed=0)
    return {**r.to_dict(), **kw}


@pytest.mark.parametrize("field, value", [("effect", "big"), ("ci", [0.1]), ("verdict", 1),
                                          ("n", "20"), ("model", "m"), ("vacuous", "yes"),
                                          ("p", None)])
def test_compare_on_wrong_field_types_is_a_format_error(tmp_path, capsys, field, value):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    write_results(good, [Record.from_dict(_record())])
    doc = json.loads(good.read_text())
    doc["records"][0][field] = value
    bad.write_text(json.dumps(doc))
    assert main(["compare", str(good), str(bad)]) == 2
    assert main(["compare", str(bad), str(good)]) == 2
    err = capsys.readouterr().err
    assert f"wrong type: {field}=" in err and "record 0" in err


def test_read_only_report_output_names_the_option(tmp_path, capsys, monkeypatch):
    def read_only(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.mkstemp", read_only)  # as a read-only folder does (not root)
    assert main(["report", "--sample", "1", "-o", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "Permission denied" in err
    assert "-o reports/claims.html" in err and "--neurospec-json" not in err


def test_unwritable_step_summary_is_an_error(tmp_path, capsys, monkeypatch):
    good = tmp_path / "good.json"
    write_results(good, [Record.from_dict(_record())])
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path))  # a folder: cannot append
    assert main(["compare", str(good), str(good), "--format", "github"]) == 2
    assert "GITHUB_STEP_SUMMARY=" in capsys.readouterr().err


def test_full_disk_is_an_output_error(tmp_path, monkeypatch):
    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.fsync", full)
    with pytest.raises(OutputError, match="No space left on device.*free space"):
        atomic_write_text(tmp_path / "r.json", "{}")
    assert list(tmp_path.iterdir()) == []


def test_calibrate_refuses_a_negative_seed(capsys):
    from neurospec.calibrate import main as calibrate

    with pytest.raises(SystemExit) as exit_:
        calibrate(["--seed", "-1"])
    assert exit_.value.code == 2
    assert "--seed: '-1': give a whole number in 0 .. 2**32-1" in capsys.readouterr().err


def test_large_corpus_column_pass_equals_the_layer_pass(tiny, small_sets, monkeypatch):
    import numpy as np

    from neurospec.measure import activations
    from neurospec.units import neuron

    de = small_sets[0]
    tiny.cache.clear()
    whole = activations.neuron_activations(tiny, de, neuron("L1N7"))
    tiny.cache.clear()
    monkeypatch.setattr(activations, "LOSSES_WITH_ACTIVATIONS", 0)  # treat it as large
    column = activations.neuron_activations(tiny, de, neuron("L1N7"))
    assert not any(k[0] == "acts" for k in tiny.cache._items)  # no whole-layer pass kept
    assert all(np.array_equal(a, b) for a, b in zip(whole.per_token, column.per_token))
    tiny.cache.clear()


def test_batches_pad_each_row_with_its_last_token(tiny, small_sets):
    tc = tokenize(tiny, small_sets[0])
    seen = set()
    for docs, ids, lengths in tc.batches(300):
        for row, k in enumerate(docs):
            d = tc.docs[k]
            assert lengths[row] == len(d) and ids[row, :len(d)].equal(d)
            assert (ids[row, len(d):] == d[-1]).all()
            seen.add(k)
    assert seen == set(range(len(tc.docs)))


def test_records_bound_what_they_store():
    values = [float(i) for i in range(5000)]
    r = Record.from_dict({**_record(), "charts": {"histogram": {
        "title": "t", "sets": {"big": values, "small": [1.0, 2.0]}}}})
    hist = r.charts["histogram"]
    assert len(hist["sets"]["big"]) == 1000 and hist["sets"]["small"] == [1.0, 2.0]
    assert hist["sets"]["big"][0] == 0.0 and hist["sets"]["big"][-1] == 4999.0
    assert hist["n"] == {"big": 5000} and "1000 quantiles" in hist["title"]
    assert Record.from_dict(r.to_dict()).charts == r.charts  # bounding twice changes nothing


@pytest.mark.parametrize("to", [1e308, -1e39, 10 ** 400, float("nan")])
def test_ablation_value_must_fit_the_model_dtype(tiny, to):
    from neurospec.errors import InvalidArgument
    from neurospec.measure.ablation import make_ablation
    from neurospec.units import neuron

    with pytest.raises(InvalidArgument, match=r"must be finite and fit the model's float32"):
        make_ablation(tiny, neuron("L0N230"), to=to)
    assert make_ablation(tiny, neuron("L0N230"), to=3e38).value == 3e38


def test_views_show_incomplete_runs_and_skipped_tests(tmp_path, capsys):
    path = tmp_path / "run.json"
    write_results(path, [Record.from_dict(_record())], meta={
        "complete": False, "skipped": [{"test": "t.py::test_<img src=x>", "reason": "offline"}]})
    assert main(["summary", str(path)]) == 0
    out = capsys.readouterr().out
    assert "**incomplete run**" in out and "1 skipped" in out
    # the name is escaped prose in the claim cell, and a code span (shown literally) as the test
    assert "| skipped | test\\_\\<img src=x>: offline |" in out
    assert "| `t.py::test_<img src=x>` |" in out
    assert len(re.findall(r"(?<!\\)<img", out)) == 1  # only inside the code span
    assert main(["compare", str(path), str(path)]) == 0
    assert "**incomplete run** (`run.json`)" in capsys.readouterr().out
    page = tmp_path / "p.html"
    assert main(["report", str(path), "-o", str(page)]) == 0
    assert '<p class="ns-incomplete" role="alert"><strong>incomplete run</strong>: ' in \
        page.read_text()
    assert "incomplete run: the results were written before" in capsys.readouterr().out
    other = tmp_path / "other.json"
    write_results(other, [Record.from_dict(_record())], meta={"complete": True})
    assert main(["report", str(other), str(path), "-o", str(page)]) == 0
    assert page.read_text().count('class="ns-incomplete"') == 1
    assert "<strong>incomplete run</strong> (run.json)" in page.read_text()
    capsys.readouterr()
    write_results(path, [Record.from_dict(_record())], meta={"complete": True})
    assert main(["summary", str(path)]) == 0
    assert "incomplete" not in capsys.readouterr().out
    assert main(["report", str(path), "-o", str(page)]) == 0
    assert "class=\"ns-incomplete\"" not in page.read_text()


def test_report_page_caps_its_cards(tmp_path):
    out = tmp_path / "p.html"
    assert main(["report", "--sample", "12", "--max-cards", "5", "-o", str(out)]) == 0
    page = out.read_text()
    assert page.count('class="ns-card') == 5 and "7 of 12 evidence cards not shown" in page
    path = tmp_path / "run.json"
    write_results(path, [Record.from_dict(_record(claim=f"c{i}")) for i in range(3)])
    assert main(["report", str(path), "--max-cards", "1", "-o", str(out)]) == 0
    assert f"2 of 3 evidence cards not shown (the summary above lists every claim; every " \
           f"record is in {path};" in out.read_text()


def test_claim_records_carry_files_and_hashes(tiny, monkeypatch):
    from neurospec import expect
    from neurospec.evidence.sink import collecting

    monkeypatch.chdir(ROOT)
    de, en = load_corpus("german").subset(12), load_corpus("english").subset(12)
    with collecting() as records:
        expect("L0N125", model=tiny).activates_more(on=de, than=en, by_at_least=0.0)
        expect("L0N125", model=tiny).ablated(to="zero").raises_loss(on=de, by_at_least=0.0)
    for r in records:
        assert r.data["files"][0] == {"file": "fixtures/data/german.jsonl", "sha256": de.file_hash}
    assert records[0].data["files"][1]["file"] == "fixtures/data/english.jsonl"


def test_a_huge_integer_threshold_is_an_invalid_argument():
    from neurospec.claims.checks import threshold
    from neurospec.errors import InvalidArgument

    for value in (10 ** 400, 1e400, float("nan")):
        with pytest.raises(InvalidArgument, match="expected a finite number"):
            threshold("by_at_least", value)


def test_encode_equals_the_tokenizer_call(tiny):
    texts = list(load_corpus("german").texts[:50]) + ["<|endoftext|> x", " ", "a\u202eb", "ß" * 300]
    assert tiny.encode(texts) == tiny.tokenizer(texts, add_special_tokens=False)["input_ids"]
