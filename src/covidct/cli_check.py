"""``covidct check``: prove a config's layout against a dataset's real file names, without decoding pixels."""

from __future__ import annotations

import argparse
import json

from covidct.cli import UserFacingError, args, command, echo


def _check_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="card id, covidct/<id>, name or alias")
    p.add_argument("config", nargs="?", help="config name (needed when the card has several)")
    p.add_argument("--data-dir", help="a real copy, or a tree of the real names beside the real tables")
    p.add_argument("--listing", help="one relative path per line (find . -type f, unzip -Z1; .gz accepted); "
                   "tables from --data-dir")
    p.add_argument("--release", help="compare with the card's counts of this release (default: the one it describes)")
    p.add_argument("--format", choices=["text", "json"], default="text")


@command("check", "dry-run a layout on real file names (a listing or a folder): what matches, what does not, "
         "counts against the card; exit 1 on unmatched data files or count differences")
@args(_check_args)
def cmd_check(ns: argparse.Namespace) -> int:
    from covidct.layout.check import check, format_report
    from covidct.layout.walk import LayoutError
    from covidct.registry import load_card

    if not ns.listing and not ns.data_dir:
        raise UserFacingError("give --listing FILE or --data-dir DIR (or both: names from the listing, tables "
                              "from the folder)")
    card = load_card(ns.id, getattr(ns, "cards", None))
    try:
        cfg = card.config(ns.config)
    except KeyError as exc:
        raise UserFacingError(str(exc.args[0])) from None
    try:
        report = check(card, cfg, listing=ns.listing, data_dir=ns.data_dir, release=ns.release)
    except LayoutError as exc:
        raise UserFacingError(str(exc)) from None
    if ns.format == "json":
        echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False), as_json=True)
    else:
        echo(format_report(report))
    return 0 if report.ok else 1
