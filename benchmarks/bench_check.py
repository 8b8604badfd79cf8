"""`covidct check` on a large listing, against the baseline "a bare re.fullmatch loop over the same names".

Writes a listing of N names shaped like CNCB's classification set (`{class}/{patient}/{scan}/{slice}.jpg`,
about 100 slices per scan, a few README/.DS_Store and stray files), then times in the same run, one core:
  baseline: read the listing, and Python's `re.fullmatch` for every name with the image pattern as one
            hand-written regular expression (what any matcher must do at least once)
  check:    covidct.layout.check.check(card, config, listing=...) -- the whole dry run: read, match, group
            unmatched files by reason, pair, group slices into scans, splits, labels, tally, compare counts
  full:     (--full) the same with fast=False: every name matched whole and kept as an object, as loading does
Medians of --repeat runs, alternating order, in wall time and in CPU time of this process (on a loaded
machine the wall time includes what other processes take of the core); prints each and the ratios.

    python benchmarks/bench_check.py [--n 400000] [--repeat 5] [--full]

Target (issue 11): 400,000 names in under 2 s on one core.
"""

from __future__ import annotations

import argparse
import gzip
import re
import statistics
import tempfile
import time
from pathlib import Path

from _synth import card as card_of

from covidct.card.model import Card
from covidct.layout.check import check, format_report, read_listing

CONFIG = {
    "name": "default", "tasks": ["image-classification"], "dimensionality": "2D", "example": "slice",
    "image": {"formats": ["jpeg"], "intensity": "windowed-8bit"},
    "labels": [{"name": "label", "kind": "class", "granularity": "scan", "source": ["unknown"],
                "classes": [{"name": "NCP", "value": 0}, {"name": "CP", "value": 1},
                            {"name": "Normal", "value": 2}]}],
    "layout": {
        "parts": {"cls": {"regex": "NCP|CP|Normal"}, "patient": {"regex": "[0-9]+"},
                  "scan": {"regex": "[0-9]+"}, "slice": {"regex": "[0-9]+", "type": "int"}},
        "files": {"image": {"pattern": "{cls}/{patient}/{scan}/{slice}.jpg", "format": "jpeg"}},
        "labels": {"label": {"part": "cls"}},
        "patient": {"part": "patient"},
        "group": {"by": ["cls", "patient", "scan"], "order_part": "slice"},
    },
}


BARE = re.compile(r"(?P<cls>NCP|CP|Normal)/(?P<patient>[0-9]+)/(?P<scan>[0-9]+)/(?P<slice>[0-9]+)\.jpg")


def make_listing(folder: Path, n: int) -> Path:
    names = []
    classes = ("NCP", "CP", "Normal")
    i = 0
    while len(names) < n:
        cls = classes[i % 3]
        names.extend(f"{cls}/{i:05d}/{i % 7:04d}/{k:04d}.jpg" for k in range(100))
        i += 1
    names = [*names[:n - 3], "README.md", "NCP/.DS_Store", "CP/stray.tmp"]
    path = folder / "listing.txt.gz"
    path.write_bytes(gzip.compress("".join(f"{x}\n" for x in names).encode(), compresslevel=1))
    return path


def baseline(card: Card, listing: Path) -> int:
    # Python's re with the image pattern written by hand (covidct itself matches with RE2, linear time)
    return sum(1 for name in read_listing(listing) if BARE.fullmatch(name))


def run_check(card: Card, listing: Path) -> int:
    return check(card, card.configs[0], listing=listing).files


def run_full(card: Card, listing: Path) -> int:
    return check(card, card.configs[0], listing=listing, fast=False).files


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=400_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--full", action="store_true", help="also time the file-by-file path (check(..., fast=False))")
    a = ap.parse_args()
    card = card_of(CONFIG)
    order = [("baseline", baseline), ("check", run_check)] + ([("full", run_full)] if a.full else [])
    with tempfile.TemporaryDirectory() as tmp:
        listing = make_listing(Path(tmp), a.n)
        wall: dict[str, list[float]] = {name: [] for name, _ in order}
        cpu: dict[str, list[float]] = {name: [] for name, _ in order}
        for r in range(a.repeat):
            for name, fn in order if r % 2 == 0 else reversed(order):
                w0, c0 = time.perf_counter(), time.process_time()
                fn(card, listing)
                cpu[name].append(time.process_time() - c0)
                wall[name].append(time.perf_counter() - w0)
        print(format_report(check(card, card.configs[0], listing=listing)).splitlines()[0])
    # wall time is what a user waits; CPU time (this process, one core) is the work, apart from what other
    # processes on a loaded machine take of the core
    print(f"names: {a.n:,}; medians of {a.repeat}          wall      cpu")
    labels = {"baseline": "baseline (read + re.fullmatch loop)", "check": "covidct check",
              "full": "covidct check, file by file"}
    bw, bc = statistics.median(wall["baseline"]), statistics.median(cpu["baseline"])
    for name, _ in order:
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        ratio = "" if name == "baseline" else f"  ({w / bw:.2f}x / {c / bc:.2f}x baseline)"
        print(f"{labels[name]:<36} {w:6.2f} s {c:6.2f} s{ratio}")
    w, c = statistics.median(wall["check"]), statistics.median(cpu["check"])
    print(f"target: under 2 s -> wall {'met' if w < 2 else 'NOT met'}, cpu {'met' if c < 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
