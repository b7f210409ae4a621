"""The executed-example convention of docs/**/*.md: parse a page's fenced code blocks, run them in
a scratch project, and compare shown output with the real output.

Every fenced block is one of (the convention, issue 32):

- FILE: any language with ``title="path"``: written to that path in the scratch project (a later
  block with the same title replaces it);
- PYTHON: ``python`` without a title: executed in one namespace per page, cwd = scratch project;
- CONSOLE: ``console``: each ``$ `` line is a command run with bash in the scratch project (a
  line ending in ``\\`` continues on the next; an ``export`` does not carry over, a ``cd`` does:
  the page's later commands, python blocks and file blocks' paths start where it went, as for a
  reader who typed it); every command exits 0, unless ``exit=N`` marks the block: then
  its last command must exit N. With ``check-output``, every other non-blank line of the block
  (but a bare ``...``) must appear in the block's real output (stdout and stderr), whitespace
  normalised, a number matching a real number equal to it at the digits shown;
- DISPLAY: ``text``, ``json``, ``html``, ``ini``, ``toml``, ``yaml`` without a title: shown only;
- SKIP: any block after ``<!-- docs-test: skip="reason" -->``: not run, the reason reported.

Anything else (``bash``, no language, an unknown marker, a marker with no block after it, a
command in a display block) is an error naming the page, the line and the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

DISPLAY_LANGUAGES = ("text", "json", "html", "ini", "toml", "yaml")
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`]*?)[ \t]*$")
_MARKER = re.compile(r"^[ \t]*<!--\s*docs-test:(?P<body>.*?)-->[ \t]*$")
_MARKER_TOKEN = re.compile(
    r'\s*(?:skip="(?P<skip>[^"]*)"|exit=(?P<exit>\d+)|(?P<check>check-output))')
_TITLE = re.compile(r'\btitle="(?P<title>[^"]*)"')
# A number as the docs show it: digits, an optional fraction and exponent, not part of a longer
# number (so 125 never matches inside 1250, nor 0.03 inside 10.03).
_NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?!\d|\.\d)")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class DocsExampleError(Exception):
    """A page breaks the convention, or one of its examples fails."""


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page and what the convention makes of it."""

    kind: str  # "file", "python", "console", "display" or "skip"
    language: str
    code: str
    line: int  # the line of the opening fence, counted from 1
    title: str | None = None
    exit: int = 0
    check_output: bool = False
    skip_reason: str | None = None


@dataclass(frozen=True)
class Command:
    """One ``$ `` command of a console block (continuation lines joined)."""

    text: str
    line: int


def parse_page(text: str, page: str) -> list[Block]:
    """The page's fenced blocks, classified; raises DocsExampleError for what breaks the rules."""
    lines = text.splitlines()
    blocks: list[Block] = []
    pending: dict[str, object] = {}
    pending_line = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        marker = _MARKER.match(line)
        if marker:
            _merge_marker(pending, marker.group("body"), page, i + 1)
            pending_line = pending_line or i + 1
            i += 1
            continue
        if "docs-test" in line and "<!--" in line:
            raise DocsExampleError(
                f"{page}:{i + 1}: a docs-test marker that cannot be read: {line.strip()!r}; write "
                f'<!-- docs-test: skip="reason" -->, <!-- docs-test: exit=N --> or '
                f"<!-- docs-test: check-output --> alone on its line")
        fence = _FENCE.match(line)
        if fence is None:
            if pending and line.strip():
                raise DocsExampleError(
                    f"{page}:{pending_line}: a docs-test marker with no code block after it "
                    f"(text follows at line {i + 1}); put the marker right before the block")
            i += 1
            continue
        end = _closing_fence(lines, i, fence.group("fence"), fence.group("indent"))
        if end is None:
            raise DocsExampleError(f"{page}:{i + 1}: a code block that is never closed")
        indent = len(fence.group("indent"))
        body = "\n".join(_dedent(raw, indent) for raw in lines[i + 1:end])
        blocks.append(_classify(fence.group("info"), body + "\n" if body else "", i + 1, page,
                                pending))
        pending, pending_line = {}, 0
        i = end + 1
    if pending:
        raise DocsExampleError(
            f"{page}:{pending_line}: a docs-test marker with no code block after it")
    return blocks


def _merge_marker(pending: dict[str, object], body: str, page: str, line: int) -> None:
    body = body.strip()
    position = 0
    while position < len(body):
        token = _MARKER_TOKEN.match(body, position)
        if token is None or token.end() == position:
            raise DocsExampleError(
                f"{page}:{line}: unknown docs-test marker {body[position:].strip()!r}; known: "
                f'skip="reason", exit=N, check-output')
        if token.group("skip") is not None:
            if not token.group("skip").strip():
                raise DocsExampleError(f'{page}:{line}: skip="" needs a reason the reader sees')
            pending["skip"] = token.group("skip")
        elif token.group("exit") is not None:
            pending["exit"] = int(token.group("exit"))
        else:
            pending["check"] = True
        position = token.end()
        while position < len(body) and body[position].isspace():
            position += 1


