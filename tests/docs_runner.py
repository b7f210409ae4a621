"""Run one docs page's examples in a scratch project (the convention: tests/docs_examples.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from docs_examples import (
    Block,
    DocsExampleError,
    console_commands,
    missing_lines,
    parse_page,
    shown_output,
)

ROOT = Path(__file__).resolve().parents[1]
COMMAND_TIMEOUT_S = 900
_TAIL = 4000


def command_env() -> dict[str, str]:
    """The environment a console command runs in: this interpreter's bin first on PATH, this
    checkout's neurospec first on the import path, no hub, nothing of an enclosing pytest, and
    not marked as CI."""
    # CI and BUILD_NUMBER: under them pytest stops cutting its summary lines, and the pages
    # show what a reader's terminal shows (CI=true is set by .ci/run)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "NEUROSPEC_", "COV_"))
           and k not in ("CI", "BUILD_NUMBER")}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["HF_HUB_OFFLINE"] = "1"
    env["COLUMNS"] = "120"  # pytest's summary lines are cut at the terminal width
    env["NO_COLOR"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_page(page: Path, scratch: Path, name: str | None = None) -> list[str]:
    """Run every example of ``page`` in ``scratch`` (an empty folder). Returns the skip reasons
    (``"page:line: reason"``); raises DocsExampleError naming the block that failed."""
    name = name or str(page)
    blocks = parse_page(page.read_text(encoding="utf-8"), name)
    skipped: list[str] = []
    namespace: dict[str, object] = {"__name__": "__docs__"}
    cwd = scratch
    for block in blocks:
        where = f"{name}:{block.line}"
        if block.kind == "skip":
            skipped.append(f"{where}: {block.skip_reason}")
        elif block.kind == "file":
            assert block.title is not None
            target = cwd / block.title  # the scratch project, or where a `cd` went
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.code, encoding="utf-8")
        elif block.kind == "python":
            _run_python(block, namespace, cwd, where)
        elif block.kind == "console":
            cwd = _run_console(block, cwd, scratch, where)
    return skipped


def _run_python(block: Block, namespace: dict[str, object], cwd: Path, where: str) -> None:
    before = Path.cwd()
    os.chdir(cwd)
    try:
        exec(compile(block.code, where, "exec"), namespace)
    except Exception as error:  # the page fails, naming the block and the error
        raise DocsExampleError(
            f"{where}: the python block raised {type(error).__name__}: {error}") from error
    finally:
        os.chdir(before)


def _run_console(block: Block, cwd: Path, scratch: Path, where: str) -> Path:
    commands = console_commands(block.code, block.line)
    output = []
    env = command_env()
    marker = scratch.parent / f".{scratch.name}-cwd"
    for position, command in enumerate(commands):
        wanted = block.exit if position == len(commands) - 1 else 0
        script = f'{command.text}\n__rc=$?\npwd > "{marker}"\nexit $__rc\n'
        try:
            done = subprocess.run(["bash", "-c", script], cwd=cwd, env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=COMMAND_TIMEOUT_S, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as error:
            raise DocsExampleError(
                f"{where} (line {command.line}): `{command.text}` ran past "
                f"{COMMAND_TIMEOUT_S} s") from error
        output.append(done.stdout)
        if done.returncode != wanted:
            raise DocsExampleError(
                f"{where} (line {command.line}): `{command.text}` exited {done.returncode}, "
                f"the page expects {wanted} (mark the block <!-- docs-test: exit=N --> if the "
                f"failure is the point). Its output ends:\n{done.stdout[-_TAIL:]}")
        if marker.is_file():
            cwd = Path(marker.read_text().strip())
    if block.check_output:
        real = "".join(output)
        missing = missing_lines(shown_output(block.code), real)
        if missing:
            shown = "\n".join(f"    {line}" for line in missing)
            raise DocsExampleError(
                f"{where}: lines the page shows are not in the real output (numbers compare "
                f"at the digits shown):\n{shown}\nUpdate the page from the real output, which "
                f"ends:\n{real[-_TAIL:]}")
    return cwd
