"""Which methods of a class of claims count as claims: those the class defines, not what a
library mounts on ``object`` (nnsight, once imported, gives every object a ``save`` method)."""

import pytest

from neurospec.claims.expect import NeuronExpectation
from neurospec.claims.expectation import claims_of


def test_a_method_mounted_on_object_is_not_a_claim():
    # object's attributes cannot be set from Python; nnsight does it through the C API
    nnsight = pytest.importorskip("nnsight")
    assert nnsight is not None and hasattr(object, "save")
    names = claims_of(NeuronExpectation)
    assert "save" not in names
    assert {"activates_more", "ablated", "writes_tokens"} <= names


def test_a_subclass_keeps_its_parents_claims():
    class More(NeuronExpectation):
        def fires_twice(self):  # a claim method of the subclass
            return None

    assert claims_of(More) == claims_of(NeuronExpectation) | {"fires_twice"}
