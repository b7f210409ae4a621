"""The hub path, for real and offline: a Hugging Face cache in the hub's own layout holds a tiny
random GPT-NeoX saved under ``EleutherAI/pythia-70m``'s name, so ``load_model("pythia-70m")``
and the seed claims in ``hypotheses/test_pythia70m_german_neuron.py`` go through the hub
library's cache lookup with ``HF_HUB_OFFLINE=1`` and every socket blocked. The numbers are
meaningless (random weights); what is tested is that the claims run instead of skipping."""

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from neurospec.bundled import bundled

ROOT = Path(__file__).resolve().parents[2]
COMMIT = "0123456789abcdef0123456789abcdef01234567"

NO_NETWORK = textwrap.dedent('''
    import socket
    def refuse(*args, **kwargs):
        raise OSError("network blocked by the test")
    socket.socket.connect = socket.socket.connect_ex = refuse
    socket.create_connection = socket.getaddrinfo = refuse
''')


def _hub_cache(root: Path) -> Path:
    """``root/hub`` laid out as huggingface_hub writes it: refs/main names a snapshot whose
    files are symlinks into blobs/."""
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    tok_dir = bundled("models") / "tiny-bilingual"
    vocab = json.loads((tok_dir / "config.json").read_text())["vocab_size"]
    config = GPTNeoXConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=6,
                           num_attention_heads=4, intermediate_size=2048,
                           max_position_embeddings=128, use_parallel_residual=True)
    saved = root / "saved"
    GPTNeoXForCausalLM(config).save_pretrained(saved, safe_serialization=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tok_dir / name, saved / name)
    repo = root / "hub" / "models--EleutherAI--pythia-70m"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    snapshot, blobs = repo / "snapshots" / COMMIT, repo / "blobs"
    snapshot.mkdir(parents=True)
    blobs.mkdir()
    for i, f in enumerate(sorted(saved.iterdir())):
        blob = blobs / f"blob{i}"
        shutil.copy(f, blob)
        (snapshot / f.name).symlink_to(Path("..", "..", "blobs", blob.name))
    return root / "hub"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    return _hub_cache(tmp_path_factory.mktemp("hf"))


def _env(hub: Path) -> dict:
    return {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(hub), "HF_HOME": str(hub.parent),
            "PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(p for p in sys.path if p),
            "OMP_NUM_THREADS": "1"}


def test_load_model_by_hub_name_from_the_cache(hub):
    code = NO_NETWORK + textwrap.dedent('''
        from neurospec.models import load_model
        m = load_model("pythia-70m", device="cpu")
        print("RESULT", m.name, m.n_layers, m.d_mlp, m.source)
    ''')
    proc = subprocess.run([sys.executable, "-c", code], env=_env(hub), capture_output=True,
                          text=True, timeout=300)
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT")]
    assert line, proc.stdout + proc.stderr
    assert line[0].split()[1:5] == ["pythia-70m", "6", "2048", "EleutherAI/pythia-70m"]


@pytest.mark.slow
def test_seed_claims_run_on_the_cached_hub_model(hub, tmp_path):
    out = tmp_path / "run.json"
    (tmp_path / "conftest.py").write_text(NO_NETWORK)
    shutil.copy(ROOT / "hypotheses" / "test_pythia70m_german_neuron.py", tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path),
         f"--neurospec-json={out}", "--device", "cpu"],
        env=_env(hub), capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert out.is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]
    records = json.loads(out.read_text())["records"]
    assert "skipped" not in proc.stdout.splitlines()[-1], proc.stdout[-2000:]
    assert records, proc.stdout[-2000:]
    assert {r["model"]["name"] for r in records} == {"pythia-70m"}
    assert {r["outcome"] for r in records} <= {"passed", "failed", "xfailed"}
