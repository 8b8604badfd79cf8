"""Contributor commands: ``covidct new ID [--from-folder DIR]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from covidct.cli._common import UserFacingError, _cards_dir, args, command, echo


def _new_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="id of the new card (lower-case, dashes), e.g. covid-ct-md")
    p.add_argument("--from-folder", metavar="DIR",
                   help="a local copy of the data: fill in what its files show")
    p.add_argument("--out", metavar="FILE",
                   help="where to write (default: CARDS/ID.yaml; ./cards/ID.yaml when the cards are the packaged ones)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.add_argument("--stdout", action="store_true", help="print the card instead of writing it")


def _new_card_folder(ns: argparse.Namespace) -> Path:
    """The cards folder in use, except the snapshot packaged with covidct (inside site-packages): ./cards."""
    from covidct.cards_snapshot import PACKAGED

    folder = _cards_dir(ns)
    return Path("cards") if folder.resolve() == PACKAGED else folder


@command("new", "scaffold a new card from the model (optionally from a local copy of the data)")
@args(_new_args)
def cmd_new(ns: argparse.Namespace) -> int:
    from covidct.scaffold import scaffold_text, write_scaffold

    try:
        if ns.stdout:
            echo(scaffold_text(ns.id, ns.from_folder), end="")
            return 0
        out = Path(ns.out) if ns.out else _new_card_folder(ns) / f"{ns.id}.yaml"
        write_scaffold(ns.id, out, ns.from_folder, force=ns.force)
    except OSError as exc:
        raise UserFacingError(f"cannot write the card: {exc}") from None
    echo(f"wrote {out}")
    if ns.from_folder:
        import shlex

        echo(f"try its layout now: covidct load {shlex.quote(str(out))} --data-dir {shlex.quote(ns.from_folder)}",
             err=True)
    echo(f"next: fill in every TODO, then `covidct validate {out}` (see CONTRIBUTING.md)", err=True)
    return 0
