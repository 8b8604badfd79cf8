"""Hostile files get one clear located error (no traceback, no hang, no object construction)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from covidct.card import yamlload
from covidct.card.validate import validate_file
from covidct.card.yamlload import MAX_BYTES, YamlError, load
from covidct.cli import main


def _codes(path: Path) -> list[str]:
    result = validate_file(path)
    assert result.card is None
    return [i.code for i in result.issues]


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 12):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 9)}]")
    f = tmp_path / "bomb.yaml"
    f.write_text("\n".join(lines))
    assert _codes(f) == ["Y105"]


def test_deep_nesting_is_refused_without_recursion(tmp_path: Path) -> None:
    f = tmp_path / "deep.yaml"
    f.write_text("x: " + "[" * 200_000 + "]" * 200_000)
    assert _codes(f) == ["Y104"]


def test_block_nesting_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "deep-block.yaml"
    f.write_text("".join(" " * i + f"k{i}:\n" for i in range(100)) + " " * 100 + "v: 1\n")
    assert _codes(f) == ["Y104"]


def test_huge_file_is_refused_unread(tmp_path: Path) -> None:
    f = tmp_path / "huge.yaml"
    with f.open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    issues = validate_file(f).issues
    assert [i.code for i in issues] == ["Y103"]
    assert "52,428,800 bytes" in issues[0].message


@pytest.mark.parametrize(
    "text",
    [
        "id: !!python/object/apply:os.system ['echo pwned']\n",
        "id: !!python/name:os.system\n",
        "id: !custom thing\n",
        "x: !!binary aGVsbG8=\n",
        "x: !!set {a, b}\n",
    ],
)
def test_python_and_custom_tags_are_refused(tmp_path: Path, text: str) -> None:
    f = tmp_path / "tag.yaml"
    f.write_text(text)
    assert _codes(f) == ["Y106"]


def test_invalid_utf8_is_located(tmp_path: Path) -> None:
    f = tmp_path / "latin1.yaml"
    f.write_bytes(b"id: ok\nname: Caf\xe9\n")
    issues = validate_file(f).issues
    assert [(i.code, i.line, i.col) for i in issues] == [("Y102", 2, 10)]


@pytest.mark.parametrize("text,code", [("- a\n- b\n", "Y108"), ("", "Y108"), ("a: 1\n---\nb: 2\n", "Y108"),
                                         ("a: [1, 2\n", "Y101"), ("date: 2026-13-45\n", "Y101")])
def test_not_a_card_mapping(tmp_path: Path, text: str, code: str) -> None:
    f = tmp_path / "x.yaml"
    f.write_text(text)
    assert _codes(f) == [code]


def test_cli_reports_hostile_files_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.yaml").write_text("id: !!python/object/apply:os.system ['true']\n")
    (tmp_path / "b.yaml").write_bytes(b"\xff\xfe")
    assert main(["validate", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert "a.yaml:1:5: Y106" in captured.out
    assert "b.yaml:1:1: Y102" in captured.out


# ------------------------------------------------------------------------------------ numbers (issue 10, item 4)


def _load_error(text: str) -> tuple[str, int, int]:
    with pytest.raises(YamlError) as info:
        load(text)
    return info.value.code, info.value.line, info.value.col


def test_a_huge_base_60_number_is_refused_unbuilt(tmp_path: Path) -> None:
    """340,000 groups (under 1 MiB) took 21 s: PyYAML builds base-60 integers in quadratic time."""
    f = tmp_path / "sexagesimal.yaml"
    f.write_text("x: " + ":".join(["59"] * 340_000) + "\n")
    assert f.stat().st_size < MAX_BYTES
    assert [(i.code, i.line, i.col) for i in validate_file(f).issues] == [("Y111", 1, 4)]


@pytest.mark.parametrize("value", [
    "9" * 4_000,  # decimal: Python's int() is quadratic too, and capped at 4,300 digits on some releases only
    "0x" + "f" * 100,
    "0b" + "1" * 100,
    "1_000_000_000_000_000_000_000_000_000_000",
    "1." + "0" * 100 + "e+99",
    "-" + "1" * 33,
    "!!int '" + "59:" * 1_000 + "59'",  # an explicit tag on a quoted scalar is built the same way
    "!!float '1." + "1" * 100 + "'",
    "12:30",  # a base-60 number of any length: YAML 1.1 turns it into 750
    "1:20.5",
], ids=["decimal-4000", "hex", "binary", "underscores", "float-digits", "negative", "tagged-int-base60",
        "tagged-float", "base60-short", "base60-float"])
def test_numbers_too_long_or_in_base_60_are_refused_where_they_stand(value: str) -> None:
    assert _load_error(f"id: x\nx: {value}\n") == ("Y111", 2, 4)


@pytest.mark.parametrize("value", [
    "6b4bbe994013e280f3fad35a134246c8cbd471d7d943917bcb4679ec87926203",  # a sha256, unquoted
    "2020 chest CT scans from 3 hospitals, 1,000 patients and 12:30 of annotation time",
    "2001-12-14t21:59:43." + "1" * 100,  # timestamp-like, but past the limit: text, unresolved
    "'" + "9" * 4_000 + "'",  # quoted: text
    "1234",
    "0x1f",
    "3.25",
], ids=["sha256", "text-with-digits", "timestamp-like", "quoted-digits", "int", "hex", "float"])
def test_long_text_and_short_numbers_still_load(value: str) -> None:
    load(f"id: x\nx: {value}\n")


def test_merge_keys_and_value_keys_say_what_they_are() -> None:
    with pytest.raises(YamlError) as info:
        load("a:\n  <<: {x: 1}\n")
    assert info.value.code == "Y106" and "'<<' (YAML type merge)" in info.value.message
    with pytest.raises(YamlError) as info:
        load("a: =\n")
    assert info.value.code == "Y106" and "'=' (YAML type value)" in info.value.message


# ------------------------------------------------------------------------------------ nesting (item 13)

# (text, line, col of the opener that nests past 32 levels). libyaml 0.2.5, as bundled by PyYAML
# 6.0.4, stops at 1,000 flow levels while scanning ahead, before any event reaches covidct: the
# limit reported must be covidct's, at the same place, whichever PyYAML is installed.
DEEP = {
    "flow-200k": ("x: " + "[" * 200_000 + "]" * 200_000, 1, 35),
    "flow-1000": ("x: " + "[" * 1_000 + "]" * 1_000, 1, 35),
    "flow-40": ("x: " + "[" * 40 + "]" * 40, 1, 35),
    "flow-maps": ("x: " + "{a: " * 2_000 + "1" + "}" * 2_000, 1, 128),
    "block-then-flow": ("".join(" " * i + f"k{i}:\n" for i in range(20)) + " " * 20 + "v: " + "[" * 5_000
                        + "]" * 5_000 + "\n", 21, 35),
    "brackets-in-quotes": ('x: ["' + "[" * 5_000 + '", ' + "[" * 2_000 + "]" * 2_000 + "]\n", 1, 5039),
    "unterminated-quote": ("x: " + "[" * 2_000 + '"' + "a" * 100_000, 1, 35),
    "block": ("".join(" " * i + f"k{i}:\n" for i in range(1_100)) + " " * 1_100 + "v: 1\n", 33, 33),
}


@pytest.mark.parametrize("case", sorted(DEEP))
def test_nesting_limit_is_covidcts_own(case: str) -> None:
    text, line, col = DEEP[case]
    assert _load_error(text) == ("Y104", line, col)


class _ReadsAhead:
    """A parser that fails like libyaml 0.2.5 on deep flow input: at the first flow collection, its
    scanner reads ahead 1,000 levels and raises before the parser gives that collection's event."""

    real = yamlload._Parser

    def __init__(self, stream: str) -> None:
        self._parser = self.real(stream)

    def get_event(self) -> object:
        ev = self._parser.get_event()
        if isinstance(ev, (yaml.SequenceStartEvent, yaml.MappingStartEvent)) and ev.flow_style:
            at = ev.start_mark.index + 1_000
            mark = yaml.error.Mark("<unicode string>", at, ev.start_mark.line, ev.start_mark.column + 1_000, None, None)
            raise yaml.scanner.ScannerError("while increasing flow level", mark, "exceeded maximum nesting depth",
                                            mark)
        return ev

    def dispose(self) -> None:
        getattr(self._parser, "dispose", lambda: None)()


@pytest.mark.parametrize("case", ["flow-200k", "flow-1000", "block-then-flow", "unterminated-quote"])
def test_a_parser_that_gives_up_first_still_gets_covidcts_limit(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever release of PyYAML is installed: its own nesting limit never decides the message."""
    text, line, col = DEEP[case]
    monkeypatch.setattr(yamlload, "_Parser", _ReadsAhead)
    assert _load_error(text) == ("Y104", line, col)


def test_a_real_syntax_error_is_still_reported_as_one(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _load_error("x: [1, 2\ny: ]]]\n")[0] == "Y101"
