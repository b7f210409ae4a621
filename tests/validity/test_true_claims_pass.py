"""True claims must still pass under the stricter rules: L0N125's ablation raises German loss,
and its off-target claim on English (within ±tolerance, two one-sided tests) holds with a
small p, so Holm does not demote it.  The English documents are not those the ablation's mean
is taken over, and there are 300 of them: on 200 their loss changes are skewed enough
(skewness of the mean 0.21 > 0.2) that the bound facing +0.01 is Cantelli's (p 0.016)."""

from neurospec.claims.expect import expect
from neurospec.data.corpus import load_corpus
from neurospec.evidence.sink import collecting


def test_l0n125_ablation_and_its_off_target_claim_pass(tiny, manifest):
    unit = manifest["german_neuron"]["unit"]
    de, en = load_corpus("german").subset(200), load_corpus("english").subset(300, start=100)
    with collecting() as records:
        expect(unit, model=tiny).ablated(to="mean", over=load_corpus("english").subset(100)) \
            .raises_loss(on=de, by_at_least=0.03).and_not_on(en, tolerance=0.01)
    raises, off = records
    assert raises.verdict == "pass" and raises.p <= 0.025
    assert off.verdict == "pass" and off.direction == "within" and off.p <= 0.001
