"""Running traces remotely: NDIF through nnsight, and nnsight's local simulation of it.

- :func:`running` wraps one request (an nnsight session): it picks the backend, measures the
  bytes each way, imposes a deadline, and turns every failure into a neurospec error whose
  message never holds the API key (nnsight's own exceptions and frames do: ``pytest -l``
  would print it), raised ``from None``.
- The simulation (``remote="local"``) is nnsight's ``LocalSimulationBackend`` made strict:
  while the request is deserialised, neurospec itself is not importable, as on the server
  (the stock simulation keeps installed packages importable and so passes code that NDIF
  would reject).
- :func:`key` and :func:`host` read the settings (``NDIF_API_KEY`` / ``NDIF_HOST`` or
  nnsight's config file); :func:`check_reachable` refuses a model before any claim runs
  when there is no key, no network, or the model is not hosted.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import io
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from neurospec.errors import ModelUnavailable, NeurospecError, RemoteFailed

# An NNsightModel (neurospec.models.nnsight_backend, which imports this module).
NNsightModel = Any


# Packages NDIF's servers do not have: a request that needs them must fail here as it would
# there.  (Anything a block references from them would be pickled by reference.)
NOT_ON_SERVER = ("neurospec", "scipy", "pandas", "jinja2", "pytest", "hypothesis",
                 "transformer_lens")
DEADLINE_ENV = "NEUROSPEC_NDIF_DEADLINE"
KEY_HINT = ("set NDIF_API_KEY=<your key> (a free key from https://login.ndif.us), or run "
            "`python -c \"from nnsight import CONFIG; CONFIG.set_default_api_key('KEY')\"`")


@dataclass
class RequestLog:
    """One request of a remote (or simulated remote) run: bytes each way, traces in it."""

    what: str
    traces: int
    sent: int = 0  # bytes of the serialised request (zstd, as the NDIF client sends it)
    received: int = 0  # bytes of the saved values (zstd)
    seconds: float = 0.0


@dataclass
class Remote:
    """Where a model's traces run: ``mode`` False (here), ``"local"`` (nnsight's simulation
    of a remote run, made strict: neurospec is not importable while the request is
    deserialised, as on the server) or True (NDIF at ``host``)."""

    mode: bool | str = False
    host: str | None = None
    deadline_s: float = 900.0
    log: list[RequestLog] = field(default_factory=list)

    @property
    def on(self) -> bool:
        return bool(self.mode)


def key() -> str | None:
    """The NDIF API key nnsight would send (``NDIF_API_KEY``, else nnsight's config)."""
    from nnsight import CONFIG

    value = os.environ.get("NDIF_API_KEY") or CONFIG.API.APIKEY
    return str(value) if value else None


def host() -> str:
    """The NDIF host (``NDIF_HOST``, else nnsight's config, default https://api.ndif.us)."""
    from nnsight import CONFIG

    return str(os.environ.get("NDIF_HOST") or CONFIG.API.HOST)


def scrub(text: str) -> str:
    """``text`` without the API key (and without anything after an ``ndif-api-key``)."""
    secret = key()
    if secret:
        text = text.replace(secret, "<NDIF_API_KEY>")
    return text


def quiet_nnsight() -> None:
    """nnsight turns its DEBUG mode on when ``-v`` is anywhere on the command line (so
    ``pytest -v`` would), which logs requests verbosely: neurospec sets it from the
    environment only."""
    from nnsight import CONFIG

    CONFIG.APP.DEBUG = os.environ.get("NNSIGHT_DEBUG", "").lower() in ("1", "true")
    CONFIG.APP.REMOTE_LOGGING = False


def deadline_s() -> float:
    raw = os.environ.get(DEADLINE_ENV, "")
    try:
        return float(raw) if raw else 900.0
    except ValueError:
        return 900.0


def check_reachable(repo_id: str, revision: str | None, name: str) -> None:
    """Refuse a remote model here, before its claims run, when it cannot run: no key, no
    network, NDIF down, or the model not hosted.  Raises ModelUnavailable (the claims skip
    with the reason, or fail under ``--neurospec-require-models``)."""
    if not key():
        raise ModelUnavailable(f"{name} runs on NDIF, which needs an API key: {KEY_HINT}",
                               value=name)
    where = host()
    try:
        import httpx

        response = httpx.get(f"{where}/status", timeout=5.0)
        response.raise_for_status()
        status = response.json()
    except Exception as exc:  # noqa: BLE001 - every transport error means the same here
        raise ModelUnavailable(
            f"{name} runs on NDIF ({where}), which did not answer "
            f"({type(exc).__name__}: {scrub(str(exc))[:160]}): check the network (or "
            f"NDIF_HOST), and https://nnsight.net/status for the service",
            value=name) from None
    hosted = _hosted(status)
    if hosted is not None and repo_id not in hosted:  # (the hub's own spelling of the id)
        shown = ", ".join(sorted(hosted)[:8])
        raise ModelUnavailable(
            f"NDIF ({where}) does not host {repo_id} now (it hosts {shown}"
            f"{', ...' if len(hosted) > 8 else ''}); pick a hosted model, or run this "
            f"model on a local copy (remote=False)", value=name)


def _hosted(status: Any) -> set[str] | None:
    """Repository ids NDIF's ``/status`` lists as running (its ``deployments``, one entry per
    replica: ``repo_id``, ``application_state``); None when the answer has another shape."""
    deployments = status.get("deployments") if isinstance(status, dict) else None
    if not isinstance(deployments, dict):
        return None
    return {str(v.get("repo_id", name)) for name, v in deployments.items()
            if isinstance(v, dict) and v.get("application_state", "RUNNING") == "RUNNING"}


class _Deny(importlib.abc.MetaPathFinder):
    def __init__(self, roots: tuple[str, ...]) -> None:
        self.roots = set(roots)

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.split(".")[0] in self.roots:
            raise ModuleNotFoundError(f"No module named {name!r} (not on the NDIF server)",
                                      name=name)
        return None


def _zstd_len(blob: bytes) -> int:
    import zstandard

    return len(zstandard.ZstdCompressor(level=6).compress(blob))


def simulation(model: NNsightModel, record: Any) -> Any:
    """nnsight's ``remote="local"`` backend, strict about what the server lacks, measuring
    bytes as the real client would send and receive them (zstd)."""
    import sys

    import torch
    from nnsight.intervention.backends.local import LocalSimulationBackend
    from nnsight.ndif import pull_env
    from nnsight.schema.request import RequestModel

    class Strict(LocalSimulationBackend):  # type: ignore[misc]
        def _hide_local_modules(self) -> dict[str, Any]:
            hidden: dict[str, Any] = super()._hide_local_modules()
            for mod in list(sys.modules):
                if mod.split(".")[0] in NOT_ON_SERVER:
                    hidden["modules"][mod] = sys.modules.pop(mod)
            self._finder = _Deny(NOT_ON_SERVER)
            sys.meta_path.insert(0, self._finder)
            return hidden

        def _restore(self, hidden: dict[str, Any]) -> None:
            with contextlib.suppress(ValueError):
                sys.meta_path.remove(self._finder)
            super()._restore(hidden)

        def __call__(self, tracer: Any) -> None:
            pull_env()
            record.sent = _zstd_len(RequestModel.serialize(tracer, compress=False))
            super().__call__(tracer)
            from nnsight.tracing.tracer import _saves

            saves = _saves()
            frame = tracer.info.frame.f_locals
            result = {k: v for k, v in frame.items() if id(v) in saves}
            buf = io.BytesIO()
            torch.save(result, buf, pickle_protocol=4)
            record.received = _zstd_len(buf.getvalue())

    return Strict(model.nn)


def ndif_backend(model: NNsightModel, record: Any, deadline: float) -> Any:
    """nnsight's blocking ``RemoteBackend`` with a deadline on the whole request (nnsight's
    own waits without limit on a queued job) and byte counts."""
    from nnsight.intervention.backends.remote import RemoteBackend

    class Measured(RemoteBackend):  # type: ignore[misc]
        def _serialize(self, tracer: Any) -> bytes:
            blob: bytes = super()._serialize(tracer)
            record.sent = len(blob)
            return blob

        def finalize(self, content: bytes) -> Any:
            record.received = len(content)
            return super().finalize(content)

        def request(self, request: Any, tracer: Any) -> Any:
            import json

            import websocket

            blob = self._serialize(tracer)
            start = time.monotonic()
            connection = websocket.create_connection(
                f"{self.ws_host}/subscribe", timeout=30,
                header={"ndif-api-key": self.api_key} if self.api_key else None)
            try:
                request.session_id = json.loads(connection.recv())["session_id"]
                self.send(request, blob)
                connection.settimeout(1.0)
                while True:
                    if time.monotonic() - start > deadline:
                        raise TimeoutError(f"no result within {deadline:.0f} s "
                                           f"({DEADLINE_ENV} sets the limit)")
                    try:
                        message = connection.recv()
                    except websocket.WebSocketTimeoutException:
                        continue
                    response = self.parse(message)
                    result = self.handle(response)
                    if response.status.name == "COMPLETED":
                        return result
            finally:
                connection.close()

    return Measured(model.nn.to_model_key(), host=model.remote.host)


@contextlib.contextmanager
def running(model: NNsightModel, what: str, traces: int) -> Iterator[Any]:
    """The nnsight backend for one request of ``model`` (None: run here), with the request
    logged in ``model.remote.log`` and every remote failure raised as
    :class:`~neurospec.errors.RemoteFailed` without the key."""
    mode = model.remote.mode
    if not mode:
        yield None
        return
    record = RequestLog(what, traces)
    start = time.perf_counter()
    try:
        backend = (simulation(model, record) if mode == "local"
                   else ndif_backend(model, record, model.remote.deadline_s))
        yield backend
    except NeurospecError:
        raise
    except Exception as exc:  # noqa: BLE001 - websocket, httpx, OS and nnsight errors
        where = "the local simulation of NDIF" if mode == "local" else f"NDIF ({host()})"
        message = scrub(f"{type(exc).__name__}: {exc}")[:400]
        raise RemoteFailed(f"{model.name}: the {what} on {where} did not finish ({message}); "
                           f"records measured before it are kept", value=what) from None
    finally:
        record.seconds = time.perf_counter() - start
        model.remote.log.append(record)
