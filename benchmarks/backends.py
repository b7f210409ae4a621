"""Benchmark: the nnsight backend against the TransformerLens bridge, in the same run.

1. The bundled hypotheses suite in one pytest process through each backend
   (``--neurospec-backend nnsight``): wall time, the time ratio (goal <= 1.5x), and whether
   every claim agrees (``neurospec.report.agreement``, as the GPU tier compares devices).
2. Per remote-capable claim on tiny-bilingual: the time through nnsight here and through
   nnsight's local simulation of a remote run (the serialisation overhead per claim), the
   requests it makes, and the bytes sent and received per request (zstd, as the NDIF client
   sends them).

    python benchmarks/backends.py [--quick] [--device cpu|cuda]

Last line: ``name=nnsight ratio=<nnsight / bridge suite time> agree=<claims agreeing> ...``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["hypotheses/test_tiny_bilingual_german_neuron.py",
         "hypotheses/test_tiny_bilingual_heads.py"]


def suite(files: list[str], json_path: Path, device: str, *extra: str) -> float:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", *files, "-q", "-p", "no:cacheprovider",
                           f"--neurospec-json={json_path}", f"--device={device}",
                           "--neurospec-threads=2", *extra],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 1) or not json_path.exists():
        sys.exit(f"pytest ({' '.join(extra) or 'bridge'}) ended with {done.returncode}:\n"
                 f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return time.perf_counter() - t


def claims(de, en):
    from neurospec import expect, head

    n = "L0N125"
    return {
        "activates_more (AUROC)": lambda m: expect(n, model=m).activates_more(
            on=de, than=en, auroc_at_least=0.8),
        "  + beats_random_units(k=20)": lambda m: expect(n, model=m).activates_more(
            on=de, than=en, by_at_least=0.0).beats_random_units(k=20, percentile=95),
        "raises_loss (zero)": lambda m: expect(n, model=m).ablated(to="zero").raises_loss(
            on=de, by_at_least=0.0),
        "raises_loss (mean), against_random=20": lambda m: expect(n, model=m).ablated(
            to="mean", over=en).raises_loss(on=de, by_at_least=0.0, against_random=20),
        "and_not_on (resample)": lambda m: expect(n, model=m).ablated(
            to="resample", over=en).and_not_on(en, 0.05),
        "head ablation_raises_loss": lambda m: expect(head("L1H2"), model=m)
        .ablation_raises_loss(on=de, by_at_least=0.0),
    }


def per_claim() -> list[tuple[str, float, float, int, int, int]]:
    """(claim, seconds here, seconds simulated, requests, bytes sent, bytes received)."""
    from neurospec import ClaimFailed, load_model
    from neurospec.data.corpus import load_corpus

    warnings.simplefilter("ignore")
    de, en = load_corpus("german"), load_corpus("english")
    here = load_model("tiny-bilingual", backend="nnsight")
    sim = load_model("tiny-bilingual", remote="local")
    rows = []
    for name, claim in claims(de, en).items():
        times = []
        for m in (here, sim):
            m.cache.clear()
            before = len(getattr(m.remote, "log", []))
            t = time.perf_counter()
            try:
                claim(m)
            except ClaimFailed:
                pass
            times.append(time.perf_counter() - t)
        log = sim.remote.log[before:]
        rows.append((name, times[0], times[1], len(log), sum(r.sent for r in log),
                     sum(r.received for r in log)))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help=f"{len(QUICK)} files of the suite")
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    files = QUICK if args.quick else sorted(
        str(f.relative_to(ROOT)) for f in (ROOT / "hypotheses").glob("test_*.py"))
    from neurospec.evidence.jsonio import read_results
    from neurospec.report.agreement import agreement, disagreements

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t_bridge = suite(files, tmp / "bridge.json", args.device)
        t_nn = suite(files, tmp / "nnsight.json", args.device, "--neurospec-backend", "nnsight")
        base, head = read_results(tmp / "bridge.json"), read_results(tmp / "nnsight.json")
    found = disagreements(agreement(base, head))
    print(f"hypotheses suite, {len(files)} files, {len(base)} claim checks, one process, "
          f"device {args.device}, {os.cpu_count()} CPU cores")
    print(f"{'backend':<28}{'seconds':>10}")
    print(f"{'TransformerLens bridge':<28}{t_bridge:>10.1f}")
    print(f"{'nnsight (here)':<28}{t_nn:>10.1f}")
    print(f"ratio nnsight / bridge: {t_nn / t_bridge:.2f} (goal <= 1.5)")
    print(f"claims that disagree: {len({m.claim_id for m in found})} of {len(base)}")
    for m in found[:10]:
        print(f"  {m}")
    rows = per_claim()
    print("\nper claim on tiny-bilingual (german 400 docs vs english 400), nnsight here vs "
          "through the local simulation of NDIF")
    print(f"{'claim':<40}{'here s':>8}{'sim s':>8}{'overhead':>10}{'requests':>9}"
          f"{'sent KB':>9}{'recv KB':>9}")
    for name, a, b, n, sent, recv in rows:
        print(f"{name:<40}{a:>8.2f}{b:>8.2f}{b - a:>+10.2f}{n:>9}{sent / 1e3:>9.1f}"
              f"{recv / 1e3:>9.1f}")
    overhead = sum(b - a for _, a, b, *_ in rows) / len(rows)
    print(f"name=nnsight ratio={t_nn / t_bridge:.2f} bridge_s={t_bridge:.1f} "
          f"nnsight_s={t_nn:.1f} agree={len(base) - len({m.claim_id for m in found})}/"
          f"{len(base)} sim_overhead_per_claim_s={overhead:.2f}")


if __name__ == "__main__":
    main()
