"""The ``covidct`` command: the parser, built from the command modules of this package, and ``main``.

Each subcommand is a small function in a module of this package (``cards``, ``check``, ``data``, ``hub``...),
registered with ``covidct.cli._common.command``; the modules are found by iterating the package, so a new
command group is a new module and no list names it. Heavy modules (datasets, mkdocs) are imported only
by the subcommands that need them, so ``covidct validate`` starts fast. Expected failures (invalid cards,
unknown ids, missing extras, bad data folders: every ``covidct.errors.CovidctError``) print one clear
message and exit with the error's status, never a traceback; ``main`` catches them in one place.
Command modules import ``covidct.cli._common``, never this module.
"""

from __future__ import annotations

import argparse
import pkgutil
import sys
from collections.abc import Sequence
from typing import Any

from covidct.cli._common import COMMANDS, _cards_dir, args, command, show_warning
from covidct.errors import CovidctError, UserFacingError
from covidct.terminal import echo, terminal_text


class _Parser(argparse.ArgumentParser):
    """argparse whose usage, help and error messages (which quote the arguments) are escaped too."""

    def _print_message(self, message: str, file: Any = None) -> None:
        if message:
            stream = file or sys.stderr
            stream.write(terminal_text(message))


# ------------------------------------------------------------------------------------------ main


class _Version(argparse.Action):
    """``--version``: covidct's version and the snapshot of cards it would use (``--cards`` given before it counts)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        from covidct.cards_snapshot import describe
        from covidct.version import __version__

        echo(f"covidct {__version__}\n{describe(_cards_dir(namespace))}")  # stdout, as argparse's version
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="covidct", description="A registry of lung and COVID-19 imaging dataset cards.")
    parser.add_argument("--version", action=_Version, help="print the version and which cards are in use, then exit")
    parser.add_argument("--no-index", action="store_true", help="read and validate every card afresh, without "
                        "covidct's index of the cards folder (in the user's cache; also COVIDCT_NO_INDEX=1)")
    parser.add_argument("--cards", help="folder of cards (default: $COVIDCT_CARDS, else the repository's cards/ "
                                        "when run from a clone, else the snapshot packaged with covidct)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (fn, configure, help_text) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        configure(sp)
        sp.set_defaults(handler=fn)
    return parser


def command_modules() -> list[str]:
    """The modules that add subcommands: every module of this package but those named ``_*``, in name order.

    A new command is a new module here whose functions register with ``covidct.cli._common.command``;
    no list names them. They are imported on each run (their own heavy imports wait for the command).
    """
    names = sorted(m.name for m in pkgutil.iter_modules(__path__))
    return [f"{__name__}.{n}" for n in names if not n.startswith("_")]


def _load_plugins() -> None:
    """Import the modules that register further subcommands (they may need extras at run time only)."""
    import importlib

    for mod in command_modules():
        importlib.import_module(mod)


def main(argv: Sequence[str] | None = None) -> int:
    _load_plugins()
    parser = build_parser()
    ns = parser.parse_args(argv)
    if not getattr(ns, "handler", None):
        parser.print_help()
        return 2
    if ns.no_index:
        import os

        from covidct.settings import NO_INDEX_ENV

        os.environ[NO_INDEX_ENV] = "1"
    try:
        return ns.handler(ns)
    except CovidctError as exc:  # every expected failure: one line, its own exit status, no traceback
        echo(f"covidct: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        echo("covidct: interrupted", err=True)
        return 130
    except BrokenPipeError:  # `covidct list | head`
        return 0


# main, and the names tests and older command modules took from here (command modules import covidct.cli._common)
__all__ = ["COMMANDS", "UserFacingError", "args", "build_parser", "command", "echo", "main", "show_warning",
           "terminal_text"]

