from dataclasses import replace

from neurospec.evidence.results import base_test_id, claim_ids
from neurospec.report.matrix import build_matrix, matrix_html, matrix_markdown, order_columns
from neurospec.report.samples import sample_record


def at(i, label, verdict, effect=0.05):
    r = sample_record(i)
    return replace(r, test=f"{r.test}[{label}]", checkpoint=label, verdict=verdict,
                   effect=effect, ci=(effect - 0.01, effect + 0.01),
                   outcome="passed" if verdict == "pass" else "failed")


def test_columns_in_training_order_and_holds_from():
    recs = [at(0, "step3000", "pass"), at(0, "step150", "fail", 0.0), at(0, "step750", "pass"),
            at(1, "step3000", "fail"), at(1, "step150", "pass"), at(1, "step750", "pass"),
            at(2, "step150", "pass")]
    m = build_matrix(recs)
    assert m.columns == ("step150", "step750", "step3000")
    assert [r.holds_from for r in m.rows] == ["step750", None, None]
    assert m.rows[2].cells[1] is None
    md = matrix_markdown(m)
    assert "| step150 | step750 | step3000 | holds from |" in md
    assert "fail +0 | pass +0.05 | pass +0.05 | step750 |" in md
    html = matrix_html(m)
    assert html.count("ns-m-flip") == 2 and "ns-m-none" in html and "<svg" in html


def test_order_columns_keeps_other_labels_in_appearance_order():
    assert order_columns(["gpt2", "pythia-70m"]) == ["gpt2", "pythia-70m"]
    assert order_columns(["step10", "step9"]) == ["step9", "step10"]


def test_claim_ids_strip_the_checkpoint_parameter_and_number_repeats():
    r = sample_record(0)
    recs = [replace(r, test="t.py::f[x-step150]", checkpoint="step150"),
            replace(r, test="t.py::f[x-step150]", checkpoint="step150"),
            replace(r, test="t.py::f[step150-x]", checkpoint="step150"),
            replace(r, test="t.py::f[step150]", checkpoint="step150")]
    assert base_test_id(recs[0]) == "t.py::f[x]" and base_test_id(recs[2]) == "t.py::f[x]"
    assert claim_ids(recs) == ["t.py::f[x]", "t.py::f[x]#1", "t.py::f[x]#2", "t.py::f"]


def test_holds_from_needs_the_checkpoint_before_it_measured():
    # step150 not measured: "holds from step750" would claim more than was seen
    recs = [at(0, "step750", "pass"), at(0, "step3000", "pass"), at(1, "step150", "fail"),
            at(1, "step750", "pass"), at(1, "step3000", "pass")]
    m = build_matrix(recs)
    assert [r.holds_from for r in m.rows] == [None, "step750"]


def test_matrix_only_when_a_claim_ran_on_two_checkpoints_of_one_model():
    from neurospec.report.matrix import needs_matrix

    two_models = [replace(sample_record(0), model={**sample_record(0).model, "name": n})
                  for n in ("a", "b")]
    assert not needs_matrix(two_models)
    assert needs_matrix([at(0, "step150", "fail"), at(0, "step3000", "pass")])
    assert not needs_matrix([at(0, "step150", "fail"), at(1, "step3000", "pass")])


def test_identical_weights_are_flagged():
    recs = [at(0, "step150", "fail"), at(0, "step3000", "pass")]
    m = build_matrix(recs)  # sample records share one fingerprint
    assert m.same_weights == (("step150", "step3000", "0" * 16),)
    assert "identical weights" in matrix_html(m) and "identical weights" in matrix_markdown(m)
    other = [recs[0], replace(recs[1], model={**recs[1].model, "fingerprint": "f" * 16})]
    assert "identical weights" not in matrix_html(build_matrix(other))