def _closing_fence(lines: list[str], start: int, fence: str, indent: str) -> int | None:
    char, size = re.escape(fence[0]), len(fence)
    closing = re.compile(rf"^[ \t]{{0,{len(indent) + 3}}}{char}{{{size},}}[ \t]*$")
    for j in range(start + 1, len(lines)):
        if closing.match(lines[j]):
            return j
    return None


def _dedent(raw: str, indent: int) -> str:
    strip = len(raw) - len(raw.lstrip(" \t"))
    return raw[min(indent, strip):]


def _classify(info: str, code: str, line: int, page: str, marker: dict[str, object]) -> Block:
    info = info.strip().lstrip("{").rstrip("}").strip()
    language = info.split()[0].lstrip(".").lower() if info else ""
    title_match = _TITLE.search(info)
    title = title_match.group("title") if title_match else None
    where = f"{page}:{line}"
    if "skip" in marker:
        return Block("skip", language, code, line, title, skip_reason=str(marker["skip"]))
    if ("exit" in marker or "check" in marker) and (language != "console" or title):
        raise DocsExampleError(
            f"{where}: exit=N and check-output apply to ```console blocks only, this one is "
            f"```{info or '(no language)'}")
    if title is not None:
        if not title or title.startswith("/") or ".." in title.split("/"):
            raise DocsExampleError(
                f'{where}: title="{title}" must be a relative path inside the scratch project')
        return Block("file", language, code, line, title)
    if language in ("python", "py"):
        return Block("python", language, code, line)
    if language == "console":
        exit_code = marker.get("exit", 0)
        assert isinstance(exit_code, int)
        if not console_commands(code, line):
            raise DocsExampleError(f"{where}: a ```console block with no `$ ` command line")
        return Block("console", language, code, line, exit=exit_code,
                     check_output=bool(marker.get("check")))
    if language in DISPLAY_LANGUAGES:
        for offset, shown in enumerate(code.splitlines(), start=1):
            if shown.startswith("$ "):
                raise DocsExampleError(
                    f"{page}:{line + offset}: a command in a ```{language} block, which is "
                    f"never run; use ```console (or mark the block skip with a reason)")
        return Block("display", language, code, line)
    raise DocsExampleError(
        f"{where}: a ```{language or '(no language)'} block the docs runner cannot classify; "
        f"use ```console with `$ ` commands, ```python, a file block with title=\"path\", a "
        f"display language ({', '.join(DISPLAY_LANGUAGES)}), or mark it "
        f'<!-- docs-test: skip="reason" -->')


def console_commands(code: str, first_line: int) -> list[Command]:
    """The ``$ `` commands of a console block, a trailing backslash joining the next line."""
    commands: list[Command] = []
    rows = code.splitlines()
    k = 0
    while k < len(rows):
        if rows[k].startswith("$ "):
            start, text = k, rows[k][2:]
            while text.endswith("\\") and k + 1 < len(rows):
                k += 1
                text = text[:-1] + "\n" + rows[k]
            commands.append(Command(text, first_line + 1 + start))
        k += 1
    return commands


def shown_output(code: str) -> list[str]:
    """The lines of a console block that are not commands (nor continuations of one)."""
    shown: list[str] = []
    continuing = False
    for row in code.splitlines():
        if row.startswith("$ ") or continuing:
            continuing = row.endswith("\\")
            continue
        shown.append(row)
    return shown


def normalise(text: str) -> str:
    return " ".join(_ANSI.sub("", text).split())


def _equal_at_shown_digits(expected: str, real: str) -> bool:
    try:
        want, got = Decimal(expected), Decimal(real)
    except InvalidOperation:
        return False
    if "e" in expected.lower():
        mantissa = expected.lower().split("e")[0]
        digits = len(mantissa.split(".")[1]) if "." in mantissa else 0
        return float(f"{float(got):.{digits}e}") == float(want)
    exponent = want.as_tuple().exponent
    assert isinstance(exponent, int)
    quantum = Decimal(1).scaleb(exponent)
    return any(got.quantize(quantum, rounding=mode) == want
               for mode in (ROUND_HALF_EVEN, ROUND_HALF_UP))


def line_matches(expected: str, real_line: str) -> bool:
    """Whether the expected line appears in the real line, numbers compared at shown digits."""
    expected, real_line = normalise(expected), normalise(real_line)
    numbers = list(_NUMBER.finditer(expected))
    pattern, last = "", 0
    for number in numbers:
        pattern += re.escape(expected[last:number.start()]) + f"({_NUMBER.pattern})"
        last = number.end()
    pattern += re.escape(expected[last:])
    for found in re.finditer(f"(?=({pattern}))", real_line):
        groups = found.groups()[1:]
        if all(_equal_at_shown_digits(n.group(), g) for n, g in zip(numbers, groups)):
            return True
    return False


def missing_lines(expected_lines: list[str], real_output: str) -> list[str]:
    """The expected non-blank lines (a bare ``...`` excepted) found in no line of the output."""
    real_lines = real_output.splitlines()
    return [want for want in expected_lines
            if want.strip() and want.strip() != "..."
            and not any(line_matches(want, real) for real in real_lines)]
