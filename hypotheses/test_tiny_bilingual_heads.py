"""Seed 002's head analyses on tiny-bilingual: ablating a head, and removing only its direct
effect on the logits, split by whether the next token already appeared in the document
(the copy-suppression style of claim; L1H2 turns out to be a copying head)."""

import pytest

from neurospec import expect, head

pytestmark = pytest.mark.model("tiny-bilingual")


def test_zero_ablating_l0h3_raises_german_loss(corpus):
    expect(head("L0H3")).ablated(to="zero").raises_loss(on=corpus("german"), by_at_least=0.2)


def test_l1h2_direct_effect_helps_repeated_tokens(corpus):
    expect(head("L1H2")).direct_effect_favours_repeats(on=corpus("german"), by_at_least=0.0,
                                                       add_mean_over=corpus("english"))


@pytest.mark.xfail(strict=True, reason="deliberately false: L1H1's direct effect favours new "
                                       "tokens")
def test_false_l1h1_direct_effect_helps_repeated_tokens(corpus):
    expect(head("L1H1")).direct_effect_favours_repeats(on=corpus("german"), by_at_least=0.0,
                                                       add_mean_over=corpus("english"))
