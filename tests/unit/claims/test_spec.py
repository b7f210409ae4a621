"""Claim specs (claims written as data): malformed specs are refused before any model is
touched, and a spec reads back as the Python call it stands for."""

import pytest

from neurospec.claims.spec import describe_spec, run_spec
from neurospec.errors import InvalidArgument


@pytest.mark.parametrize("spec, match", [
    ("L0N0", "a dict with 'unit' and 'chain'"),
    ({"unit": "L0N0"}, "a dict with 'unit' and 'chain'"),
    ({"unit": "L0N0", "chain": [["ablated", {}]], "model": "x"}, "unknown keys"),
    ({"unit": "L0N0", "chain": []}, "non-empty list"),
    ({"unit": "L0N0", "chain": [["ablated"]]}, r"\[method, kwargs\]"),
    ({"unit": "L0N0", "chain": [["_record", {}]]}, "public claim method"),
])
def test_malformed_specs_are_refused(spec, match):
    with pytest.raises(InvalidArgument, match=match):
        run_spec(spec, model=object())


def test_describe_reads_as_the_call():
    spec = {"unit": "L0N1", "chain": [["ablated", {"to": "zero"}],
                                      ["raises_loss", {"on": "planted_open", "by_at_least": 0.2}]]}
    assert describe_spec(spec) == ("expect('L0N1').ablated(to='zero')"
                                   ".raises_loss(on='planted_open', by_at_least=0.2)")
    assert describe_spec({**spec, "sae": "saes/L0"}).startswith("expect('L0N1', sae='saes/L0')")
