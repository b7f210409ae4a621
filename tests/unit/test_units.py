import pytest

from neurospec.errors import InvalidUnit, UnitOutOfRange
from neurospec.units import Feature, Head, Neuron, check_unit, head, neuron, parse_unit


class Shape:
    name, n_layers, d_mlp, n_heads = "toy", 2, 256, 4


@pytest.mark.parametrize("text, expected", [
    ("L3N669", Neuron(3, 669)), ("L10H7", Head(10, 7)), ("L1F880", Feature(1, 880)),
    (" L0N0 ", Neuron(0, 0)),
])
def test_parse(text, expected):
    assert parse_unit(text) == expected
    assert parse_unit(text).name == text.strip()


@pytest.mark.parametrize("text", ["L3", "N669", "l3n669", "L3N", "L-1N3", "L3X4", "", "L3N6.5",
                                  "L0N\u0662\u0663\u0660", "L\uff10N1"])
def test_parse_rejects_with_an_example(text):
    with pytest.raises(InvalidUnit, match="expected L<layer>N<neuron>"):
        parse_unit(text)


def test_parse_rejects_non_strings():
    with pytest.raises(InvalidUnit, match="must be a string"):
        parse_unit(3)


def test_neuron_and_head_check_the_kind():
    assert neuron("L1N2").hook == "blocks.1.mlp.hook_post"
    assert head("L1H2").hook == "blocks.1.attn.hook_z"
    with pytest.raises(InvalidUnit, match="is a head, not a neuron"):
        neuron("L1H2")
    with pytest.raises(InvalidUnit, match="is a neuron, not a head"):
        head("L1N2")


def test_range_errors_give_the_valid_range():
    assert check_unit(Neuron(1, 255), Shape) == Neuron(1, 255)
    with pytest.raises(UnitOutOfRange, match=r"layers 0\.\.1"):
        check_unit(Neuron(2, 0), Shape)
    with pytest.raises(UnitOutOfRange, match=r"neurons 0\.\.255"):
        check_unit(Neuron(0, 256), Shape)
    with pytest.raises(UnitOutOfRange, match=r"heads 0\.\.3"):
        check_unit(Head(0, 4), Shape)
