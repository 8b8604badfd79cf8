"""`covidct scripts`, `export`, `publish`, `croissant`: the Hugging Face Hub and Croissant artifacts."""

from __future__ import annotations

import argparse
import os
import warnings
from pathlib import Path
from typing import Any

from covidct.cli._common import UserFacingError, args, command, echo, show_warning


def _cards(ns: argparse.Namespace) -> Any:
    from covidct.registry import registry

    return registry(getattr(ns, "cards", None) or None)


def _quiet_warnings() -> None:
    warnings.showwarning = show_warning


# ------------------------------------------------------------------------------------------ scripts


def _scripts_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("ids", nargs="*", metavar="ID", help="cards to write (default: every card with a layout)")
    p.add_argument("--out", default="build/hub", help="root of the Hub folders (default: build/hub)")
    p.add_argument("--force", action="store_true", help="also replace folders that hold a Parquet export")


@command("scripts", "write a datasets<4 loading script + README for every card with a layout (OUT/covidct/<id>/)")
@args(_scripts_args)
def cmd_scripts(ns: argparse.Namespace) -> int:
    from covidct.hf.scripts import write_scripts

    reg = _cards(ns)
    cards = {c.id: c for c in (reg.get(i) for i in ns.ids)} if ns.ids else reg.cards()
    if ns.ids:
        no_layout = [i for i, c in cards.items() if not c.loadable_configs]
        if no_layout:
            raise UserFacingError(
                f"no config with a layout in {no_layout}: a loading script would have nothing "
                "to load; describe the files in the card's `layout` first"
            )
    out = Path(ns.out)
    written, kept = write_scripts(cards, out, force=ns.force)
    for folder in kept:
        echo(f"kept {folder}: it holds a Parquet export (stock datasets reads it; --force replaces it)")
    echo(f"wrote {len(written)} loading script folder(s) under {out / 'covidct'}")
    if written:
        one = next((f for f in written if f.name == "cncb"), written[0])
        echo(f"  datasets<4:  datasets.load_dataset({str(one)!r}, CONFIG, data_dir=DIR, trust_remote_code=True)")
        echo(f"  datasets>=4: covidct.load_dataset({str(one)!r}, CONFIG, data_dir=DIR)")
    return 0


# ------------------------------------------------------------------------------------------ export


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="card id, covidct/<id>, name or alias")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--data-dir", help="folder holding the dataset's files (default: download the card's archives)")
    src.add_argument(
        "--fixture",
        action="store_true",
        help="export a synthesized fixture instead of the data (for trying the tooling; never published)",
    )
    p.add_argument("--out", default="build/hub", help="root of the Hub folders (default: build/hub)")
    p.add_argument("--config", action="append", help="only this config (repeatable; default: every loadable one)")
    p.add_argument("--max-shard-size", default="500MB", help="largest Parquet shard (default 500MB)")
    p.add_argument("--num-proc", type=int, help="worker processes for preparing")
    p.add_argument("--num-shards", type=int,
                   help="Parquet files per split (default: a multiple of 8 with none over --max-shard-size, so "
                        "2, 4 or 8 nodes or stream readers get equal shares; fewer for a split of few rows)")
    p.add_argument("--allow-private-hosts", action="store_true",
                   help="let the card's downloads come from private, loopback or link-local addresses (refused by "
                        "default; same as COVIDCT_ALLOW_PRIVATE_HOSTS=1)")
    p.add_argument(
        "--allow-unknown-license",
        action="store_true",
        help="export although the card does not know whether redistribution is allowed "
        "(only with the distributor's permission)",
    )


