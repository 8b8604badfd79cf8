"""The commands about the cards themselves: validate, list, show, overlaps, schema, build."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from covidct.card.issues import Severity, issues_to_json
from covidct.cli._common import _cards_dir, args, command, show_warning
from covidct.errors import UserFacingError
from covidct.registry import registry
from covidct.terminal import echo

# ------------------------------------------------------------------------------------------ validate


def _validate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", help="card files or folders (default: the registry's cards/)")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--jobs", "-j", type=int, default=1, help="worker processes (0 = one per core)")
    p.add_argument("--changed", metavar="REF", help="only cards changed since git REF (e.g. origin/main)")
    p.add_argument("--strict", action="store_true", help="warnings fail too")
    p.add_argument("--quiet", "-q", action="store_true", help="print problems only, no summary")


def _one_line_warnings(handler: Any) -> Any:
    """Warnings (e.g. a card index that had to be rebuilt) as one line each, while ``handler`` runs."""
    import functools
    import warnings

    @functools.wraps(handler)
    def run(ns: argparse.Namespace) -> int:
        with warnings.catch_warnings():
            warnings.showwarning = show_warning
            return handler(ns)  # type: ignore[no-any-return]

    return run


@command("validate", "check cards: YAML, schema and consistency; exit 1 on any error")
@args(_validate_args)
@_one_line_warnings
def cmd_validate(ns: argparse.Namespace) -> int:
    from covidct.card.validate import count, validate_paths

    cards_dir = _cards_dir(ns)
    paths = [Path(p) for p in ns.paths] or [cards_dir]
    if ns.changed:
        from covidct.gitchanges import changed_cards

        paths = changed_cards(ns.changed, paths)
        if not paths:
            if ns.format == "text" and not ns.quiet:
                echo(f"no cards changed since {ns.changed}")
            elif ns.format == "json":
                echo("[]")
            return 0
    # the whole registry is the context of the cross-card checks, whichever cards are checked
    jobs = ns.jobs if ns.jobs > 0 else (os.cpu_count() or 1)
    index = registry(cards_dir).index() if cards_dir.is_dir() else None  # only changed registry cards are read
    results = validate_paths(paths, jobs=jobs, registry_dir=cards_dir, index=index)
    issues = [i for r in results for i in r.issues]
    errors, warnings = count(results)
    if ns.format == "json":
        echo(issues_to_json(issues), as_json=True)
    else:
        for i in issues:
            echo(i.format())
        if not ns.quiet:
            ok = len(results) - len({i.path for i in issues if i.severity is Severity.ERROR})
            echo(f"{len(results)} card(s) checked: {ok} valid, {errors} error(s), {warnings} warning(s)", err=True)
    return 1 if errors or (ns.strict and warnings) else 0


# ------------------------------------------------------------------------------------------ list/show


def _list_args(p: argparse.ArgumentParser) -> None:
    for f in ("modality", "task", "anatomy", "license", "access"):
        p.add_argument(f"--{f}", action="append", help=f"keep cards whose {f} matches (repeatable)")
    p.add_argument("--layout", action="append", help="keep cards with a config whose layout is verified (against "
                   "a real file listing), differs, unverified, `derived` (rebuilt from other datasets' copies), `no "
                   "layout`, or `unavailable` (no layout, and the data is no longer distributed) (repeatable)")
    p.add_argument("--concept", action="append", help="keep cards with a class that carries this concept: a code "
                   "(840539006, SCTID:840539006, RID1301) or its name (COVID-19) (repeatable)")
    p.add_argument("--format", choices=["table", "json", "csv", "ids"], default="table")


@command("list", "list the cards, filtered by modality, task, anatomy, license, access, concept")
@args(_list_args)
@_one_line_warnings
def cmd_list(ns: argparse.Namespace) -> int:
    from covidct.catalog_filter import filter_catalog, filter_columns, filter_rows

    reg = registry(_cards_dir(ns))
    filters = {"modality": ns.modality, "task": ns.task, "anatomy": ns.anatomy, "license": ns.license,
               "access": ns.access, "layout": ns.layout, "concept": ns.concept}
    if ns.format in ("json", "csv"):  # the DataFrame's own serialisations
        df = filter_catalog(reg.catalog(), **filters)
        if ns.format == "json":
            echo(df.to_json(orient="records", force_ascii=False, indent=2), as_json=True)
        else:
            echo(df.to_csv(index=False), end="")
        return 0
    # ids and the table come from the index's columns, without pandas (as DataFrame.to_string printed them)
    shown = ["id"] if ns.format == "ids" else _TABLE
    columns = filter_rows(reg.catalog_columns([*shown, *filter_columns(**filters)]), **filters)
    if ns.format == "ids":
        for i in columns["id"]:
            echo(i)
        return 0
    if not columns["id"]:
        echo("no cards match", err=True)
        return 0
    from covidct.texttable import table_text

    echo(table_text({c: [_cell(c, v) for v in columns[c]] for c in _TABLE}))
    echo(f"{len(columns['id'])} dataset(s)", err=True)
    return 0


_TABLE = ["id", "modality", "tasks", "patients", "images", "license", "access", "layout"]  # `covidct list`'s columns
_JOINED = {"modality", "tasks", "layout"}
_COUNTS = {"patients", "images"}


def _cell(column: str, value: Any) -> str:
    """A cell of `covidct list`'s table: lists joined by commas, counts with thousands separators."""
    if column in _JOINED:
        return ",".join(value)
    if column in _COUNTS:
        return "" if value is None else f"{value:,}"
    return str(value)


