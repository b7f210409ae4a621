"""The path card: the edges table (each edge against its threshold, vs its random sources),
one histogram per edge with its own threshold, the path's histogram with the claim's, and
every text escaped (a token named like markup stays text)."""

import re
from dataclasses import replace

from neurospec.evidence.record import Record
from neurospec.report.html import render_record
from neurospec.report.samples import KINDS, sample_record


def _path() -> Record:
    return sample_record(KINDS.index("transcoder_path"))


def test_the_path_card_shows_each_edge_and_the_path_against_their_thresholds():
    r = _path()
    html = render_record(r, with_style=False)
    for e in r.details["path_edges"]:
        assert f"edge threshold: the mean per token must reach {e['threshold']:.4g}" in html
    assert "threshold: the mean per token must reach 0.004" in html
    rows = re.findall(r'<tr class="[^"]*"><td>([^<]*) &rarr; ([^<]*)</td>', html)
    assert [a for a, _ in rows] == [e["source"] for e in r.details["path_edges"]]
    assert "percentile 100 among 8" in html
    assert "path_edges" not in html  # its own table, not a raw details row


def test_the_path_card_escapes_what_it_shows():
    r = _path()
    hostile = "<img src=x onerror=alert(1)>"
    edges = [{**e, "target": hostile} for e in r.details["path_edges"]]
    charts = dict(r.charts)
    charts["edge_histograms"] = [{**h, "title": hostile} for h in r.charts["edge_histograms"]]
    r = replace(r, details={**r.details, "path_edges": edges}, charts=charts)
    html = render_record(r, with_style=False)
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>" not in html and "&lt;b&gt;" in html  # the sample's "logit(' <b>&amp;')"


def test_a_failed_edge_is_marked():
    r = _path()
    edges = [dict(e) for e in r.details["path_edges"]]
    edges[1].update(verdict="fail", missed="CI lower bound 0.001 < 0.01")
    html = render_record(replace(r, details={**r.details, "path_edges": edges}),
                         with_style=False)
    assert html.count('<tr class="ns-missed"><td>') == 1
