"""The fixture build scripts (fixtures/build/): the held-out data reproduces byte for byte from
the Debian packages (skips without the package cache), and the model and SAE builders run end
to end on a tiny synthetic corpus in a few seconds."""

import hashlib
import importlib.util
import json
import random
import sys
from pathlib import Path

import pytest

BUILD = Path(__file__).resolve().parents[2] / "fixtures" / "build"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"fixture_build_{name}", BUILD / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus_mod():
    return _load("corpus")


def test_heldout_data_reproduces_byte_identically(corpus_mod, tmp_path):
    missing = [s.file for s in corpus_mod.SOURCES if not (corpus_mod.CACHE_DIR / s.file).exists()]
    if missing:
        pytest.skip(f"Debian packages not cached in {corpus_mod.CACHE_DIR} ({', '.join(missing)}); "
                    f"run `python fixtures/build/corpus.py` once where apt-get reaches a mirror")
    built = corpus_mod.build()
    assert {k: len(v) for k, v in built.train.items()} == {"german": 17705, "english": 12881}
    expected = corpus_mod.expected_heldout_sha256()
    for lang in corpus_mod.LANGUAGES:
        written = corpus_mod.write_jsonl(tmp_path / f"{lang}.jsonl", built.heldout[lang])
        assert written == expected[lang]
        shipped = corpus_mod.DATA_DIR / f"{lang}.jsonl"
        assert hashlib.sha256(shipped.read_bytes()).hexdigest() == expected[lang]


def test_cleaning_rules(corpus_mod):
    assert corpus_mod.clean("\t*__\b\bUN*lucky \n") == "*_UN*lucky"
    docs = corpus_mod.documents("english", {"b": "x" * 50 + "\n%\nshort\n%\n" + "x" * 50,
                                            "a": "%\n%\n" + "y" * 45 + "\n"})
    assert [d.id for d in docs] == ["en/a/1", "en/b/0"]


