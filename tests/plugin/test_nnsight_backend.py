"""The nnsight backend as a user reaches it: ``--neurospec-backend`` / ``--neurospec-remote`` and
the model marker's ``backend=`` / ``remote=``; NDIF without a key, without a network, or with
a connection that breaks, and an API key that must reach no output."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import threading

import pytest

pytest.importorskip("nnsight")

KEY = "ndif-FAKE-KEY-4f1d2c9e7a"

CLAIMS = textwrap.dedent('''
    import pytest
    from neurospec import expect

    pytestmark = pytest.mark.model("tiny-bilingual")

    def test_contrast(corpus):
        expect("L0N125").activates_more(on=corpus("german").subset(12),
                                        than=corpus("english").subset(12), by_at_least=0.0)

    def test_ablation(corpus):
        expect("L0N125").ablated(to="zero").raises_loss(on=corpus("german").subset(12),
                                                        by_at_least=0.0)
''')


def _run(folder, *args, env=None, files=None):
    import os

    for name, text in (files or {"test_claims.py": CLAIMS}).items():
        (folder / name).write_text(text)
    environ = dict(os.environ, NNSIGHT_CONFIG=str(folder / "nnsight.yaml"),
                   HF_HUB_OFFLINE="1", **(env or {}))
    environ.pop("NDIF_API_KEY", None)
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           "--neurospec-json=run.json", *args], cwd=folder, env=environ,
                          capture_output=True, text=True, timeout=900)


def _records(folder):
    return json.loads((folder / "run.json").read_text())["records"]


def test_the_backend_option_runs_the_same_claims_through_nnsight(tmp_path):
    proc = _run(tmp_path, "--neurospec-backend", "nnsight")
    assert proc.returncode == 0, proc.stdout[-3000:]
    recs = _records(tmp_path)
    assert len(recs) == 2 and {r["model"]["backend"] for r in recs} == {"nnsight"}
    assert all(r["model"]["remote"] is None and r["model"]["nnsight"] for r in recs)


def test_the_remote_option_runs_them_through_the_simulation(tmp_path):
    proc = _run(tmp_path, "--neurospec-remote", "local")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert {r["model"]["remote"] for r in _records(tmp_path)} == {"local simulation"}


def test_a_marker_chooses_the_backend_of_its_tests(tmp_path):
    text = CLAIMS.replace('pytest.mark.model("tiny-bilingual")',
                          'pytest.mark.model("tiny-bilingual", backend="nnsight", remote="local")')
    proc = _run(tmp_path, files={"test_claims.py": text})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert {(r["model"]["backend"], r["model"]["remote"]) for r in _records(tmp_path)} == {
        ("nnsight", "local simulation")}


def test_a_marker_with_a_wrong_remote_value_is_a_usage_error(tmp_path):
    text = CLAIMS.replace('pytest.mark.model("tiny-bilingual")',
                          'pytest.mark.model("tiny-bilingual", remote="ndif")')
    proc = _run(tmp_path, files={"test_claims.py": text})
    assert proc.returncode != 0
    assert "remote='ndif'" in proc.stdout + proc.stderr
    assert "True (NDIF), 'local'" in proc.stdout + proc.stderr


NDIF_CLAIMS = textwrap.dedent('''
    import pytest
    from neurospec import expect

    pytestmark = pytest.mark.model("meta-llama/Llama-3.1-8B", remote=True)

    def test_llama_neuron(corpus):
        expect("L15N1234").activates_more(on=corpus("german").subset(12),
                                          than=corpus("english").subset(12), by_at_least=0.0)
''')


def test_no_key_skips_with_the_reason_and_the_fix(tmp_path):
    proc = _run(tmp_path, "-rs", files={"test_ndif.py": NDIF_CLAIMS})
    # skipped, with the reason; and a run that checked nothing is not green
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "1 skipped" in proc.stdout and "no claim was checked" in proc.stdout
    assert "NDIF_API_KEY" in proc.stdout and "login.ndif.us" in proc.stdout


def test_require_models_turns_that_skip_into_a_failure(tmp_path):
    proc = _run(tmp_path, "--neurospec-require-models", files={"test_ndif.py": NDIF_CLAIMS})
    assert proc.returncode == 1
    assert "NDIF_API_KEY" in proc.stdout and "1 error" in proc.stdout


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_no_network_skips_and_the_key_reaches_no_output(tmp_path):
    """A fake key, NDIF at a closed port, verbose and with locals shown in tracebacks: the
    claim skips naming the host, and the key is in no output, results file or report."""
    env = {"NDIF_API_KEY": KEY, "NDIF_HOST": f"http://127.0.0.1:{_closed_port()}"}
    proc = _run(tmp_path, "-rs", "-v", "-l", "--tb=long", "--html=run.html",
                "--self-contained-html", env=env, files={"test_ndif.py": NDIF_CLAIMS})
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "1 skipped" in proc.stdout and "did not answer" in proc.stdout
    for text in (proc.stdout, proc.stderr, (tmp_path / "run.json").read_text(),
                 (tmp_path / "run.html").read_text()):
        assert KEY not in text


class _NotNDIF:
    """A local server that accepts connections and answers every request with an HTTP error
    (a service that breaks mid-run)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.seen: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self.seen.append(conn.recv(65536))
                conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")


