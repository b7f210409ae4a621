from dataclasses import replace
from html.parser import HTMLParser

from neurospec.evidence.record import Record
from neurospec.report.html import render_page, render_record, summary_table
from neurospec.report.markdown import summary

EVIL = "<script>alert(1)</script>"


def record(**kw) -> Record:
    base = dict(
        claim=f"L1N5 activates more on {EVIL} than on b & c", kind="activation_contrast",
        unit="L1N5", model={"name": "m<i>", "fingerprint": "abc", "prepend_bos": True,
                            "dtype": "float32", "compatibility_mode": False, "checkpoint": None},
        data={"names": [EVIL, "b"], "hashes": ["h1", "h2"], "docs": [3, 3]},
        n=6, effect=1.2, ci=(0.5, 1.9), p=0.01, threshold=1.0, direction=">=",
        metric="mean_diff", verdict="fail", seed=0, method="bootstrap", missed="CI lower bound",
        details={"token_auroc": 0.9},
        charts={"histogram": {"title": f"t {EVIL}", "sets": {EVIL: [0.1, 0.5], "b": [0.0]}},
                "bars": {"title": "bars", "unit": "nats",
                         "items": [{"set": EVIL, "mean": 0.1, "ci": [0.0, 0.2], "n": 3}]},
                "contexts": {"title": "ctx", "items": [
                    {"set": EVIL, "doc": "7", "max": 2.0, "tokens": [EVIL, " &amp;", "\"'"],
                     "values": [2.0, -1.0, 0.5]}]}})
    base.update(kw)
    return Record(**base)


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> Elements:
    p = Elements()
    p.feed(html)
    return p


def test_token_strings_and_names_are_escaped():
    html = render_record(record())
    p = parse(html)
    assert "script" not in p.tags and "i" not in p.tags
    assert EVIL in "".join(p.text)  # shown as text, not markup
    assert "&lt;script&gt;" in html


def test_card_shows_verdict_numbers_and_charts():
    p = parse(render_record(record()))
    assert p.tags.count("svg") == 2  # histogram and bars
    text = " ".join(p.text)
    assert "fail" in text and "95% CI" in text and "+1.2" in text
    assert "CI lower bound" in text


def test_page_and_summaries_escape_too():
    page = render_page([record(), record(verdict="pass", missed="")])
    assert "script" not in parse(page).tags
    assert "1 fail · 1 pass" in summary_table([record(), record(verdict="pass")])
    md = summary([record(claim="a | b")])
    assert "a \\| b" in md and "| fail |" in md


def test_round_trip_through_dict():
    r = record()
    assert Record.from_dict(r.to_dict()) == r


def test_labels_say_what_they_count():
    from dataclasses import replace

    from neurospec.report.samples import sample_record

    logit = sample_record(2)  # logit_attribution: a top-k count
    table = logit.charts["token_table"]
    table = {**table, "top": [{"token": "\x03", "value": 1.0, "in_set": True},
                              {"token": "\ufffd", "value": 0.5, "in_set": False}]}
    card = render_record(replace(logit, effect=4.0, ci=(4.0, 4.0), n=30,
                                 charts={"token_table": table}))
    text = " ".join(parse(card).text)
    assert "30 top-k" in text and "exact" in text and "[+4, +4]" not in text
    assert "<0x03>" in text and "<0x??>" in text and "\ufffd" not in text
    # a "within" claim's p is its equivalence test's (TOST), and says so
    within = replace(sample_record(1), direction="within", threshold=0.01, p=0.003)
    text = " ".join(parse(render_record(within)).text)
    assert "within \u00b10.01" in text and "p (equivalence)" in text and "0.003" in text


def test_non_finite_chart_values_from_a_results_file_render(tmp_path):
    """A results file stores NaN as the string "nan", in charts too (an undefined CI, a random
    unit that could not be measured): the page renders them as missing, never crashes, and
    writes no NaN coordinate (the CI run of 2026-11-30 crashed here on planted records)."""
    from neurospec.evidence.jsonio import read_results, write_results
    from neurospec.report.samples import sample_records

    records = []
    for r in sample_records(8):
        charts = dict(r.charts)
        if "bars" in charts:
            items = [{**it, "ci": [float("nan"), float("nan")]} for it in charts["bars"]["items"]]
            items[0] = {**items[0], "mean": float("nan")}
            charts["bars"] = {**charts["bars"], "items": items}
        if "null" in charts:
            charts["null"] = {**charts["null"], "values": [float("nan")] + charts["null"]["values"]}
        if "histogram" in charts:
            sets = charts["histogram"]["sets"]
            first = next(iter(sets))
            charts["histogram"] = {**charts["histogram"],
                                   "sets": {**sets, first: [float("inf")] + list(sets[first])}}
        records.append(replace(r, charts=charts, threshold=float("nan")))
    assert {"bars", "null", "histogram"} <= {k for r in records for k in r.charts}
    write_results(tmp_path / "run.json", records)
    assert '"nan"' in (tmp_path / "run.json").read_text()
    page = render_page(list(read_results(tmp_path / "run.json")))
    assert page.count("ns-card") >= 8
    assert '="nan' not in page and '="inf' not in page


def test_a_capped_page_links_only_to_the_cards_it_holds():
    import re

    from neurospec.report.html import render_fragment
    from neurospec.report.samples import sample_records

    html = render_fragment(sample_records(7), max_cards=3)
    links = re.findall(r'href="#(ns-card-\d+)"', html)
    anchors = re.findall(r'id="(ns-card-\d+)"', html)
    assert len(anchors) == 3 and sorted(links) == sorted(anchors)
    assert "4 of 7 evidence cards not shown" in html
    assert len(re.findall(r'href="#ns-card-', render_fragment(sample_records(7)))) == 7


def test_a_ci_of_rounding_width_reads_exact_and_a_narrow_real_one_does_not():
    from dataclasses import replace

    from neurospec.report.labels import ci_text
    from neurospec.report.samples import sample_record

    r = sample_record(1)
    # path patching on the planted model: a share with no spread, up to float rounding
    noise = replace(r, effect=1.0000199637818354, ci=(1.0000199637818352, 1.0000199637818366))
    assert ci_text(noise) == "exact"
    assert ci_text(replace(r, effect=1.0, ci=(0.9999, 1.0001))) == "[+0.9999, +1]"
    assert ci_text(replace(r, effect=2.0, ci=(1.0, 1.0))) != "exact"  # effect outside
    assert ci_text(replace(r, effect=float("nan"), ci=(1.0, 1.0))) != "exact"


def test_a_record_measured_through_nnsight_says_where_its_traces_ran():
    model = {"name": "meta-llama/Llama-3.1-8B", "fingerprint": "abc", "prepend_bos": True,
             "dtype": "bfloat16", "compatibility_mode": False, "checkpoint": None,
             "backend": "nnsight", "remote": f"https://ndif{EVIL}.example", "revision": "0e9e39f",
             "nnsight": "0.8.1"}
    html = render_record(record(model=model))
    assert "nnsight 0.8.1, traces run on https://ndif&lt;script&gt;" in html
    assert "at hub revision 0e9e39f" in html and EVIL not in html
    local = render_record(record(model={**model, "remote": None, "revision": None}))
    assert "nnsight 0.8.1, here" in local
    bridge = render_record(record())
    assert ">backend<" not in bridge
