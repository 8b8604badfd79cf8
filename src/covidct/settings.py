"""covidct's settings from the environment: every ``COVIDCT_*`` variable is named and parsed here.

>>> from covidct.settings import settings
>>> settings().cards_dir  # $COVIDCT_CARDS, else None                          # doctest: +SKIP

:func:`settings` reads the environment when called (tests and ``--allow-private-hosts`` change it at
run time). Each value is parsed when it is asked for, so a bad ``COVIDCT_HUB_DATA`` stops the build
step that uses it, not ``covidct list``.

A value that cannot be used raises :class:`SettingError` (a ValueError and a CovidctError, so the command
line prints its one-line message, not a traceback) naming the variable and what to write instead;
covidct.download and covidct.archives pass it on in their own errors, which also name the URL or archive.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from covidct.errors import CovidctError

CARDS_ENV = "COVIDCT_CARDS"
HUB_DATA_ENV = "COVIDCT_HUB_DATA"
HUB_FIXTURES_ENV = "COVIDCT_HUB_FIXTURES"
ALLOW_PRIVATE_ENV = "COVIDCT_ALLOW_PRIVATE_HOSTS"
TIMEOUT_ENV = "COVIDCT_DOWNLOAD_TIMEOUT"
RETRIES_ENV = "COVIDCT_DOWNLOAD_RETRIES"
MAX_UNPACKED_ENV = "COVIDCT_MAX_UNPACKED_BYTES"
MAX_DECODED_ENV = "COVIDCT_MAX_DECODED_BYTES"
CACHE_ENV = "COVIDCT_CACHE_DIR"
NO_INDEX_ENV = "COVIDCT_NO_INDEX"
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 2


class SettingError(CovidctError, ValueError):
    """An environment variable whose value cannot be used; the message names it and says what to write."""


@dataclass(frozen=True)
class Settings:
    """The settings of one environment (``os.environ`` unless another mapping is given)."""

    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)

    def _get(self, name: str) -> str:
        return self.environ.get(name, "").strip()

    @property
    def cards_dir(self) -> Path | None:
        """``COVIDCT_CARDS``: the folder of cards (None when unset or empty)."""
        raw = self.environ.get(CARDS_ENV, "")
        return Path(raw) if raw else None

    @property
    def cache_dir(self) -> Path:
        """``COVIDCT_CACHE_DIR``: where covidct keeps what it can rebuild (the index of a cards folder, DICOM
        header values); else ``$XDG_CACHE_HOME/covidct``, else the platform's user cache folder."""
        raw = self._get(CACHE_ENV)
        if raw:
            return Path(raw).expanduser()
        xdg = self._get("XDG_CACHE_HOME")
        if xdg and Path(xdg).is_absolute():
            return Path(xdg) / "covidct"
        if sys.platform == "win32":
            base = self._get("LOCALAPPDATA")
            return (Path(base) if base else Path.home() / "AppData" / "Local") / "covidct" / "Cache"
        if sys.platform == "darwin":
            return Path.home() / "Library" / "Caches" / "covidct"
        return Path.home() / ".cache" / "covidct"

    @property
    def use_index(self) -> bool:
        """False when ``COVIDCT_NO_INDEX`` is set (1, true, yes, on): every command reads and validates the
        cards afresh and no index is read or written (for debugging; the results are the same)."""
        return self._get(NO_INDEX_ENV).lower() not in ("1", "true", "yes", "on")

    @property
    def hub_data(self) -> dict[str, str]:
        """``COVIDCT_HUB_DATA``: card id → data folder, ``ID=DIR`` entries separated by ``os.pathsep``;
        ValueError for an entry that is not ``ID=DIR``."""
        out: dict[str, str] = {}
        for entry in self.environ.get(HUB_DATA_ENV, "").split(os.pathsep):
            entry = entry.strip()
            if not entry:
                continue
            card_id, sep, path = entry.partition("=")
            if not sep or not card_id.strip() or not path.strip():
                raise SettingError(f"{HUB_DATA_ENV} entry {entry!r} is not ID=DIR: write card-id=folder entries "
                                   f"separated by {os.pathsep!r}, e.g. covid-ct-md=/data/covid-ct-md")
            out[card_id.strip()] = path.strip()
        return out

    @property
    def hub_fixtures(self) -> list[str] | Literal["all"]:
        """``COVIDCT_HUB_FIXTURES``: ``all`` or card ids separated by ``,`` (empty: none)."""
        raw = self._get(HUB_FIXTURES_ENV)
        if raw == "all":
            return "all"
        return [i.strip() for i in raw.split(",") if i.strip()]

    @property
    def allow_private_hosts(self) -> bool:
        """``COVIDCT_ALLOW_PRIVATE_HOSTS``: downloads may reach loopback and private addresses."""
        return self._get(ALLOW_PRIVATE_ENV).lower() in ("1", "true", "yes", "on")

    @property
    def download_timeout(self) -> float:
        """``COVIDCT_DOWNLOAD_TIMEOUT``: seconds per connect or read (default 30)."""
        return self._number(TIMEOUT_ENV, DEFAULT_TIMEOUT, float)

    @property
    def download_retries(self) -> int:
        """``COVIDCT_DOWNLOAD_RETRIES``: retries after a failure that may pass (default 2)."""
        return self._number(RETRIES_ENV, DEFAULT_RETRIES, int)

    @property
    def max_unpacked_bytes(self) -> int | None:
        """``COVIDCT_MAX_UNPACKED_BYTES``: what any archive may unpack to (None: the default limit);
        ``_`` may group digits."""
        return self._bytes(MAX_UNPACKED_ENV)

    @property
    def max_decoded_bytes(self) -> int | None:
        """``COVIDCT_MAX_DECODED_BYTES``: what one image file may decode to (None: the readers' default
        limit); ``_`` may group digits."""
        return self._bytes(MAX_DECODED_ENV)

    def _bytes(self, name: str) -> int | None:
        raw = self._get(name)
        if not raw:
            return None
        try:
            value = int(raw.replace("_", ""))
        except ValueError:
            value = -1
        if value <= 0:
            raise SettingError(f"{name}={raw!r} is not a positive number of bytes (e.g. 2_000_000_000), or unset it")
        return value

    def _number(self, name: str, default: float, kind: type) -> Any:
        raw = self._get(name)
        if not raw:
            return kind(default)
        try:
            value = kind(raw)
        except ValueError:
            value = -1
        if value < 0 or (kind is float and value == 0):
            what = "timeout in seconds" if kind is float else "count"
            raise SettingError(f"the setting {name}={raw!r} is not a valid {what}")
        return value


def settings() -> Settings:
    """The settings of the current environment."""
    return Settings()


__all__ = ["ALLOW_PRIVATE_ENV", "CACHE_ENV", "CARDS_ENV", "HUB_DATA_ENV", "HUB_FIXTURES_ENV", "MAX_DECODED_ENV",
           "MAX_UNPACKED_ENV", "NO_INDEX_ENV", "RETRIES_ENV", "TIMEOUT_ENV", "SettingError", "Settings", "settings"]