def _synthetic_corpus(corpus_mod, folder: Path, train: int = 40, held: int = 8) -> None:
    rng = random.Random(0)
    words = {"german": "der die das und nicht ist ein mit sich auch über schön Straße".split(),
             "english": "the and of to is in that it with as for was on be".split()}
    for lang in corpus_mod.LANGUAGES:
        docs = [corpus_mod.Document(f"{lang[:2]}/synthetic/{i}", "synthetic",
                                    " ".join(rng.choice(words[lang]) for _ in range(30)))
                for i in range(train + held + train // 2)]
        corpus_mod.write_jsonl(folder / f"train_{lang}.jsonl", docs[:train])
        corpus_mod.write_jsonl(folder / f"{lang}.jsonl", docs[train:train + held])
        corpus_mod.write_jsonl(folder / f"train_{lang}_manpages.jsonl", docs[train + held:])


@pytest.mark.slow
def test_model_and_sae_builders_run_on_a_tiny_corpus(corpus_mod, tmp_path):
    pytest.importorskip("transformers")
    data, model_dir, sae_dir = tmp_path / "data", tmp_path / "model", tmp_path / "saes"
    _synthetic_corpus(corpus_mod, data)
    build_model = _load("build_tiny_bilingual")
    assert build_model.main(["--corpus", str(data), "--out", str(model_dir), "--steps", "4",
                             "--total-steps", "20", "--vocab", "300", "--max-seeds", "1"]) == 0
    manifest = json.loads((model_dir / "MANIFEST.json").read_text())
    assert manifest["train_documents"] == {"german": 40, "german_manpages": 20,
                                           "english": 40, "english_manpages": 20}
    assert manifest["train_tokens"]["german_manpages"] > 0
    assert set(manifest["checkpoints"]) == {"step1", "step4"}
    assert manifest["german_neuron"]["unit"].startswith("L")
    assert len(manifest["german_neuron"]["random_neurons"]) == 20
    for rel, digest in manifest["files"].items():
        assert hashlib.sha256((model_dir / rel).read_bytes()).hexdigest() == digest
    assert (model_dir / "checkpoints/step4/tokenizer.json").read_bytes() == \
        (model_dir / "tokenizer.json").read_bytes()

    build_saes = _load("build_tiny_saes")
    assert build_saes.main(["--model", str(model_dir), "--corpus", str(data), "--out",
                            str(sae_dir), "--steps", "5", "--docs", "20", "--d-sae", "64"]) == 0
    from neurospec.measure.sae import load_sae

    sae = load_sae(sae_dir / "L1")
    assert (sae.d_in, sae.d_sae) == (256, 64)
    assert json.loads((sae_dir / "MANIFEST.json").read_text())["saes"]["L0"]["train_tokens"] > 0


def test_layers_override_the_recipe(corpus_mod, tmp_path):
    pytest.importorskip("transformers")
    data, model_dir = tmp_path / "data", tmp_path / "model"
    _synthetic_corpus(corpus_mod, data)
    build_model = _load("build_tiny_bilingual")
    assert build_model.main(["--corpus", str(data), "--out", str(model_dir), "--steps", "2",
                             "--total-steps", "20", "--vocab", "300", "--max-seeds", "1",
                             "--layers", "3", "--no-search"]) == 0
    manifest = json.loads((model_dir / "MANIFEST.json").read_text())
    assert manifest["hyperparameters"]["layers"] == 3
    assert json.loads((model_dir / "config.json").read_text())["num_hidden_layers"] == 3


def test_the_default_command_builds_the_shipped_model_s_recipe():
    """`build_tiny_bilingual.py` with no options trains what MANIFEST.json records (recipe,
    first seed, layers, steps, ...), so the README's rebuild command is the shipped model's;
    only how many seeds it may go on to try is the command's own."""
    module = _load("build_tiny_bilingual")
    shipped = json.loads((module.FIXTURE / "MANIFEST.json").read_text())["hyperparameters"]
    default = module.hyperparameters(module.parser().parse_args([]))
    assert {k: v for k, v in default.items() if k != "max_seeds"} == \
        {k: v for k, v in shipped.items() if k != "max_seeds"}
    assert shipped["seed"] == json.loads((module.FIXTURE / "MANIFEST.json").read_text())["seed"]
    v1 = module.hyperparameters(module.parser().parse_args(["--recipe", "v1"]))
    assert (v1["recipe"], v1["seed"]) == ("v1", 0)


def test_builders_refuse_to_overwrite_the_shipped_fixtures():
    for name, _fixture in [("build_tiny_bilingual", "models"), ("build_tiny_saes", "saes"),
                           ("build_tiny_transcoders", "transcoders")]:
        module = _load(name)
        with pytest.raises(SystemExit):
            module.main(["--out", str(module.FIXTURE), "--steps", "1"])


@pytest.mark.slow
def test_the_transcoders_rebuild_byte_identically(tmp_path):
    """The shipped transcoders (weights, configs and manifest with its quality numbers) are
    what their build script writes: about 40 s on one core (seeded, one thread, CPU)."""
    import torch

    module = _load("build_tiny_transcoders")
    threads = torch.get_num_threads()
    try:
        assert module.main(["--out", str(tmp_path)]) == 0
    finally:
        torch.set_num_threads(threads)  # the script runs on one thread
    shipped = sorted(p.relative_to(module.FIXTURE) for p in module.FIXTURE.rglob("*")
                     if p.is_file())
    assert shipped == sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    for rel in shipped:
        assert (tmp_path / rel).read_bytes() == (module.FIXTURE / rel).read_bytes(), rel


@pytest.fixture(scope="module")
def genres_mod():
    _load("corpus")
    _load("manpages")
    return _load("genres")


@pytest.fixture(scope="module")
def manpage_corpus_mod(genres_mod):
    return _load("manpage_corpus")


def test_shipped_genre_corpora_match_their_manifest(genres_mod, manpage_corpus_mod):
    recorded = json.loads(genres_mod.DATA_MANIFEST.read_text())["files"]
    assert set(recorded) == {f"{g.name}.jsonl" for g in genres_mod.GENRES} | {
        f"{name}.jsonl" for name in manpage_corpus_mod.UNSEEN.values()}
    for name, entry in recorded.items():
        lines = (genres_mod.DATA_DIR / name).read_text("utf-8").splitlines()
        assert hashlib.sha256((genres_mod.DATA_DIR / name).read_bytes()).hexdigest() == \
            entry["sha256"], name
        assert len(lines) == entry["documents"] == genres_mod.DOCS
        assert entry["source"]["licence"] and len(entry["source"]["sha256"]) == 64
        for line in lines:
            text = json.loads(line)["text"]
            assert genres_mod.manpages.language_vote(text) == entry["language"], (name, text)


def test_genre_corpora_reproduce_byte_identically(genres_mod, tmp_path):
    cache = genres_mod.corpus_mod.CACHE_DIR
    missing = [s.file for s in genres_mod.SOURCES if not (cache / s.file).exists()]
    if missing:
        pytest.skip(f"Debian packages not cached in {cache} ({', '.join(missing)}); run "
                    f"`python fixtures/build/genres.py` once where apt-get reaches a mirror")
    assert genres_mod.main(["--cache", str(cache)]) == 0


def test_manpage_training_corpus_reproduces_and_never_contains_a_test_document(
        manpage_corpus_mod, tmp_path):
    mc = manpage_corpus_mod
    missing = [s.file for s in mc.sources() if not (mc.corpus_mod.CACHE_DIR / s.file).exists()]
    if missing:
        pytest.skip(f"Debian packages not cached ({', '.join(missing)}); run "
                    f"`python fixtures/build/manpage_corpus.py` once where apt-get reaches a "
                    f"mirror")
    built = mc.build()
    recorded = json.loads(mc.genres.DATA_MANIFEST.read_text())["files"]
    tests = mc.test_texts()
    assert len(tests) > 3000  # every test corpus was read
    for lang, name in mc.UNSEEN.items():
        digest = mc.corpus_mod.write_jsonl(tmp_path / f"{name}.jsonl", built.unseen[lang])
        assert digest == recorded[f"{name}.jsonl"]["sha256"]
        assert len(built.train[lang]) > 5000
        assert not {mc.normalise(d.text) for d in built.train[lang]} & tests
    # sections 5 and 7 are held out whole: no training paragraph comes from them
    assert not any(d.id.split("/")[1].rsplit(".", 1)[-1][:1] in mc.HELD_OUT_SECTIONS
                   for lang in built.train for d in built.train[lang])


def test_manpage_paragraph_rules(genres_mod):
    man = genres_mod.manpages
    roff = "\n".join([
        '.\\" a comment', '.TH CRON 8 "2020"', ".SH BESCHREIBUNG",
        "Der \\fBcron\\fP\\-Daemon liest \\(Fo/etc/crontab\\(Fc", "und startet Befehle.",
        ".PP", ".BR crontab (5)", "beschreibt das Format.", ".TP", "\\fB\\-f\\fP",
        "Im Vordergrund bleiben.", ".nf", "code that is dropped", ".fi", "", "Nach der Leerzeile."])
    assert man.paragraphs(roff) == [
        "Der cron-Daemon liest «/etc/crontab» und startet Befehle.",
        "crontab(5) beschreibt das Format.", "Im Vordergrund bleiben.", "Nach der Leerzeile."]
    assert man.language_vote("Der Daemon ist nicht mit der Datei und dem Befehl") == "german"
    assert man.language_vote("The daemon is not in the file and the command") == "english"
    assert man.language_vote("Le démon est dans le fichier et la commande") == "french"
    assert man.language_vote("cron crontab 5 8") is None  # no function words: no language


def test_generalisation_checks_run_on_the_shipped_model(tmp_path):
    pytest.importorskip("transformers")
    checker = _load("check_generalisation")
    out = tmp_path / "checks.json"
    code = checker.main(["--max-docs", "20", "--out", str(out)])
    result = json.loads(out.read_text())
    assert code == (0 if result["passes"] else 1)
    shipped = json.loads((checker.MODEL / "MANIFEST.json").read_text())["german_neuron"]
    assert result["unit"] == shipped["unit"] and set(result["genres"]) == {
        "fortunes", "manpages_unseen_pages", "manpages_held_out_sections"}
    fortunes = result["genres"]["fortunes"]
    assert fortunes["token_auroc"] > 0.8 and fortunes["delta_loss_german"] > 0
    assert fortunes["ci_german"][0] <= fortunes["delta_loss_german"] <= fortunes["ci_german"][1]
    assert len(fortunes["random_neurons"]) == 20
    assert set(result["controls"]) == set(checker.CONTROLS)
    assert all(0 <= row["token_auroc"] <= 1 for row in result["controls"].values())
