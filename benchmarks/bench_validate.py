"""Validation speed against the baseline "PyYAML's C loader parses the same files".

Generates N cards (copies of the registry's cards under new ids), then times, in the same run:
  baseline: read + yaml.load(CSafeLoader) of every file, one core
  validate: covidct's full validation (located YAML, schema, semantic and registry checks), jobs=1
  validate: the same with jobs=2 (both cores)
Each is repeated and the median is reported with its ratio to the baseline.

    python benchmarks/bench_validate.py [--n 10000] [--repeat 3]

Targets (issue 2): jobs=1 <= 1.2x baseline; jobs=2 <= 0.8x baseline.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from covidct.card.validate import count, parse_card_text, validate_paths

REPO = Path(__file__).resolve().parents[1]


def _copy(text: str, new_id: str, i: int) -> str:
    """The card under a new id with a unique name and aliases (so registry checks pass), re-serialised."""
    data = yaml.load(text, Loader=yaml.CSafeLoader)
    data["id"] = new_id
    data["name"] = f"{data['name']} no. {i}"
    data["aliases"] = [f"{a} no. {i}" for a in data.get("aliases", [])]
    data["lineage"] = []  # lineage targets would not exist among the copies
    return "# yaml-language-server: $schema=../schema/card.schema.json\n" + yaml.safe_dump(
        data, allow_unicode=True, sort_keys=False, width=100)


def make_cards(out: Path, n: int) -> None:
    templates = []
    for p in sorted((REPO / "cards").glob("*.yaml")):
        text = p.read_text(encoding="utf-8")
        copy = _copy(text, "probe", 0)
        if not parse_card_text(copy, p.name, "probe").issues:  # keep the cards this rewrite handles
            templates.append((p.stem, text))
    print(f"templates: {len(templates)} registry cards")
    for i in range(n):
        stem, text = templates[i % len(templates)]
        new_id = f"{stem}-{i}"
        (out / f"{new_id}.yaml").write_text(_copy(text, new_id, i), encoding="utf-8")


def baseline(folder: Path) -> None:
    for p in sorted(folder.glob("*.yaml")):
        with p.open("rb") as fh:
            yaml.load(fh.read(), Loader=yaml.CSafeLoader)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_cards(folder, a.n)
        results = validate_paths([folder], jobs=1)
        errors, warnings = count(results)
        if errors:
            raise SystemExit(f"generated cards do not validate: {[i.format() for r in results for i in r.issues][:5]}")
        # Rounds interleave the three runs, so a burst of load from elsewhere hits all of them alike;
        # the ratio is taken within each round and its median reported.
        rounds = []
        for _ in range(a.repeat):
            base = timed(lambda: baseline(folder))
            one = timed(lambda: validate_paths([folder], jobs=1))
            two = timed(lambda: validate_paths([folder], jobs=2))
            rounds.append((base, one, two))
    med = [statistics.median(r[i] for r in rounds) for i in range(3)]
    r1 = statistics.median(r[1] / r[0] for r in rounds)
    r2 = statistics.median(r[2] / r[0] for r in rounds)
    print(f"cards: {a.n} (0 errors, {warnings} warnings); {a.repeat} interleaved rounds, medians")
    print(f"baseline  yaml.load(CSafeLoader), 1 core : {med[0]:7.2f} s")
    print(f"covidct validate, jobs=1               : {med[1]:7.2f} s   ratio {r1:.2f}  (target <= 1.20)")
    print(f"covidct validate, jobs=2               : {med[2]:7.2f} s   ratio {r2:.2f}  (target <= 0.80)")
    print("per-round ratios (jobs=1, jobs=2): " + ", ".join(f"{r[1] / r[0]:.2f}/{r[2] / r[0]:.2f}" for r in rounds))


if __name__ == "__main__":
    main()
