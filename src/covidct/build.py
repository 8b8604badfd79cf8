"""`covidct build`: the main job. Validate every card, then run each output step.

Steps are plain functions ``(cards_dir, out, cards) -> str`` returning a one-line summary; a step
that needs an extra which is not installed fails with the extra's name.
"""

from __future__ import annotations

import os
from pathlib import Path

from covidct.card.issues import Severity
from covidct.card.validate import count, validate_paths
from covidct.steps import STEPS, step


def run_build(cards_dir: Path, out: Path, skip: set[str] | None = None, jobs: int = 0) -> int:
    from covidct.terminal import echo  # the CLI's printer: card text in reports is escaped for the terminal

    skip = skip or set()
    unknown = skip - {n for n, _ in STEPS}
    if unknown:
        echo(f"covidct build: unknown step(s) {sorted(unknown)}; steps: {[n for n, _ in STEPS]}", err=True)
        return 2
    from covidct.registry import Registry

    reg = Registry(cards_dir)  # one index: the cards validated here are not validated again for the steps
    results = validate_paths([cards_dir], jobs=jobs if jobs > 0 else (os.cpu_count() or 1), registry_dir=cards_dir,
                             index=reg.index() if cards_dir.is_dir() else None)
    for r in results:
        for i in r.issues:
            echo(i.format(), err=True)
    errors, warnings = count(results)
    echo(f"validate: {len(results)} card(s), {errors} error(s), {warnings} warning(s)")
    if errors:
        return 1
    cards = reg.cards()
    for name, fn in STEPS:
        if name in skip:
            echo(f"{name}: skipped")
            continue
        echo(f"{name}: {fn(cards_dir, out, cards)}")
    n_layout = sum(1 for c in cards.values() if c.loadable_configs)
    echo(f"summary: {len(cards)} dataset(s), {n_layout} loadable from their layout")
    return 0


def _register_steps() -> None:
    """Import the modules whose steps take part in the build, in order."""
    import importlib

    for mod in ("covidct.site.build", "covidct.hf.hub_build"):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("covidct"):
                continue  # that output is not part of this version
            raise


_register_steps()
__all__ = ["STEPS", "Severity", "run_build", "step"]
