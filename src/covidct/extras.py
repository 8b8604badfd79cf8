"""Optional dependencies: a clear message naming the extra to install when one is missing."""

from __future__ import annotations

import importlib.util

from covidct.errors import CovidctError


class MissingExtra(CovidctError, ImportError):
    """An optional dependency is missing; the message names the extra to install (exit status 3)."""

    exit_code = 3


def require(module: str, extra: str) -> None:
    """Raise :class:`MissingExtra` saying ``pip install 'covidct[extra]'`` when ``module`` is absent."""
    if importlib.util.find_spec(module) is None:
        raise MissingExtra(
            f"this needs the Python package {module!r}, which is not installed; "
            f"install it with: pip install 'covidct[{extra}]'"
        )
