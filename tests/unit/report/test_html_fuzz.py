"""Reports are safe whatever the strings in them: hypothesis feeds arbitrary unicode (markup,
quotes, ``</script>``, bidi controls, NUL, lone surrogates) as token strings, claim texts,
model and data names into every evidence view, and the parsed HTML must have exactly the
markup a record of plain names has: no text becomes a tag, an attribute or a script.
"""

import re
from html.parser import HTMLParser

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from neurospec.evidence.format import _hidden, visible
from neurospec.evidence.record import Record
from neurospec.report.html import render_page, render_record, summary_table
from neurospec.report.labels import token_text
from neurospec.report.markdown import summary

NASTY = ["<", ">", "&", '"', "'", "`", "</script>", "<script>alert(1)</script>",
         "<img src=x onerror=alert(1)>", '"><svg onload=alert(1)>', "' onmouseover='x",
         "</style>", "</title>", "</textarea>", "<!--", "-->", "<![CDATA[", "]]>", "&amp;",
         "&#60;script&#62;", "javascript:alert(1)", "{{ 7*7 }}", "{% raw %}", "\u202e", "\u2066",
         "\u200b", "\ufeff", "\x00", "\r\n", "\u2028", "\ud800", "|", "\\", "\\|"]
TEXT = st.one_of(
    st.text(max_size=12),
    st.sampled_from(NASTY),
    st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=3)), max_size=5).map("".join))


