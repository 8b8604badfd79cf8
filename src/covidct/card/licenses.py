"""License ids of cards, checked against the SPDX License List.

A card's ``license.id`` is an SPDX license identifier or expression (``CC-BY-4.0``,
``MIT OR Apache-2.0``, ``GPL-2.0-only WITH Classpath-exception-2.0``), a user-defined
``LicenseRef-<name>``, or one of the card model's own words: ``other`` (custom terms, described by
the license's name, url and summary) and ``unknown``.

The list comes from ``license-expression`` (the ScanCode LicenseDB index it ships offline, pinned in
pyproject.toml so the accepted ids change only with a deliberate upgrade). Its parser also knows
ScanCode's aliases (``GPL`` for ``GPL-1.0-or-later``, deprecated ``GPL-2.0``): covidct takes each
id only in its current SPDX spelling, and offers the alias's target as the suggestion. Expressions
are parsed by ``license-expression`` too, with no symbols known, so each id is seen as written.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache

NOT_SPDX = ("other", "unknown")  # the card model's own values, not SPDX ids
LICENSE_REF = re.compile(r"LicenseRef-[A-Za-z0-9.-]+")  # SPDX: user-defined license references
_PLAIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+-]*")


@dataclass(frozen=True)
class LicenseProblem:
    message: str
    suggestion: str | None = None


@dataclass(frozen=True)
class _SpdxList:
    licenses: dict[str, str]  # casefolded -> current SPDX license id
    exceptions: dict[str, str]  # casefolded -> current SPDX exception id
    aliases: dict[str, str]  # casefolded alias or deprecated id -> current SPDX id


@lru_cache(maxsize=1)
def _spdx() -> _SpdxList:
    from license_expression import get_license_index  # imported when a card names a license

    licenses: dict[str, str] = {}
    exceptions: dict[str, str] = {}
    aliases: dict[str, str] = {}
    for entry in get_license_index():
        key = entry.get("spdx_license_key") or ""
        if not key or key.startswith("LicenseRef-") or entry.get("is_deprecated"):
            continue  # ScanCode's own references and retired entries are not current SPDX ids
        (exceptions if entry.get("is_exception") else licenses)[key.casefold()] = key
        for alias in entry.get("other_spdx_license_keys") or ():
            if not alias.startswith("LicenseRef-"):
                aliases.setdefault(alias.casefold(), key)
    return _SpdxList(licenses, exceptions, aliases)


def is_plain_spdx_id(license_id: str) -> bool:
    """Whether ``license_id`` is one license of the SPDX list (not an expression, not a card word)."""
    return bool(_PLAIN_ID.fullmatch(license_id)) and license_id not in NOT_SPDX \
        and not LICENSE_REF.fullmatch(license_id)


@lru_cache(maxsize=256)
def check_license_id(license_id: str) -> LicenseProblem | None:
    """None when ``license_id`` is allowed, else what is wrong and the nearest SPDX spelling."""
    if license_id in NOT_SPDX or LICENSE_REF.fullmatch(license_id):
        return None
    spdx = _spdx()
    if license_id.casefold() in NOT_SPDX:
        return LicenseProblem(f"license id {license_id!r} is not an SPDX id", license_id.casefold())
    from license_expression import ExpressionError, LicenseWithExceptionSymbol, Licensing

    try:  # a Licensing that knows no symbols keeps each one as written
        parsed = Licensing().parse(license_id)
    except ExpressionError:
        return LicenseProblem(f"license id {license_id!r} is not a valid SPDX license expression",
                              _suggest(license_id, spdx))
    if parsed is None:
        return LicenseProblem("license id is empty")
    for sym in Licensing().license_symbols(parsed, unique=True, decompose=False):
        pairs = [(sym.license_symbol.key, False), (sym.exception_symbol.key, True)] \
            if isinstance(sym, LicenseWithExceptionSymbol) else [(sym.key, False)]
        for key, is_exception in pairs:
            table = spdx.exceptions if is_exception else spdx.licenses
            if table.get(key.casefold()) == key or (not is_exception and LICENSE_REF.fullmatch(key)):
                continue
            what = "exception" if is_exception else "license"
            return LicenseProblem(f"{key!r} is not an SPDX {what} id", _suggest(key, spdx))
    return None


def _suggest(word: str, spdx: _SpdxList) -> str | None:
    folded = word.casefold()
    for cand in (folded, re.sub(r"[\s_]+", "-", folded.strip()), re.sub(r"(?<=\d)o\b", "0", folded)):
        if cand in spdx.licenses:
            return spdx.licenses[cand]
        if cand in spdx.exceptions:
            return spdx.exceptions[cand]
        if cand in spdx.aliases:
            return spdx.aliases[cand]
    near = difflib.get_close_matches(re.sub(r"[\s_]+", "-", folded), list(spdx.licenses), n=1, cutoff=0.75)
    return spdx.licenses[near[0]] if near else None


__all__ = ["LICENSE_REF", "NOT_SPDX", "LicenseProblem", "check_license_id", "is_plain_spdx_id"]