BROKEN = textwrap.dedent('''
    import os
    import pytest
    from neurospec import expect, load_model
    from neurospec.models.ndif import Remote

    @pytest.fixture(scope="module")
    def remote_model():
        m = load_model("tiny-bilingual", backend="nnsight")
        # the bundled weights, run as if NDIF hosted them at a server that fails
        m.remote = Remote(mode=True, host=os.environ["NDIF_HOST"])
        m.nn.to_model_key = lambda: ('nnsight.modeling.transformers.TransformersModel:'
                                     '{"repo_id": "EleutherAI/pythia-70m", "revision": "main"}')
        return m

    def test_measured_before(remote_model, corpus):
        remote_model.remote.mode = "local"   # this one gets through
        expect("L0N125", model=remote_model).activates_more(
            on=corpus("german").subset(12), than=corpus("english").subset(12), by_at_least=0.0)
        remote_model.remote.mode = True

    def test_connection_breaks(remote_model, corpus):
        expect("L0N125", model=remote_model).ablated(to="zero").raises_loss(
            on=corpus("german").subset(12), by_at_least=0.0)
''')


def test_a_broken_connection_fails_that_claim_keeps_the_first_and_hides_the_key(tmp_path):
    server = _NotNDIF()
    env = {"NDIF_API_KEY": KEY, "NDIF_HOST": f"http://127.0.0.1:{server.port}"}
    proc = _run(tmp_path, "-v", "-l", "--tb=long", "--html=run.html", "--self-contained-html",
                env=env, files={"test_broken.py": BROKEN})
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "1 passed" in proc.stdout and "1 failed" in proc.stdout
    assert "RemoteFailed" in proc.stdout and "did not finish" in proc.stdout
    recs = {r["test"].split("::")[-1]: r for r in _records(tmp_path)}
    assert recs["test_measured_before"]["verdict"] == "pass"  # kept
    assert recs["test_connection_breaks"]["verdict"] == "error"
    assert "did not finish" in recs["test_connection_breaks"]["missed"]
    assert any(KEY.encode() in req for req in server.seen)  # it was sent, to the server only
    for text in (proc.stdout, proc.stderr, (tmp_path / "run.json").read_text(),
                 (tmp_path / "run.html").read_text()):
        assert KEY not in text


class _Status:
    """A local stand-in for NDIF's /status, listing what it runs."""

    def __init__(self, running: list[str]) -> None:
        import http.server
        import json as _json

        body = _json.dumps({"deployments": {f"{r}:main": {
            "repo_id": r, "application_state": "RUNNING", "deployment_level": "HOT"}
            for r in running}}).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_a_model_ndif_does_not_host_skips_naming_what_it_hosts(tmp_path):
    status = _Status(["openai-community/gpt2", "meta-llama/Llama-3.1-70B"])
    env = {"NDIF_API_KEY": KEY, "NDIF_HOST": f"http://127.0.0.1:{status.port}"}
    proc = _run(tmp_path, "-rs", env=env, files={"test_ndif.py": NDIF_CLAIMS})
    status.server.shutdown()
    assert "1 skipped" in proc.stdout, proc.stdout[-3000:]
    assert "does not host meta-llama/Llama-3.1-8B" in proc.stdout
    assert "meta-llama/Llama-3.1-70B" in proc.stdout and KEY not in proc.stdout
