"""Hostile files get one clear located error (no traceback, no hang, no object construction)."""

from __future__ import annotations

from pathlib import Path

import pytest

from covidct.card.validate import validate_file
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
