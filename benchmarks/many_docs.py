"""One activation claim over many short documents: documents per second, peak RSS, and how
much the record stores.

    python benchmarks/many_docs.py [--docs 100000] [--threads 1]

Builds two sets of ``--docs`` short documents (3-7 words of the bundled German and English
held-out text, each numbered so that no two are equal), runs ``activates_more`` on
tiny-bilingual once, and ends with
``name=many_docs docs=<n> seconds=<s> docs_per_s=<d> peak_rss_mb=<m> record_bytes=<b>``,
then the numbers from before the many-documents work (2 x 100 000 documents on the same
shared 2-core machine, before commit 67d66cb; recorded in README.md by commit e7e4166) and
the speedup.
A second line times ``two_sample(measure="cohens_d")`` (BCa; its jackknife in O(n)) on two
sets of ``--docs`` values.  Run it on an older checkout to compare (it uses only the public
API).
"""

from __future__ import annotations

import argparse
import json
import resource
import time

# One claim over 2 x 100 000 short documents before the many-documents work (this script on
# a checkout before commit 67d66cb, same machine; recorded by commit e7e4166).
BEFORE = {"docs": 200_000, "seconds": 976.0, "peak_rss_mb": 5700}


def short_docs(texts: tuple[str, ...], n: int) -> list[str]:
    words = " ".join(texts).split()
    span = len(words) - 8
    return [" ".join(words[(i * 7) % span:(i * 7) % span + 3 + i % 5]) + f" {i}" for i in range(n)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--docs", type=int, default=100_000, help="documents per set")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    import torch

    from neurospec import Corpus, expect
    from neurospec.data.corpus import load_corpus
    from neurospec.evidence.sink import collecting
    from neurospec.models import load_model

    torch.set_num_threads(args.threads)
    model = load_model("tiny-bilingual", device="cpu")
    de = Corpus.from_texts(short_docs(load_corpus("german").texts, args.docs), name="de_many")
    en = Corpus.from_texts(short_docs(load_corpus("english").texts, args.docs), name="en_many")
    start = time.perf_counter()
    with collecting() as records:
        expect("L0N125", model=model).activates_more(on=de, than=en, by_at_least=0.0)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = len(json.dumps(records[0].to_dict()))
    print(f"name=many_docs docs={2 * args.docs} seconds={seconds:.1f} "
          f"docs_per_s={2 * args.docs / seconds:.0f} peak_rss_mb={peak:.0f} record_bytes={size} "
          f"verdict={records[0].verdict} effect={records[0].effect:.6f}")
    if 2 * args.docs == BEFORE["docs"]:
        print(f"name=many_docs_before docs={BEFORE['docs']} seconds={BEFORE['seconds']:.0f} "
              f"docs_per_s={BEFORE['docs'] / BEFORE['seconds']:.0f} "
              f"peak_rss_mb={BEFORE['peak_rss_mb']} speedup={BEFORE['seconds'] / seconds:.1f}x "
              f"(target >= 5x: {'met' if BEFORE['seconds'] / seconds >= 5 else 'MISSED'})")
    import numpy as np

    from neurospec.stats import two_sample

    rng = np.random.default_rng(0)
    a, b = rng.normal(0.3, 1, args.docs), rng.normal(0, 1, args.docs)
    start = time.perf_counter()
    est = two_sample(a, b, measure="cohens_d", seed=0)
    print(f"name=cohens_d_bca docs={2 * args.docs} seconds={time.perf_counter() - start:.1f} "
          f"method={est.method!r} peak_rss_mb="
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
