"""With ``HF_HUB_OFFLINE=1`` no network call is attempted: a hub model fails (the plugin turns
that into a skip) without a single connection, and the bundled model loads with every socket
blocked.  Runs in a fresh interpreter, so that nothing imported earlier hides a call."""

import json
import subprocess
import sys
import textwrap

GUARDED = textwrap.dedent('''
    import json, socket, sys

    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(repr(args)[:120])
        raise OSError("network blocked by the test")

    socket.socket.connect = socket.socket.connect_ex = refuse
    socket.create_connection = socket.getaddrinfo = refuse

    from neurospec.errors import ModelUnavailable
    from neurospec.models import load_model

    out = {}
    for name in ("pythia-70m", "EleutherAI/pythia-160m@step1000"):
        try:
            load_model(name, device="cpu")
            out[name] = "loaded"
        except ModelUnavailable as exc:
            out[name] = str(exc)
    out["tiny"] = repr(load_model("tiny-bilingual", device="cpu"))
    out["attempts"] = attempts
    print("RESULT" + json.dumps(out))
''')


def test_offline_means_no_network_call(tmp_path):
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "PATH": "/usr/bin:/bin",
           "PYTHONPATH": ":".join(p for p in sys.path if p)}
    proc = subprocess.run([sys.executable, "-c", GUARDED], env=env, capture_output=True,
                          text=True, timeout=300)
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT")]
    assert line, proc.stdout + proc.stderr
    out = json.loads(line[0][len("RESULT"):])
    assert out["attempts"] == []
    assert "not reachable here" in out["pythia-70m"]
    assert "huggingface-cli download EleutherAI/pythia-70m" in out["pythia-70m"]
    assert "not reachable here" in out["EleutherAI/pythia-160m@step1000"]
    assert out["tiny"].startswith("Model('tiny-bilingual'")
