"""Keeping cards true to the real world: ``covidct check`` proves a layout on the real file names (without
decoding pixels), ``covidct links`` asks every URL of the cards whether it still answers as the card says."""

from __future__ import annotations

import argparse
import json

from covidct.cli._common import UserFacingError, _cards_dir, args, command, echo


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
    from covidct.registry import load_card

    if not ns.listing and not ns.data_dir:
        raise UserFacingError("give --listing FILE or --data-dir DIR (or both: names from the listing, tables "
                              "from the folder)")
    card = load_card(ns.id, getattr(ns, "cards", None))
    try:
        cfg = card.config(ns.config)
    except KeyError as exc:
        raise UserFacingError(str(exc.args[0])) from None
    report = check(card, cfg, listing=ns.listing, data_dir=ns.data_dir, release=ns.release)
    if ns.format == "json":
        echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False), as_json=True)
    else:
        echo(format_report(report))
    return 0 if report.ok else 1


def _links_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("ids", nargs="*", metavar="ID", help="cards to check (default: every card)")
    p.add_argument("--download", action="store_true",
                   help="also download each file that has a checksum and compare its sha256 with the card's")
    p.add_argument("--timeout", type=float, help="seconds per connect or read (default: COVIDCT_DOWNLOAD_TIMEOUT "
                   "or 30)")
    p.add_argument("--format", choices=["text", "json", "markdown"], default="text")


@command("links", "check every URL of the cards (status, redirects, size; --download: checksums); exit 1 when "
         "one is broken, moved or changed")
@args(_links_args)
def cmd_links(ns: argparse.Namespace) -> int:
    from covidct.links import OK, check_links, format_markdown, format_text
    from covidct.registry import registry

    reg = registry(_cards_dir(ns))
    cards = [reg.get(i) for i in ns.ids] if ns.ids else list(reg.cards().values())
    if ns.timeout is not None and not ns.timeout > 0:
        raise UserFacingError("--timeout must be a number of seconds above 0")
    results = check_links(cards, download=ns.download, timeout=ns.timeout)
    if ns.format == "json":
        echo(json.dumps([r.to_json() for r in results], indent=2, ensure_ascii=False), as_json=True)
    elif ns.format == "markdown":
        echo(format_markdown(results))
    else:
        echo(format_text(results))
    return 0 if all(r.kind == OK for r in results) else 1