@command("export", "prepare a dataset and write a script-free Hub folder: Parquet shards + README (OUT/covidct/<id>/)")
@args(_export_args)
def cmd_export(ns: argparse.Namespace) -> int:
    from covidct.extras import require

    require("datasets", "hf")
    from covidct.download import ALLOW_PRIVATE_ENV
    from covidct.hf.export import ExportRefused, export, export_fixture

    if ns.allow_private_hosts:
        os.environ[ALLOW_PRIVATE_ENV] = "1"
    _quiet_warnings()
    card = _cards(ns).get(ns.id)
    try:
        if ns.fixture:
            res = export_fixture(card, ns.out, configs=ns.config, num_shards=ns.num_shards)
        else:
            res = export(
                card,
                ns.data_dir,
                ns.out,
                configs=ns.config,
                max_shard_size=ns.max_shard_size,
                num_proc=ns.num_proc,
                num_shards=ns.num_shards,
                allow_unknown_license=ns.allow_unknown_license,
            )
    except ExportRefused as exc:
        raise UserFacingError(f"export refused: {exc}") from None
    echo(f"exported {res.summary()}")
    for cfg, why in res.skipped.items():
        echo(f"  skipped {cfg}: {why}", err=True)
    root = Path(ns.out)
    cfg = next(iter(res.splits), "")
    echo(
        f'  try: cd {root} && python -c \'import datasets; print(datasets.load_dataset("covidct/{card.id}", "{cfg}"))\''
    )
    if not ns.fixture:
        echo(f"  publish: covidct publish {card.id} --from {root} --dry-run")
    return 0


# ------------------------------------------------------------------------------------------ publish


def _publish_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="card id, covidct/<id>, name or alias")
    p.add_argument("--org", default="covidct", help="Hub organisation or user (default: covidct)")
    p.add_argument(
        "--from",
        dest="root",
        default="build/hub",
        help="root of the Hub folders, as given to export/scripts --out (default: build/hub)",
    )
    p.add_argument("--dry-run", action="store_true", help="print what would be uploaded; contact no server")
    p.add_argument("--private", action="store_true", help="create the repository as private")
    p.add_argument(
        "--allow-unknown-license",
        action="store_true",
        help="upload data whose redistribution terms the card does not know (with permission)",
    )
    from covidct.hf import HUB_LOGIN

    p.add_argument("--token", help=f"Hub token (default: $HF_TOKEN, else the one saved by {HUB_LOGIN})")


@command("publish", "upload an exported (or script) folder to the Hugging Face Hub, gated where the terms say")
@args(_publish_args)
def cmd_publish(ns: argparse.Namespace) -> int:
    from covidct.hf.publish import PublishError, publish

    card = _cards(ns).get(ns.id)
    try:
        echo(
            publish(
                card,
                Path(ns.root),
                ns.org,
                dry_run=ns.dry_run,
                private=ns.private,
                allow_unknown_license=ns.allow_unknown_license,
                token=ns.token,
            )
        )
    except PublishError as exc:
        raise UserFacingError(f"publish refused: {exc}") from None
    return 0


# ------------------------------------------------------------------------------------------ croissant


def _croissant_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="card id, covidct/<id>, name or alias")
    p.add_argument("--out", help="write to this file (default: standard output)")
    p.add_argument("--validate", action="store_true", help="also validate with mlcroissant (offline)")


@command("croissant", "write the card as Croissant 1.1 JSON-LD (file objects, file sets, record sets)")
@args(_croissant_args)
def cmd_croissant(ns: argparse.Namespace) -> int:
    from covidct.export.croissant import croissant_for, croissant_json, validate

    card = _cards(ns).get(ns.id)
    text = croissant_json(card)
    if ns.out:
        from covidct.fsutil import atomic_write_text

        atomic_write_text(Path(ns.out), text)
        echo(f"wrote {ns.out}", err=True)
    else:
        echo(text, end="", as_json=True)
    if ns.validate:
        errors, warns = validate(croissant_for(card))
        for w in warns:
            echo(f"croissant: warning: {w}", err=True)
        if errors:
            for e in errors:
                echo(f"croissant: error: {e}", err=True)
            return 1
        echo(f"croissant: {card.id} is valid Croissant ({len(warns)} warning(s))", err=True)
    return 0
