"""The CLI finds its command modules by name (``covidct/cli_<topic>.py``): no list to forget to update."""

from __future__ import annotations

from pathlib import Path

import covidct
from covidct.cli import COMMANDS, _load_plugins, command_modules

SRC = Path(covidct.__file__).resolve().parent


def test_every_cli_module_is_found_and_adds_a_command() -> None:
    files = sorted(f"covidct.{p.stem}" for p in SRC.glob("cli_*.py") if p.stem != "cli_common")
    assert command_modules() == files and "covidct.cli_data" in files
    _load_plugins()
    by_module = {getattr(handler, "__module__", None) for handler, _, _ in COMMANDS.values()}
    assert not set(files) - by_module, f"modules that register no command: {sorted(set(files) - by_module)}"
    assert {"validate", "check", "fixture", "export", "new", "combine"} <= set(COMMANDS)
