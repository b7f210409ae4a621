"""One escaping function per output channel, applied where text is written.

Every string that reaches a reader may come from a user, a dataset or a results file (a
corpus name, a test id, a model folder, a claim text): it must show as the text it is and
never act on the channel that carries it.

- :func:`html`: HTML text and attribute values (``markupsafe.escape``).
- :func:`md_text`: prose inside markdown (a table cell, a line of a PR comment): no
  markup, HTML, link, image, code span, mention (``@user``), issue reference (``#12``) or
  autolink stays live, and no line break is kept.
- :func:`md_code`: an identifier (a file name, a test id) as an inline code span, which
  GitHub renders literally whatever it holds.
- :func:`workflow_data`: the data part of a GitHub workflow command (``::error::DATA``).
- :func:`terminal`: a line of terminal or CI log output: no control character, no line
  break (a line of a GitHub job log that starts with ``::`` would be a workflow command).

Each first makes invisible and reordering characters visible
(:func:`~neurospec.evidence.format.visible`), so a bidi override cannot reorder what a
reviewer reads.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from neurospec.evidence.format import visible

__all__ = ["html", "md_code", "md_text", "terminal", "workflow_data", "workflow_property"]


def html(text: object) -> Markup:
    """``text`` as HTML text (safe in element content and in quoted attribute values)."""
    return escape(visible(str(text)))


# The ASCII characters that can start markup inside a line of markdown (a table cell, prose
# after fixed text; no user text ever starts a line): escapes, code spans, emphasis,
# strikethrough, raw HTML and autolinks, entities, cell borders, math.  Each is
# backslash-escaped (CommonMark allows escaping any ASCII punctuation).  A link or image
# needs "](" (a reference link needs a definition, which only a line's start can hold): that
# "(" is escaped.  The others ("-", ">", "#", ":", "." ...) act only at the start of a line,
# or through the linkers below.
_ASCII_PUNCT = set("\\`*_~<&|$")
# An empty HTML comment splits a text node, so GitHub's renderer cannot join what follows
# into a mention, an issue reference, an e-mail address or a link (dependabot writes
# "@<!-- -->name" for the same reason); it renders as nothing.
_SPLIT = "<!-- -->"
_LINKISH = re.compile(r"(?i)(@|#(?=[0-9A-Za-z])|:(?=//)|www(?=\.))")


def md_text(text: object) -> str:
    """``text`` as inert markdown prose, on one line."""
    shown = visible(str(text)).replace("\r", " ").replace("\n", " ")
    out = "".join("\\" + ch if ch in _ASCII_PUNCT else ch for ch in shown)
    out = out.replace("](", "]\\(")
    return _LINKISH.sub(lambda m: m.group(1) + _SPLIT, out)


def md_code(text: object, in_table: bool = True) -> str:
    """``text`` as an inline code span (rendered literally), on one line.  Inside a table, a
    text holding a pipe is written as escaped prose instead (:func:`md_text`)."""
    shown = visible(str(text)).replace("\r", " ").replace("\n", " ")
    if in_table and "|" in shown:
        # a pipe must be escaped even in code, and a backslash before it would be ambiguous
        # inside a code span (literal there, an escape for the table): write it as prose
        return md_text(text)
    longest = max((len(run) for run in re.findall(r"`+", shown)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if shown[:1] in ("`", " ") or shown[-1:] in ("`", " ") or not shown else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


def workflow_data(text: object) -> str:
    """``text`` as the data of a GitHub workflow command: ``%``, CR and LF escaped, so a
    name holding a line break cannot end the command and start one of its own."""
    return (visible(str(text)).replace("%", "%25").replace("\r", "%0D")
            .replace("\n", "%0A"))


def workflow_property(text: object) -> str:
    """``text`` as a property value of a workflow command (``title=...``): as
    :func:`workflow_data`, and ``:`` and ``,`` escaped too."""
    return workflow_data(text).replace(":", "%3A").replace(",", "%2C")


def terminal(text: object) -> str:
    """``text`` as part of one terminal line: control and invisible characters (line breaks
    included) written as escapes."""
    return visible(str(text)).replace("\n", "\\n").replace("\r", "\\r")
