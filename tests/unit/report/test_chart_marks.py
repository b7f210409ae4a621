"""Every card with an effect chart shows what decides its verdict: the threshold (class
``threshold``), the ±tolerance band of a "within" claim (``tolerance``) and zero (``zero``),
for every kind of record, including those whose charts are on another axis (a sweep's loss
changes for a rank, path patching's nats for a recovered share, a token AUROC); and chart
titles wrap instead of being cut."""

import re
from dataclasses import replace

import pytest

from neurospec.report import svg
from neurospec.report.html import render_record
from neurospec.report.samples import KINDS, sample_record

EFFECT_CHARTS = ("histogram", "bars")


def _svgs(html: str) -> list[str]:
    return re.findall(r"<svg.*?</svg>", html, re.S)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_with_an_effect_chart_draws_threshold_and_zero(kind):
    r = sample_record(KINDS.index(kind))
    assert r.kind == kind
    html = render_record(r, with_style=False)
    if not any(c in r.charts for c in EFFECT_CHARTS):
        return  # tables and contexts only: no axis to draw a threshold on
    assert 'class="threshold"' in html, kind
    assert 'class="zero"' in html, kind


@pytest.mark.parametrize("kind", ["path_patching", "neuron_sweep", "weight_gradients"])
def test_a_chart_on_another_axis_gets_the_verdict_chart(kind):
    r = sample_record(KINDS.index(kind))
    charts = _svgs(render_record(r, with_style=False))
    verdict = [c for c in charts if "against what the claim needs" in c]
    assert len(verdict) == 1
    x = float(re.search(r'class="threshold" x1="([\d.]+)"', verdict[0]).group(1))
    lo, hi = (float(v) for v in re.search(r'<line x1="([\d.]+)" y1="[\d.]+" x2="([\d.]+)"',
                                          verdict[0].split("<g stroke")[1]).groups())
    # the threshold sits where the claim puts it relative to the CI
    if r.verdict == "pass":
        assert (x <= lo) if r.direction == ">=" else (x >= hi)


def test_path_patching_bars_mark_the_share_of_the_total_effect():
    r = sample_record(KINDS.index("path_patching"))
    bars = [c for c in _svgs(render_record(r, with_style=False)) if "total vs through" in c][0]
    assert "threshold: through path must reach 50% of the total effect (+0.1)" in bars


def test_token_auroc_contrast_draws_its_threshold():
    r = replace(sample_record(KINDS.index("activation_contrast")), metric="token_auroc",
                threshold=0.8, effect=0.9, ci=(0.85, 0.95))
    html = render_record(r, with_style=False)
    assert 'class="threshold"' in html and "token auroc" in html


def test_a_within_claim_draws_the_tolerance_band_and_both_edges():
    for kind in ("ablation_loss", "path_patching", "neuron_sweep"):
        r = replace(sample_record(KINDS.index(kind)), direction="within", threshold=0.05)
        html = render_record(r, with_style=False)
        assert 'class="tolerance"' in html, kind
        assert html.count("tolerance edge") >= 2, kind


def test_no_threshold_no_verdict_chart():
    r = replace(sample_record(KINDS.index("neuron_sweep")), threshold=float("nan"))
    assert "against what the claim needs" not in render_record(r, with_style=False)


def _title_lines(chart: str) -> list[str]:
    text = re.search(r'<text[^>]*class="ns-ctitle">(.*?)</text>', chart, re.S).group(1)
    return re.findall(r"<tspan[^>]*>(.*?)</tspan>", text)


def test_attention_heatmap_title_wraps_within_its_width():
    title = ("L1H3 attention pattern on document de-0042 (first 6 tokens) vs 20 random "
             "neurons of layer 1, with a rather long description")
    chart = str(svg.attention_heatmap(list("abcdef"), [[1.0] * 6] * 6, title))
    width = float(re.search(r'<svg[^>]*width="([\d.]+)"', chart).group(1))
    lines = _title_lines(chart)
    assert len(lines) > 1
    assert " ".join(lines) == title  # nothing cut
    chars = svg.TITLE_CHARS * width / svg.W
    assert all(len(line) <= chars for line in lines)
    # the plot starts below the title's last line
    top = min(float(y) for y in re.findall(r'<rect x="[\d.]+" y="([\d.]+)"', chart))
    assert top > 13 * len(lines)


