"""Fuzz `covidct validate` and the generators with hypothesis: counts of crashes (target 0) and throughput.

Runs N examples (default 10,000) drawn from tests/property/strategies.py: valid cards, mutated cards
(schema and consistency errors) and broken YAML text, in equal shares. For every example:
  - validate (parse_card_text: located YAML, schema, semantic checks) must return issues or a card,
    each issue located (line, col >= 1) with a known code; anything else counts as a crash;
  - for each card that validates, every generator runs and its output is parsed back and compared:
    the card YAML itself, the loading script's embedded card (read by ast, not executed), the Hub
    README front matter (yaml.safe_load), Croissant JSON and the schema.org <script> JSON-LD.
    An exception counts as a generator crash, a difference as a round-trip mismatch.
Hypothesis runs with shrinking off, no example database and no deadline; a failure is recorded and
the run goes on (it never stops at the first). Baseline, measured in the same run: PyYAML's C safe
loader parsing the same texts; the script prints validate's time per example and its ratio to that.

    python benchmarks/fuzz.py [--n 10000] [--seed 0]

Exit status 1 when anything crashed or failed to round-trip.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import re
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

import yaml
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "property"))

from strategies import broken_text, card_text, mutated_card, valid_card  # noqa: E402

from covidct.card.issues import KINDS, Severity  # noqa: E402
from covidct.card.model import Card  # noqa: E402
from covidct.card.validate import parse_card_text  # noqa: E402

KINDS_OF_INPUT = {"valid": valid_card().map(card_text), "mutated": mutated_card().map(card_text),
                  "broken-text": broken_text()}


class Stats:
    def __init__(self) -> None:
        self.examples = Counter()
        self.outcome = Counter()  # valid / invalid per input kind
        self.codes = Counter()
        self.crashes: Counter[str] = Counter()
        self.mismatches: Counter[str] = Counter()
        self.first_failure: dict[str, str] = {}
        self.t_validate = 0.0
        self.t_baseline = 0.0
        self.t_generate = 0.0
        self.generated = 0

    def fail(self, kind: str, what: str, detail: str, bucket: Counter[str]) -> None:
        bucket[what] += 1
        self.first_failure.setdefault(what, f"[{kind}] {detail}")


def round_trips(model: Card) -> list[tuple[str, bool]]:
    """(artifact, parsed back equal) for every generator."""
    from covidct.export.croissant import croissant_json
    from covidct.export.schemaorg import dataset_jsonld, script_tag
    from covidct.hf.readme import front_matter, render_readme
    from covidct.hf.scripts import CARD_VAR, script_source

    as_json = model.model_dump(mode="json", exclude_none=True)
    out = []
    again = parse_card_text(card_text(as_json), "again.yaml", model.id).card
    out.append(("card-yaml", again == model))
    if any(c.layout is not None for c in model.configs):  # scripts are written for loadable cards only
        src = script_source(model)
        literal = next(n.value.value for n in ast.parse(src).body if isinstance(n, ast.Assign)
                       and getattr(n.targets[0], "id", None) == CARD_VAR)
        out.append(("loading-script", json.loads(literal) == as_json))
    text = render_readme(model, "scripts")
    end = text.index("\n---\n", 4)
    fm = yaml.safe_load(text[4:end + 1])
    out.append(("readme-yaml", fm == json.loads(json.dumps(front_matter(model, "scripts")))
                and fm["pretty_name"] == model.name))
    doc = json.loads(croissant_json(model))
    out.append(("croissant", doc["name"] == model.name and doc.get("alternateName", []) == model.aliases))
    data = dataset_jsonld(model, url="https://covidct.example/x/")
    m = re.fullmatch(r'<script type="application/ld\+json">(.*)</script>', script_tag(data), flags=re.S)
    out.append(("schema-org", m is not None and "</script" not in m.group(1).lower()
                and json.loads(m.group(1)) == json.loads(json.dumps(data))))
    return out


def check(kind: str, text: str, stats: Stats) -> None:
    stats.examples[kind] += 1
    t = time.perf_counter()
    with contextlib.suppress(yaml.YAMLError):
        yaml.load(text, Loader=yaml.CSafeLoader)
    stats.t_baseline += time.perf_counter() - t
    t = time.perf_counter()
    try:
        result = parse_card_text(text, "card.yaml", None)
    except Exception:
        stats.t_validate += time.perf_counter() - t
        stats.fail(kind, "validate raised", traceback.format_exc(limit=3), stats.crashes)
        return
    stats.t_validate += time.perf_counter() - t
    lines = text.count("\n") + 2
    for i in result.issues:
        if i.code not in KINDS or not (1 <= i.line <= lines and i.col >= 1) or not i.message:
            stats.fail(kind, "issue not located", repr(i), stats.crashes)
    errors = [i for i in result.issues if i.severity is Severity.ERROR]
    stats.codes.update({i.code for i in errors})
    if errors:
        stats.outcome[f"{kind}: invalid"] += 1
        return
    if result.card is None:
        stats.fail(kind, "no card and no error", text[:200], stats.crashes)
        return
    stats.outcome[f"{kind}: valid"] += 1
    t = time.perf_counter()
    try:
        for artifact, ok in round_trips(result.card):
            if not ok:
                stats.fail(kind, f"{artifact} differs", result.card.id, stats.mismatches)
        stats.generated += 1
    except Exception:
        stats.fail(kind, "generator raised", traceback.format_exc(limit=4), stats.crashes)
    stats.t_generate += time.perf_counter() - t


def _run(kind: str, strategy: st.SearchStrategy[str], n: int, seed_: int, stats: Stats) -> None:
    @seed(seed_)
    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(text: str) -> None:
        check(kind, text, stats)

    run()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="examples in all (default 10,000)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    stats = Stats()
    per_kind = {k: args.n // len(KINDS_OF_INPUT) + (1 if i < args.n % len(KINDS_OF_INPUT) else 0)
                for i, k in enumerate(KINDS_OF_INPUT)}
    t0 = time.perf_counter()
    for kind, strategy in KINDS_OF_INPUT.items():
        _run(kind, strategy, per_kind[kind], args.seed, stats)
    wall = time.perf_counter() - t0
    n = sum(stats.examples.values())
    print(f"examples: {n:,} ({', '.join(f'{k} {v:,}' for k, v in stats.examples.items())}) in {wall:.1f} s "
          f"({n / wall:,.0f} examples/s including generation of the examples)")
    print("outcomes: " + ", ".join(f"{k} {v:,}" for k, v in sorted(stats.outcome.items())))
    print("error codes seen (examples): " + ", ".join(f"{c} {v}" for c, v in sorted(stats.codes.items())))
    print(f"crashes: {sum(stats.crashes.values())}  round-trip mismatches: {sum(stats.mismatches.values())}  "
          f"(targets 0)")
    for what, count in (stats.crashes + stats.mismatches).items():
        print(f"  {what}: {count}\n    first: {stats.first_failure[what][:1500]}")
    per_val = stats.t_validate / max(n, 1) * 1e3
    per_base = stats.t_baseline / max(n, 1) * 1e3
    print(f"validate: {per_val:.3f} ms/example; baseline (PyYAML CSafeLoader parse of the same text): "
          f"{per_base:.3f} ms/example; ratio {stats.t_validate / max(stats.t_baseline, 1e-9):.2f}x")
    print(f"generators (5 artifacts + parse back) on {stats.generated:,} valid cards: "
          f"{stats.t_generate / max(stats.generated, 1) * 1e3:.2f} ms/card")
    return 1 if stats.crashes or stats.mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
