"""Integers from untrusted text: ASCII digits, bounded length (found by a hostile review: tracebacks from
`int()` on 5,000 digits, `int(float())` overflow, Unicode digits joining the wrong row)."""

from __future__ import annotations

import pytest

from covidct.layout.tables import normalize_key
from covidct.numtext import int_text, natural_key


@pytest.mark.parametrize(("text", "value"), [("7", 7), ("007", 7), (" +3 ", 3), ("-2", -2), ("12.0", 12),
                                             ("12.", 12), ("9" * 18, int("9" * 18))])
def test_integers(text: str, value: int) -> None:
    assert int_text(text) == value


@pytest.mark.parametrize("text", ["1" * 5000, "9" * 400 + ".0", "٣", "²", "1.5", "0x10", "1e3", "", "1_000",
                                  "9" * 19, "１"])
def test_not_integers(text: str) -> None:
    assert int_text(text) is None


def test_table_keys_stay_text_unless_ascii_digits() -> None:
    assert normalize_key("0007", True) == 7
    assert normalize_key("١", True) == "١"  # an Arabic-Indic digit no longer joins row 1
    assert normalize_key("1" * 5000, True) == "1" * 5000  # was ValueError (int's 4,300-digit limit)
    assert normalize_key("9" * 400 + ".0", True) == "9" * 400 + ".0"  # was OverflowError


def test_natural_order_without_converting_digits() -> None:
    names = ["s10", "s2", "s" + "9" * 5000, "s01", "s²", "s"]
    ordered = sorted(names, key=natural_key)  # was ValueError on the 5,000 digits, on '²'
    assert ordered[:4] == ["s", "s01", "s2", "s10"] and ordered[4] == "s" + "9" * 5000
