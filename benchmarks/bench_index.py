"""The card index at scale: `covidct show`, `covidct list`, `covidct.catalog()` and a one-card-changed
`covidct validate` on generated registries, with a cold index (an empty cache folder) and a warm one.

    python benchmarks/bench_index.py                       # 1,000 / 5,000 / 10,000 cards
    python benchmarks/bench_index.py --sizes 1000 --repeat 5

Each command runs as a user runs it: a fresh `covidct` process (python -m covidct.cli), its own
COVIDCT_CACHE_DIR. Cold: the cache folder is emptied before each run (show by id then reads its one card;
list, catalog and validate validate every card and write the index). Warm: the index is up to date;
for validate, one card is changed before each run. Printed: medians of wall time and of the process's
CPU time (steadier on a shared machine), and warm / cold ratios from the same run.

Targets (issue 15): at 10,000 cards with a warm index, show < 0.3 s, list and catalog() < 1 s; validate
after one changed card re-checks that card plus the cross-card checks.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
MARK = "9999999"  # stands for the copy's number in a template's text


def templates() -> list[tuple[str, str]]:
    """(stem, text with MARK) of each registry card that stays valid as a copy (lineage dropped)."""
    from covidct.card.validate import parse_card_text

    out = []
    for p in sorted((REPO / "cards").glob("*.yaml")):
        if p.name.startswith("_"):
            continue
        data = yaml.load(p.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        data["id"] = f"{p.stem}-{MARK}"
        data["name"] = f"{data['name']} no. {MARK}"
        data["aliases"] = [f"{a} no. {MARK}" for a in data.get("aliases", [])]
        data.pop("lineage", None)  # lineage targets would not exist among the copies
        text = yaml.dump(data, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False, width=100)
        probe = text.replace(MARK, "0")
        if not any(i.severity.value == "error" for i in parse_card_text(probe, p.name, f"{p.stem}-0").issues):
            out.append((p.stem, text))
    return out


def make_cards(folder: Path, n: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    tpl = templates()
    ids = []
    for i in range(n):
        stem, text = tpl[i % len(tpl)]
        cid = f"{stem}-{i}"
        (folder / f"{cid}.yaml").write_text(text.replace(MARK, str(i)), encoding="utf-8")
        ids.append(cid)
    return ids


def run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one covidct process; exits on failure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,5000,10000")
    ap.add_argument("--repeat", type=int, default=5, help="warm runs of each command")
    ap.add_argument("--repeat-cold", type=int, default=1, help="cold runs of each command (each validates everything)")
    ap.add_argument("--cold-list-only", action="store_true", help="time catalog() and validate cold only through "
                    "`list` (all three validate every card and write the index): their ratios are to list's cold run")
    ns = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; medians of wall / CPU seconds")
    for n in (int(x) for x in ns.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
            work = Path(tmp)
            cards, cache = work / "cards", work / "cache"
            t0 = time.perf_counter()
            ids = make_cards(cards, n)
            print(f"\n{n} cards generated in {time.perf_counter() - t0:.1f} s")
            env = dict(os.environ, COVIDCT_CACHE_DIR=str(cache), COVIDCT_CARDS=str(cards))
            env.pop("COVIDCT_NO_INDEX", None)
            cli = ["-m", "covidct.cli"]
            target = ids[len(ids) // 2]
            changed = cards / f"{ids[len(ids) // 3]}.yaml"
            original = changed.read_text(encoding="utf-8")
            commands = {
                "show ID": [*cli, "show", target],
                "list": [*cli, "list"],
                "catalog()": ["-c", "import covidct; print(len(covidct.catalog()))"],
                "validate (1 changed)": [*cli, "validate", "-q"],
            }
            cold_list: list[tuple[float, float]] = []
            for name, args in commands.items():
                cold = []
                if ns.cold_list_only and name not in ("show ID", "list"):
                    cold = cold_list
                for _ in range(ns.repeat_cold if not cold else 0):
                    shutil.rmtree(cache, ignore_errors=True)
                    cold.append(run(args, env))
                if name == "list":
                    cold_list = cold
                if name == "show ID":  # a warm index: made by one full listing
                    run([*cli, "list", "--format", "ids"], env)
                warm = []
                for k in range(ns.repeat):
                    if name.startswith("validate"):
                        changed.write_text(original + f"# change {k}\n", encoding="utf-8")
                    warm.append(run(args, env))
                changed.write_text(original, encoding="utf-8")
                cw, cc = statistics.median(x[0] for x in cold), statistics.median(x[1] for x in cold)
                ww, wc = statistics.median(x[0] for x in warm), statistics.median(x[1] for x in warm)
                mark = "*" if cold is cold_list and name != "list" else " "
                print(f"{n:>6} {name:<21}{mark}cold {cw:7.2f} s / {cc:6.2f} CPU   warm {ww:6.3f} s / {wc:6.3f} CPU   "
                      f"warm/cold {ww / cw:.3f} wall, {wc / cc:.3f} CPU")


if __name__ == "__main__":
    main()
