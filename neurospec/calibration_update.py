"""Re-running some rows of :mod:`neurospec.calibrate` (``--only``) and writing them into an
existing table (``--update``): the full design takes an hour on one core, and a change to
one rule needs its rows re-measured, not every row.

A re-run row replaces the table's row of the same group and case (a new row goes after the
last row of its group, or at the end of its table); a line under the table's first
paragraph names the rows re-run, the command, the commit and the date, so the table says
which numbers come from which run.  Notes of the re-run cases that the table lacks are added
after the table they belong to.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence

from neurospec.calibration_cases import Case

RERUN_MARK = "Rows re-run "


def selected(case: Case, patterns: Sequence[str]) -> bool:
    """Whether ``case`` matches one of ``patterns`` (case-insensitive substrings of
    ``"group: case"``)."""
    text = f"{case.group}: {case.name}".lower()
    return any(p.lower() in text for p in patterns)


def _key(line: str) -> tuple[str, str] | None:
    """(group, case) of a table row.  A case's name may itself hold ``|`` ("changes loss by
    less than +/- |pool mean|"): the case is what lies between the group and the last four
    cells."""
    cells = line.strip().strip("|").split("|")
    if len(cells) < 6 or not line.startswith("| "):
        return None
    group = cells[0].strip()
    body = line.strip()[len(f"| {group} | "):].removesuffix("|").rstrip()
    return group, body.rsplit(" | ", 4)[0].strip()


def commit() -> str:
    """The short commit of the working tree (``unknown`` outside git), ``+changes`` when it
    has uncommitted changes to tracked files."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


def update_table(text: str, rows: Sequence[tuple[Case, str]], command: str, elapsed: float,
                 notes: Sequence[str] = ()) -> str:
    """``text`` (a table written by :mod:`neurospec.calibrate`) with ``rows`` (case, markdown
    row) put in place, the run named under the first paragraph and ``notes`` (lines without
    the leading ``- ``) added where missing (a note whose text before its first colon is one
    word replaces the table's note of that word)."""
    lines = text.splitlines()
    where = {k: i for i, line in enumerate(lines) if (k := _key(line)) is not None}
    for case, md in rows:
        k = (case.group, case.name)
        if k in where:
            lines[where[k]] = md
            continue
        same = [i for (g, _), i in where.items() if g == case.group]
        real = case.group.startswith(("real", "other pools"))
        table = [i for (g, _), i in where.items()
                 if g.startswith(("real", "other pools")) == real and g != "group"]
        at = max(same or table or [len(lines) - 1]) + 1
        lines.insert(at, md)
        where = {k2: i2 for i2, line in enumerate(lines)
                 if (k2 := _key(line)) is not None}
    for n in notes:  # a note named by one word ("near-copies: ...") replaces its old text
        head = n.split(":")[0]
        if " " not in head:
            lines = [line for line in lines if not line.startswith(f"- {head}:")]
    where = {k: i for i, line in enumerate(lines) if (k := _key(line)) is not None}
    missing = [n for n in notes if f"- {n}" not in lines]
    if missing:  # after the notes that follow the last re-run row's table
        at = max(where[(c.group, c.name)] for c, _ in rows) + 1
        while at < len(lines) and lines[at].startswith("| "):
            at += 1
        if at < len(lines) and not lines[at].strip():
            at += 1
        while at < len(lines) and lines[at].startswith("- "):
            at += 1
        lines[at:at] = [f"- {n}" for n in missing]
    names = "; ".join(f"{c.group}: {c.name}" for c, _ in rows)
    mark = (f"{RERUN_MARK}{time.strftime('%Y-%m-%d')} with `{command}` ({elapsed:.0f} s, "
            f"1 process, commit {commit()}): {names}. Every other row is from the run named "
            f"above.")
    first = next((i for i, line in enumerate(lines) if line.startswith("Measured ")), 1)
    end = first
    while end + 1 < len(lines) and lines[end + 1].strip():
        end += 1
    lines.insert(end + 1, "")
    lines.insert(end + 2, mark)
    return "\n".join(lines) + "\n"
