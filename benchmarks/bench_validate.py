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


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


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
        base = median_time(lambda: baseline(folder), a.repeat)
        one = median_time(lambda: validate_paths([folder], jobs=1), a.repeat)
        two = median_time(lambda: validate_paths([folder], jobs=2), a.repeat)
    print(f"cards: {a.n} (0 errors, {warnings} warnings); median of {a.repeat}")
    print(f"baseline  yaml.load(CSafeLoader), 1 core : {base:7.2f} s")
    print(f"covidct validate, jobs=1               : {one:7.2f} s   ratio {one / base:.2f}  (target <= 1.20)")
    print(f"covidct validate, jobs=2               : {two:7.2f} s   ratio {two / base:.2f}  (target <= 0.80)")


if __name__ == "__main__":
    main()
