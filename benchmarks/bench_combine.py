"""Benchmark: covidct.combine over fixtures of three datasets against loading each one on its own.

Baseline: the sum of ``covidct.load_dataset`` for cncb/classification, covid-ct and covid-ctset/folds,
each from scratch (fresh cache). Measured: ``covidct.combine`` of the same three fixtures under the
target covid-pneumonia-ct, also from scratch (it loads each source, then maps labels and splits by
patient). Medians of --repeats runs, in this process.

    python benchmarks/bench_combine.py [--per-class 8] [--repeats 5]

Prints both medians and the ratio combine / sum of loads (target <= 1.2). No assertions.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

SOURCES = {"cncb": "classification", "covid-ct": "default", "covid-ctset": "folds"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-class", type=int, default=8, help="fixture examples per class and split")
    ap.add_argument("--repeats", type=int, default=5)
    ns = ap.parse_args()
    warnings.simplefilter("ignore")
    import datasets

    datasets.disable_progress_bars()
    import covidct
    from covidct.fixtures import synthesize
    from covidct.registry import load_card

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        dirs = {}
        for cid, cfg in SOURCES.items():
            card = load_card(cid)
            dirs[cid] = root / "data" / cid
            synthesize(card, card.config(cfg), dirs[cid], per_class=ns.per_class)
        loads, combines = [], []
        def load_each(r: int) -> None:
            t0 = time.perf_counter()
            for cid, cfg in SOURCES.items():
                covidct.load_dataset(cid, cfg, data_dir=dirs[cid], cache_dir=root / f"load-{r}")
            loads.append(time.perf_counter() - t0)

        def combine(r: int) -> object:
            t0 = time.perf_counter()
            ds = covidct.combine(list(SOURCES), "covid-pneumonia-ct", dirs, split_by="patient", test_size=0.2,
                                 seed=r, cache_dir=root / f"combine-{r}")
            combines.append(time.perf_counter() - t0)
            return ds

        for r in range(ns.repeats):  # alternate which goes first, so neither always finds a warm file cache
            if r % 2:
                ds = combine(r)
                load_each(r)
            else:
                load_each(r)
                ds = combine(r)
        n = sum(d.num_rows for d in ds.values())
        lo, co = statistics.median(loads), statistics.median(combines)
        print(f"examples combined: {n}")
        print(f"sum of loads (median of {ns.repeats}): {lo:.3f} s")
        print(f"combine      (median of {ns.repeats}): {co:.3f} s")
        print(f"ratio combine / sum of loads: {co / lo:.2f} (target <= 1.2)")


if __name__ == "__main__":
    main()
