"""Results as a list with a DataFrame view and a Jupyter view; optional record fields."""

from dataclasses import replace

from neurospec.errors import ClaimFailed
from neurospec.evidence.jsonio import read_frame, read_results, write_results
from neurospec.evidence.results import FRAME_COLUMNS, Results, optional
from neurospec.report.html import render_record
from neurospec.report.notebook import to_html
from neurospec.report.samples import sample_record, sample_records


def test_results_file_loads_as_a_dataframe(tmp_path):
    path = tmp_path / "run.json"
    write_results(path, sample_records(4, columns=("step150", "step3000")), meta={"seed": 3})
    runs = read_results(path)
    assert isinstance(runs, list) and runs.meta == {"seed": 3}
    assert runs.columns == ["step150", "step3000"]
    df = read_frame(path)
    assert list(df.columns) == FRAME_COLUMNS and len(df) == 8
    wide = df.pivot(index="claim_id", columns="column", values="effect")
    assert wide.shape == (4, 2) and not wide.isna().any().any()
    assert df["percentile"].notna().sum() == 2  # the ablation records keep it in details


def test_optional_fields_missing_old_or_new():
    r = sample_record(0)
    assert optional(r, "vacuous") is None and optional(r, "percentile") is None
    assert optional(sample_record(1), "percentile") is not None
    assert optional(replace(r, effect="nan"), "effect") is None


def test_jupyter_views_are_the_report_views():
    rec = sample_record(2)
    html = to_html(Results([rec, sample_record(3)]))
    assert "ns-summary-box" in html and html.count('class="ns-card') == 2
    assert to_html(ClaimFailed("x", rec)) == render_record(rec)
    assert to_html(ClaimFailed("x")) is None
