"""Every output channel keeps hostile text as text (issue 26, item 5): hypothesis feeds
markup, links, images, mentions, issue references, autolinks, backticks, pipes, line breaks,
``::`` workflow commands and bidi controls through every text field of a results file
(claim, test id, model and checkpoint names, data set names, reasons), into:

- markdown (the run summary, ``neurospec compare``, the checkpoint matrix), rendered with a
  CommonMark parser with GitHub's tables: the hostile version has exactly the markup of a
  plain one (no link, image, HTML tag, emphasis or extra cell), no text node holds a
  mention, an issue reference or an autolink, and no line is a workflow command;
- GitHub workflow commands (``compare --format github``): one command per line, the data
  unable to end it;
- the terminal (failure messages and the plugin's summary lines): one line per message line,
  no control character.
"""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser

from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from test_html_fuzz import FUZZ, N_STRINGS, NASTY, PLAIN, TEXT, make_record, plain_like

from neurospec.evidence.format import _hidden
from neurospec.evidence.record import ERROR, SKIPPED, outcome_record
from neurospec.report.compare import compare, compare_markdown, github_annotations
from neurospec.report.escape import md_code, md_text, terminal, workflow_data
from neurospec.report.markdown import run_notes, summary
from neurospec.report.matrix import build_matrix, matrix_markdown

# what GitHub links in text it renders (its filters run on HTML text nodes, outside code)
LINKERS = re.compile(r"@\w|#\d|://|www\.", re.I)
EXTRA = ["@octocat", "#12", "https://evil.example", "www.evil.example", "![x](http://e/x.png)",
         "[click](http://e)", "**bold**", "~~gone~~", "$x^2$", "`", "``a``", "::error::x",
         "\n::warning::forged", "a|b", "<details>", "&lt;b&gt;", "user@example.com"]
HOSTILE = st.one_of(TEXT, st.sampled_from(EXTRA),
                    st.lists(st.sampled_from(NASTY + EXTRA), min_size=2, max_size=4).map("".join))


class Rendered(HTMLParser):
    """Tags of rendered markdown (comments apart) and its text nodes outside ``<code>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []
        self.in_code = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.in_code += tag == "code"

    def handle_endtag(self, tag):
        self.tags.append("/" + tag)
        self.in_code -= tag == "code"

    def handle_data(self, data):
        if not self.in_code:
            self.text.append(data)

    def handle_comment(self, data):
        self.text.append("\x00")  # a comment splits a text node (what the escapes rely on)


CODE = ("code", "/code")
MD = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")


def rendered(md: str) -> Rendered:
    r = Rendered()
    r.feed(MD.render(md))
    r.close()
    return r


def check_markdown(md: str, plain_md: str) -> None:
    assert not any(line.startswith("::") for line in md.splitlines()), "a workflow command"
    assert not _hidden().search(md), "an invisible or reordering character"
    got, want = rendered(md), rendered(plain_md)
    # no text became markup, a link, an image or a cell (an identifier holding a pipe is
    # written as escaped prose instead of a code span: code tags may differ)
    assert [t for t in got.tags if t not in CODE] == [t for t in want.tags if t not in CODE]
    for node in "".join(got.text).split("\x00"):
        assert not LINKERS.search(node), f"GitHub would link {node!r}"


def strings():
    return st.lists(HOSTILE, min_size=N_STRINGS, max_size=N_STRINGS, unique=True)


def _runs(s: list[str]):
    """A base and a head run whose every text comes from ``s``: a claim that regressed, one
    whose test errored, a skipped test, on two checkpoints (so the matrix is drawn)."""
    rec = make_record(s, "pass")
    rec = replace(rec, n=12, details={"units_label": s[17]}, charts={}, outcome="passed",
                  data={"names": [s[7], s[8]]})
    base = [replace(rec, checkpoint="step1", test=f"{s[16]}[step1]"),
            replace(rec, checkpoint="step2", test=f"{s[16]}[step2]")]
    head = [replace(base[0], verdict="fail", outcome="failed", missed=s[15]),
            outcome_record(f"{s[30]}[step2]", ERROR, s[31], claim=s[32], checkpoint="step2"),
            outcome_record(s[33], SKIPPED, s[34], outcome="skipped")]
    return base, head


@FUZZ
@given(s=strings())
def test_markdown_views_keep_text_as_text(s):
    base, head = _runs(s)
    pb, ph = _runs(plain_like(s))
    c, pc = compare(base, head), compare(pb, ph)
    check_markdown(compare_markdown(c, base, head, s[35], s[36]),
                   compare_markdown(pc, pb, ph, "b", "h"))
    check_markdown(summary(base + head), summary(pb + ph))
    check_markdown(matrix_markdown(build_matrix(base)), matrix_markdown(build_matrix(pb)))
    check_markdown(run_notes({"complete": False}, s[37]), run_notes({"complete": False}, "x"))


@FUZZ
@given(s=strings())
def test_workflow_commands_cannot_be_forged(s):
    base, head = _runs(s)
    c = compare(base, head)
    lines = github_annotations(c).split("\n")
    assert lines[-1] == ""
    commands = lines[:-1]
    assert len(commands) == len(c.newly_failing) + len(c.not_run) + len(c.broken)
    for line in commands:
        assert re.fullmatch(r"::error title=[^:\r\n]+::[^\r\n]*", line), line
        assert not _hidden().search(line)


@given(text=HOSTILE)
def test_each_escape_on_its_own(text):
    for out in (md_text(text), md_code(text), md_code(text, in_table=False),
                workflow_data(text), terminal(text)):
        assert "\n" not in out and "\r" not in out and not _hidden().search(out)
    assert "%" not in workflow_data(text).replace("%25", "").replace("%0A", "").replace(
        "%0D", "")


def test_terminal_lines_of_a_run_are_one_line_each(pytester):
    evil = "claim\n::error::forged \u202e\x1b[31m"
    pytester.makepyfile(test_evil=f'''
        from dataclasses import replace
        from neurospec.evidence.sink import emit
        from neurospec.report.samples import sample_record

        def test_caught():
            emit(replace(sample_record(0), claim={evil!r}, verdict="fail", outcome="passed"))

        def test_vacuous():
            emit(replace(sample_record(1), claim={evil!r}, verdict="pass", vacuous=True,
                         details={{"vacuity": {{"passed": 3, "k": 20}}}}))
    ''')
    result = pytester.runpytest("-p", "no:cacheprovider")
    lines = result.stdout.lines
    assert not any(line.startswith("::") for line in lines)
    assert not any("\x1b" in line or "\u202e" in line for line in lines)
    assert any(line.startswith("CAUGHT:") and "\\n::error::forged" in line for line in lines)
    assert any(line.startswith("VACUOUS:") and "\\n::error::forged" in line for line in lines)


def test_a_failure_message_keeps_each_line_its_own():
    from neurospec.claims.verdict import failure_message
    from neurospec.report.samples import sample_record

    evil = "L0N1 on german\n::error::forged\r\u202e"
    msg = failure_message(replace(sample_record(0), claim=evil, missed=evil, verdict="fail"))
    assert len(msg.splitlines()) == 3  # claim, measured, missed
    assert not any(line.startswith("::") for line in msg.splitlines())
    assert "\u202e" not in msg and "\\n::error::forged" in msg
    assert PLAIN  # the plain stand-ins the fuzz compares against exist
