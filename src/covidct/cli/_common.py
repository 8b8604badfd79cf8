"""What every command module of the CLI uses: registering a command, its arguments, the cards folder,
printing, warnings and the CLI's own errors.

Below ``covidct.cli`` (which builds the parser from :data:`COMMANDS` and runs ``main``) and below the
command modules (``covidct.cli.check``, ``covidct.cli.data``...), so a command module never imports the
CLI that imports it. Everything printed goes through :func:`echo` (covidct.terminal).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from covidct.errors import UserFacingError
from covidct.registry import default_cards_dir
from covidct.terminal import echo

Handler = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[Handler, Callable[[argparse.ArgumentParser], None], str]] = {}


def command(name: str, help: str) -> Callable[[Handler], Handler]:
    """Register ``fn`` as ``covidct <name>``; its ``configure`` attribute adds arguments."""

    def deco(fn: Handler) -> Handler:
        COMMANDS[name] = (fn, getattr(fn, "configure", lambda p: None), help)
        return fn

    return deco


def args(configure: Callable[[argparse.ArgumentParser], None]) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        fn.configure = configure  # type: ignore[attr-defined]
        return fn

    return deco


def show_warning(message: Any, category: Any, filename: str, lineno: int, file: Any = None,
                 line: str | None = None) -> None:
    """``warnings.showwarning`` for commands: one line, no source location, escaped like all output.

    A ``DataNotice`` (something covidct did on the user's behalf, e.g. extracting archives found in
    data_dir) is said without "warning:"."""
    notice = getattr(category, "__name__", "") == "DataNotice"
    echo(f"covidct: {'' if notice else 'warning: '}{message}", err=True)


def _cards_dir(ns: argparse.Namespace) -> Path:
    return Path(ns.cards) if getattr(ns, "cards", None) else default_cards_dir()


__all__ = ["COMMANDS", "Handler", "UserFacingError", "_cards_dir", "args", "command", "echo", "show_warning"]
