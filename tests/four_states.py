"""A claims file whose tests end in every state a reviewer must tell apart: a pass, an error
(a mistyped corpus), two tests that state no claim, a failure the test caught, an xfail that
errored (a mistyped corpus again), and a deliberately false claim (shared by the plugin and
browser tests)."""

import textwrap

FOUR_STATES = textwrap.dedent('''
    import pytest
    from neurospec import ClaimFailed, expect

    pytestmark = pytest.mark.model("tiny-bilingual")
    U = "L0N125"

    def test_holds(corpus):
        expect(U).activates_more(on=corpus("german").subset(12),
                                 than=corpus("english").subset(12), by_at_least=0.0)

    def test_mistyped_corpus(corpus):
        expect(U).activates_more(on=corpus("germn"), than=corpus("english"), by_at_least=0.1)

    def test_no_claim(corpus):
        expect(U).ablated(to="mean", over=corpus("english").subset(12))

    def test_lookup_without_call():
        expect(U).activates_more

    def test_caught(corpus):
        try:
            expect(U).activates_more(on=corpus("english").subset(12),
                                     than=corpus("german").subset(12), by_at_least=0.5)
        except ClaimFailed:
            pass

    @pytest.mark.xfail(strict=True, reason="deliberately false")
    def test_mistyped_xfail(corpus):
        expect(U).activates_more(on=corpus("englsh"), than=corpus("german"), by_at_least=0.5)

    @pytest.mark.xfail(strict=True, reason="deliberately false")
    def test_false(corpus):
        expect(U).activates_more(on=corpus("english").subset(12),
                                 than=corpus("german").subset(12), by_at_least=0.5)
''')
