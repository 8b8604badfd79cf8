"""The one root of covidct's expected failures.

Every error a user can meet (an invalid card, an unknown id, a missing extra, a data folder that does
not fit the layout, an unreadable file, a refused archive or download...) derives from
:class:`CovidctError`. Its message says where and what to do; ``exit_code`` is the status the command
line exits with after printing ``covidct: <message>``, which ``covidct.cli.main`` does in one place.
A library user catches ``CovidctError`` to handle them all.

Each error class lives beside the code that raises it and derives from this base there (``CardError``
in covidct.registry, ``ReadError`` in covidct.readers, ``LayoutError`` in covidct.layout.walk...); some
also keep the builtin base callers relied on (``MissingExtra`` is an ``ImportError``, ``UnknownCard``
a ``KeyError``, ``PatternError`` a ``ValueError``). This module imports nothing of covidct, so any
layer may raise these without an import circle.
"""

from __future__ import annotations


class CovidctError(Exception):
    """An expected failure; the message tells the user what went wrong, where, and what to do."""

    exit_code: int = 1


class UserFacingError(CovidctError):
    """A refusal of the command line itself (bad arguments, an option combination that cannot work)."""


__all__ = ["CovidctError", "UserFacingError"]
