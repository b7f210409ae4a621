"""Records survive their JSON form: non-finite numbers come back as floats, not strings."""

import math

from neurospec.evidence.record import Record
from neurospec.report.html import render_record
from neurospec.report.samples import sample_record


def test_non_finite_numbers_round_trip_as_floats():
    from dataclasses import replace

    r = replace(sample_record(0), p=math.nan, effect=math.inf, ci=(math.nan, -math.inf),
                p_adjusted=math.nan)
    d = r.to_dict()
    assert d["p"] == "nan" and d["ci"] == ["nan", "-inf"]  # JSON has no NaN
    back = Record.from_dict(d)
    assert math.isnan(back.p) and back.effect == math.inf and back.ci[1] == -math.inf
    assert back.to_dict() == d
    assert "n/a" in render_record(back)  # renders (a string p used to crash the card)
