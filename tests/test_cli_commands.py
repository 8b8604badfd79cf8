"""The CLI finds its command modules by iterating its package (``covidct/cli/<topic>.py``): no list to forget
to update."""

from __future__ import annotations

from pathlib import Path

import covidct
from covidct.cli import COMMANDS, _load_plugins, command_modules

CLI = Path(covidct.__file__).resolve().parent / "cli"


def test_every_cli_module_is_found_and_adds_a_command() -> None:
    files = sorted(f"covidct.cli.{p.stem}" for p in CLI.glob("*.py") if not p.stem.startswith("_"))
    assert command_modules() == files and "covidct.cli.data" in files and "covidct.cli.cards" in files
    _load_plugins()
    by_module = {getattr(handler, "__module__", None) for handler, _, _ in COMMANDS.values()}
    assert not set(files) - by_module, f"modules that register no command: {sorted(set(files) - by_module)}"
    assert {"validate", "check", "fixture", "export", "new", "combine"} <= set(COMMANDS)


def test_a_new_module_in_the_package_adds_its_commands(tmp_path: Path, monkeypatch) -> None:
    """Discovery by the package, not by a list: a module dropped into covidct/cli/ is found."""
    import covidct.cli as cli

    (tmp_path / "zz_probe.py").write_text(
        "from covidct.cli._common import command\n\n"
        "@command('zz-probe', 'a probe')\ndef cmd(ns):\n    return 7\n", encoding="utf-8")
    monkeypatch.setattr(cli, "__path__", [*cli.__path__, str(tmp_path)])
    monkeypatch.setitem(cli.COMMANDS, "zz-probe", (lambda ns: 0, lambda p: None, ""))  # restored afterwards
    assert command_modules()[-1] == "covidct.cli.zz_probe"
    assert cli.main(["zz-probe"]) == 7


def test_python_dash_m_runs_the_cli() -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(CLI.parents[1])}
    for mod in ("covidct", "covidct.cli"):
        out = subprocess.run([sys.executable, "-m", mod, "--version"], capture_output=True, text=True, env=env,
                             timeout=120)
        assert out.returncode == 0 and out.stdout.startswith("covidct "), out.stderr