def _show_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="card id, covidct/<id>, name or alias")
    p.add_argument("--format", choices=["text", "json", "yaml"], default="text")


@command("show", "show one card")
@args(_show_args)
@_one_line_warnings
def cmd_show(ns: argparse.Namespace) -> int:
    reg = registry(_cards_dir(ns))
    path, rec = reg.locate(ns.id)  # with a warm index: neither other cards nor the card model are loaded
    if ns.format == "json":
        echo(reg.get(ns.id).model_dump_json(indent=2, exclude_none=True), as_json=True)
        return 0
    if ns.format == "yaml":
        echo(path.read_text(encoding="utf-8"), end="")
        return 0
    echo(reg.show_text(rec))
    return 0


# ------------------------------------------------------------------------------------------ overlaps


def _overlaps_args(p: argparse.ArgumentParser) -> None:
    from covidct.cli.fingerprint import add_manifest_args

    p.add_argument("ids", nargs="*", metavar="ID", help="two or more card ids, names or aliases (lineage)")
    p.add_argument("--max-hops", type=int, default=3, help="longest chain of lineage links to follow")
    p.add_argument("--format", choices=["text", "json"], default="text")
    add_manifest_args(p)


@command("overlaps", "which datasets share patients or images: from the cards' lineage (IDs), or measured in the "
         "data (--manifest from `covidct fingerprint`)")
@args(_overlaps_args)
def cmd_overlaps(ns: argparse.Namespace) -> int:
    from covidct.lineage import overlaps

    if ns.manifest:
        if ns.ids:
            raise UserFacingError("give card ids (lineage) or --manifest files (data), not both")
        from covidct.cli.fingerprint import manifest_overlaps

        return manifest_overlaps(ns)
    reg = registry(_cards_dir(ns))
    ids = [reg.get(ref).id for ref in ns.ids]
    if len(set(ids)) < 2:
        raise UserFacingError("name at least two different datasets")
    found = overlaps(reg.cards(), ids, max_hops=ns.max_hops)
    if ns.format == "json":
        echo(json.dumps([o.to_dict() for o in found], ensure_ascii=False, indent=2), as_json=True)
        return 0
    check = "to check the data itself: `covidct fingerprint ID --data-dir DIR --out ID.parquet` for each, then " \
            "`covidct overlaps --manifest A.parquet --manifest B.parquet`"
    if not found:
        echo(f"no known overlap among {', '.join(ids)} (from the cards' lineage)")
        echo(check, err=True)
        return 0
    for o in found:
        echo("\n".join(o.lines()))
    echo("combine with care: keep shared patients in one split, and deduplicate images", err=True)
    echo(check, err=True)
    return 0


# ------------------------------------------------------------------------------------------ schema


def _schema_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", help="write to this file instead of standard output")


@command("schema", "print the card JSON Schema (committed as schema/card.schema.json)")
@args(_schema_args)
def cmd_schema(ns: argparse.Namespace) -> int:
    from covidct.card.model import json_schema
    from covidct.fsutil import atomic_write_text

    text = json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
    if ns.out:
        atomic_write_text(Path(ns.out), text)
    else:
        echo(text, end="", as_json=True)
    return 0


# ------------------------------------------------------------------------------------------ build


def _build_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="build", help="output folder (default: build/)")
    p.add_argument("--skip", action="append", default=[], help="skip a step (repeatable)")
    p.add_argument("--jobs", "-j", type=int, default=0, help="worker processes for validation (0 = all cores)")


@command("build", "validate every card, then build the site and the Hub folders")
@args(_build_args)
def cmd_build(ns: argparse.Namespace) -> int:
    from covidct.build import run_build

    return run_build(_cards_dir(ns), Path(ns.out), skip=set(ns.skip), jobs=ns.jobs)


