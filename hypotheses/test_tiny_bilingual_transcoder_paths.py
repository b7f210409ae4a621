"""A path of the bundled attribution graph (fixtures/graphs/tiny-bilingual-german.json) as a
claim on the German fortunes: L0T341 -> L1T109 -> the logit of '\\n'.

On the graph's one prompt the edges weigh 0.63 (L0T341 -> L1T109, at ' als') and 0.86
(L1T109 -> the '\\n' logit).  The claim asks whether the path holds on average over a corpus:
each edge's direct effect per token, and the path's own effect (L0T341's direct effect on
L1T109's pre-activation, through its ReLU gate, times L1T109's direct effect on the logit),
each against its threshold with a document CI, and against 8 random source features."""

import pytest

from neurospec import expect, logit

# drives() freezes attention patterns, which only the TransformerLens backend can do
pytestmark = pytest.mark.model("tiny-bilingual", backend="transformer_lens")

TRANSCODERS = "tiny-bilingual"


def test_l0t341_raises_the_newline_logit_through_l1t109(corpus):
    # measured on these 100 documents: path 0.0148 logits per token (CI [0.012, 0.018]);
    # edges 0.132 (pre-activation) and 0.050 (logit); random sources' paths: median 0.0001
    expect("L0T341", transcoder=TRANSCODERS).drives(
        logit("\n"), via="L1T109", on=corpus("german").subset(100), by_at_least=0.005,
        edges_at_least=[0.05, 0.01], against_random=8)