def test_every_chart_title_wraps_and_a_long_word_is_split():
    word = "x" * 150
    chart = str(svg.bars([{"set": "a", "mean": 1.0, "ci": [0.5, 1.5]}], f"short {word}"))
    lines = _title_lines(chart)
    assert "".join(lines).replace(" ", "") == "short" + word
    assert all(len(line) <= svg.TITLE_CHARS for line in lines)


def test_a_zero_effect_bar_carries_the_band_and_the_verdict_chart_shows_it_at_its_scale():
    r = sample_record(KINDS.index("ablation_loss"))
    items = [{"set": "other", "mean": 0.3, "ci": [0.28, 0.32], "n": 120},
             {"set": "plain", "mean": 0.0, "ci": [0.0, 0.0], "n": 120}]
    r = replace(r, effect=0.0, ci=(0.0, 0.0), direction="within", threshold=0.001,
                charts={"bars": {"title": "loss change", "unit": "nats", "items": items}})
    charts = _svgs(render_record(r, with_style=False))
    bars = [c for c in charts if "against what the claim needs" not in c]
    assert len(charts) == 2 and len(bars) == 1
    assert 'class="tolerance"' in bars[0] and 'class="threshold"' in bars[0]


def test_the_random_unit_chart_draws_the_percentile_the_claim_asked_for():
    # beats_random_units(percentile=80) writes details.required_percentile; the report once
    # read that key while nothing wrote it, and always drew the 95th percentile
    values = [float(v) for v in range(100)]
    base = replace(sample_record(0), charts={"null": {
        "title": "random units", "unit_value": 99.0, "values": values,
        "units": [f"L0N{i}" for i in range(100)]}}, details={"units_label": "(x)"})
    asked = replace(base, details={**base.details, "required_percentile": 80.0})
    assert "80th percentile of the random units" in render_record(asked)
    assert "95th percentile of the random units" in render_record(base)  # nothing asked
    assert "0th percentile" in render_record(
        replace(base, details={**base.details, "required_percentile": 0.0}))


def test_beats_random_units_records_the_percentile_it_asked_for(tmp_path):
    from neurospec import corpus, expect, load_model
    from neurospec.evidence.sink import collecting

    model = load_model("tiny-bilingual")
    with collecting():
        r = expect("L0N125", model=model).activates_more(
            on=corpus("german").subset(12), than=corpus("english").subset(12),
            by_at_least=0.1).beats_random_units(k=9, percentile=80)
    assert r.record.details["required_percentile"] == 80.0
    assert "80th percentile of the random units" in render_record(r.record)


def test_a_sequential_claim_draws_its_sequence_with_threshold_and_stop():
    r = sample_record(KINDS.index("activation_contrast"))
    charts = dict(r.charts)
    charts["sequence"] = {"title": "95% confidence sequence <b>", "threshold": 0.85,
                          "n_max": 790, "stopped": 89,
                          "points": [{"n": 40, "estimate": 0.93, "lo": 0.5, "hi": 1.0},
                                     {"n": 89, "estimate": 0.917, "lo": 0.873, "hi": 0.946}]}
    html = render_record(replace(r, charts=charts), with_style=False)
    seq = [s for s in _svgs(html) if "ns-sequence" in s]
    assert len(seq) == 1
    assert 'class="threshold"' in seq[0] and 'class="ns-stop"' in seq[0]
    assert "stopped after 89 of 790" in seq[0] and "<b>" not in seq[0]
    details = {**r.details, "sequential": {
        "mode": "sequential", "stopped_after": 89, "of": 790, "documents": 89,
        "documents_of": 800, "looks": 3, "bounds": [0.873, 0.946], "verdict": "pass",
        "sequence": "asymptotic <i>"}}
    html = render_record(replace(r, charts=charts, details=details), with_style=False)
    assert "stopped after 89 of 790 units (89 of 800 documents read, 3 looks)" in html
    assert "<i>" not in html