class Markup(HTMLParser):
    """The markup of a page (tags with attribute names) and its text, as a browser reads it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple] = []
        self.attrs: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, tuple(name for name, _ in attrs)))
        self.attrs += [(n, v or "") for n, v in attrs]

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        self.tags.append(("/" + tag,))

    def handle_data(self, data):
        self.text.append(data)

    def handle_comment(self, data):
        self.tags.append(("<!--",))

    def handle_decl(self, decl):
        self.tags.append(("<!",))

    def unknown_decl(self, data):
        self.tags.append(("<![",))

    def handle_pi(self, data):
        self.tags.append(("<?",))


def parse(html: str) -> Markup:
    m = Markup()
    m.feed(html)
    m.close()
    return m


def make_record(s: list[str], verdict: str = "fail") -> Record:
    """A record that uses every evidence view, with strings ``s[0..]`` everywhere a model,
    a dataset, a tokenizer or a user puts text."""
    return Record(
        claim=s[0], kind=s[1], unit=s[2],
        model={"name": s[3], "fingerprint": s[4], "prepend_bos": True, "dtype": s[5],
               "compatibility_mode": False, "checkpoint": s[6]},
        data={"names": [s[7], s[8]], "hashes": [s[9], s[10]], "docs": [12, 12],
              "truncated": [1, 0]},
        n=s[11], effect=0.25, ci=(0.1, 0.4), p=0.01, threshold=0.2, direction=s[12],
        metric=s[13], verdict=verdict, seed=0, method=s[14], missed=s[15], test=s[16],
        details={"units_label": s[17], "note": s[18], "by_set": {s[19]: 0.5, "x": s[20]},
                 "random_percentile": 90.0, "random_k": 3, "random_median": 0.01,
                 "sequential": {"mode": "sequential", "stopped_after": 45, "of": 100,
                                "documents": 45, "documents_of": 100, "looks": 2,
                                "bounds": [0.21, 0.3], "verdict": "pass", "sequence": s[14]}},
        charts={
            "histogram": {"title": s[21], "sets": {s[7]: [0.1, 0.3], s[8] + "\u0001": [0.0]}},
            "bars": {"title": s[22], "unit": s[23],
                     "items": [{"set": s[24], "mean": 0.2, "ci": [0.1, 0.3], "n": s[25]}]},
            "attention": {"title": s[26], "tokens": [s[27], s[28]],
                          "pattern": [[1.0, 0.0], [0.4, 0.6]]},
            "null": {"title": s[29], "unit_value": 0.2, "values": [0.0, 0.1],
                     "units": [s[30], s[31]]},
            "contexts": {"title": s[32], "items": [
                {"set": s[7], "doc": s[33], "max": 2.0, "tokens": [s[34], s[35], s[36]],
                 "values": [2.0, -1.0, 0.5]}]},
            "token_deltas": {"title": s[37], "items": [
                {"set": s[8], "doc": s[38], "max": 0.1, "tokens": [s[39]], "values": [0.1]}]},
            "token_table": {"title": s[40], "labels": [s[41], s[42]],
                            "top": [{"token": s[43], "value": 1.0, "in_set": True}],
                            "bottom": [{"token": s[44], "value": -1.0, "in_set": False}]},
            "sequence": {"title": s[21], "threshold": 0.2, "n_max": 100, "stopped": 45,
                         "points": [{"n": 20, "estimate": 0.3, "lo": float("-inf"), "hi": 0.9},
                                    {"n": 45, "estimate": 0.25, "lo": 0.21, "hi": 0.3}]},
        })


N_STRINGS = 45
PLAIN = [f"s{i}" for i in range(N_STRINGS)]


def plain_like(strings: list[str]) -> list[str]:
    """Plain stand-ins, empty where the fuzzed string is empty (templates test emptiness)."""
    return [p if s else "" for s, p in zip(strings, PLAIN)]


# values of kind (s[1]), direction (s[12]) and metric (s[13]) that legitimately change which
# charts a card draws; hypothesis also draws string constants found in the code under test
MEANINGFUL = {"mean_diff", "cohens_d", "token_auroc", "token_d", "path_patching",
              "activation_contrast", "sae_feature", ">=", "<=", "within"}


def strings():
    # distinct, so that names used as dict keys stay as many as in the plain record
    return st.lists(TEXT, min_size=N_STRINGS, max_size=N_STRINGS, unique=True).filter(
        lambda xs: len({visible(x) for x in xs}) == len(xs) and xs[8] + "\u0001" != xs[7]
        and not MEANINGFUL & {xs[1], xs[12], xs[13]})


def _untspanned(tags: list[tuple]) -> list[tuple]:
    return [t for t in tags if t[0] not in ("tspan", "/tspan")]


def check_inert(html: str, plain_html: str, shown: list[str]) -> None:
    got, want = parse(html), parse(plain_html)
    # no text became markup (chart titles wrap into as many <tspan> lines as they need)
    assert _untspanned(got.tags) == _untspanned(want.tags)
    assert not any(name.startswith("on") for name, _ in got.attrs)
    urls = {"href", "src", "action", "formaction", "xlink:href", "srcdoc"}
    # no text became a link (the page's own links to its evidence cards are fixed anchors)
    assert not [v for name, v in got.attrs
                if name in urls and not re.fullmatch(r"#ns-card-\d+", v or "")]
    assert not _hidden().search(html), "an invisible or reordering character reached the page"
    text = "".join(got.text)
    for s in shown:
        assert visible(s).strip() in text  # shown, as text


# No shrinking: with 45 strings a record, it can take minutes; a failure prints the example.
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                phases=[Phase.explicit, Phase.reuse, Phase.generate])


@FUZZ
@given(s=strings(), verdict=st.sampled_from(["pass", "fail", "underpowered"]) | TEXT)
def test_every_evidence_view_keeps_text_as_text(s, verdict):
    record, plain = make_record(s, verdict), make_record(plain_like(s), verdict)
    # claim, model, data name, tokens (a vocabulary item's bytes read as <0xNN>)
    shown = [s[0], s[3], s[7], s[34], token_text(s[43])]
    check_inert(render_record(record), render_record(plain), shown)
    check_inert(summary_table([record]), summary_table([plain]), s[:1])
    check_inert(render_page([record], title=s[1]), render_page([plain], title=plain_like(s)[1]),
                shown + [s[1]])


def _without_code_spans(md: str) -> str:
    """``md`` with its code spans removed, found as CommonMark finds them: a run of n
    backticks opens one, the next run of exactly n closes it."""
    out, i = [], 0
    while i < len(md):
        if md[i] == "`" and (i == 0 or md[i - 1] != "\\"):
            n = len(re.match(r"`+", md[i:]).group())
            close = next((m.start() for m in re.finditer(r"`+", md[i + n:])
                          if len(m.group()) == n), None)
            if close is not None:
                i += n + close + n
                continue
            out.append(md[i:i + n])
            i += n
            continue
        out.append(md[i])
        i += 1
    return "".join(out)


@FUZZ
@given(s=strings(), verdict=TEXT)
def test_markdown_summary_keeps_its_table(s, verdict):
    md = summary([make_record(s, verdict)])
    # no "<" opens a tag: each is escaped, in a code span (literal), or is the empty comment
    # that splits mentions
    prose = _without_code_spans(md)
    assert not re.search(r"(?<!\\)<(?!!-- -->)", prose) and not _hidden().search(md)
    header, rule, row = md.splitlines()[2:5]  # the counts line, a blank line, the table
    # GitHub splits rows at every "|" not escaped by a backslash
    pipes = [len(re.findall(r"(?<!\\)(?:\\\\)*\|", line)) for line in (header, rule, row)]
    assert pipes[0] == pipes[1] == pipes[2]
    assert len(md.splitlines()) == 5


def test_known_attacks_render_inert():
    s = [NASTY[i % len(NASTY)] + str(i) for i in range(N_STRINGS)]
    html = render_record(make_record(s))
    assert "<script" not in html and "<img" not in html and "<svg onload" not in html
    check_inert(html, render_record(make_record(PLAIN)),
                [s[0], s[3], s[7], s[34], token_text(s[43])])
    assert "\\u202e" in html and "\\u0000" in html  # shown as escapes, not applied


def test_a_units_label_is_never_shortened_to_nothing():
    # found by the fuzz above: "(".strip("()") dropped the axis unit, and with it a tag
    for label, axis in [("(", ["("]), ("(share)", ["share"]), ("nats", ["nats"]), ("()", []),
                        (")x(", [")x("])]:
        s = plain_like(PLAIN)
        s[17] = label
        html = render_record(make_record(s))
        units = [u for u in re.findall(r'class="ns-axis-unit">([^<]*)<', html) if u != "s23"]
        assert sorted(set(units)) == axis and (len(units) > 1 or not axis), (label, units)


def test_an_unknown_verdict_stays_inside_its_attributes():
    # found by the fuzz above: a verdict read from a results file went into the summary's
    # filter ids and classes unescaped ('"Ý=' opened new attributes)
    for verdict in ['"Ý=', "' onmouseover='x", "a b", "fail\" autofocus onfocus=\"x"]:
        html = summary_table([make_record(plain_like(PLAIN), verdict)])
        got = parse(html)
        assert not any(name.startswith("on") or name == "autofocus" for name, _ in got.attrs)
        known = parse(summary_table([make_record(plain_like(PLAIN), "fail")]))
        assert [t[1:] for t in got.tags] == [t[1:] for t in known.tags]  # the same attributes
        assert verdict in "".join(got.text)  # shown, as text
