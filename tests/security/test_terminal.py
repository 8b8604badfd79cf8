"""Card text cannot drive the user's terminal: every command that prints it shows controls as escapes.

A hostile card carries ESC/OSC sequences (window title, screen clear, OSC 8 hyperlink, colour), C1
controls (U+009B is a one-byte CSI), bidi overrides and isolates (Trojan Source), a lone CR and a
backspace (they overwrite what was printed), DEL and line/paragraph separators in every text field.
Each command that prints card text is run on it: the output must hold none of those characters, must
show them as escapes, and JSON output must still parse to the same data.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import _hostile
import pytest
import yaml

from conftest import need
from covidct.cli import main, terminal_text

HOSTILE = ("T\x1b]0;pwned\x07 \x1b[2J\x1b[H \x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\ \x9b31mred "
           "\u202eevil\u202c \u2066iso\u2069 \u200fmark over\rwrite back\x08space del\x7f nel\x85 ls\u2028ps\u2029 "
           "bell\x07 nul\x00")
# what a terminal obeys: C0 except tab/LF, DEL, C1, bidi controls, LS/PS, and a CR that is not part of CRLF
UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
                    "|\r(?!\n)")


def _card(card_id: str, text: str = HOSTILE) -> dict:
    data = _hostile.card_data(text)
    data["id"] = card_id
    # the model refuses NUL in some fields; keep the data valid so nothing upstream stops it
    return json.loads(json.dumps(data).replace("\\u0000", "0"))


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cards folder (never the repository's) with two hostile cards that declare an overlap."""
    folder = tmp_path_factory.mktemp("hostile-terminal") / "cards"
    folder.mkdir()
    a = _card("hostile")
    b = _card("neighbour")
    b["name"], b["aliases"] = "Neighbour " + HOSTILE[:40], []
    b["lineage"] = [{"relation": "derived-from", "card": "hostile", "note": HOSTILE, "source": ["src"]}]
    for data in (a, b):
        (folder / f"{data['id']}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cards folder with an invalid card whose messages quote hostile values."""
    folder = tmp_path_factory.mktemp("hostile-broken") / "cards"
    folder.mkdir()
    data = _card("broken")
    data["homepage"] = "javascript:\x1b]0;pwned\x07\u202e"
    data["license"]["id"] = "\x1b[2J\u202eMIT"
    data["configs"][0]["\x1b[31mbogus"] = 1
    # a count per class that misses a hostile class name: the did-you-mean hint quotes the name
    cfg = data["configs"][0]
    old = cfg["labels"][0]["classes"][0]["name"]
    new = "cls " + HOSTILE[:60]
    cfg["labels"][0]["classes"][0]["name"] = new
    cfg["layout"]["labels"]["label"]["map"]["a"] = new
    cfg["counts"][0]["by_class"][new + "x"] = cfg["counts"][0]["by_class"].pop(old)
    (folder / "broken.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _strings(data: object) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        data = list(data.values())
    return [s for v in data for s in _strings(v)] if isinstance(data, list) else []


def assert_inert(text: str) -> None:
    found = sorted({m.group(0) for m in UNSAFE.finditer(text)})
    assert not found, f"raw terminal controls in the output: {found}"


def test_the_hostile_card_is_valid(cards: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "validate", str(cards))
    assert code == 0, out + err


@pytest.mark.parametrize("argv", [
    ["show", "hostile"],
    ["show", "neighbour"],
    ["show", "hostile", "--format", "yaml"],
    ["list"],
    ["list", "--format", "csv"],
    ["overlaps", "hostile", "neighbour"],
])
def test_text_output_shows_controls_as_escapes(cards: Path, capsys: pytest.CaptureFixture[str],
                                                argv: list[str]) -> None:
    code, out, err = run(capsys, "--cards", str(cards), *argv)
    assert code == 0, err
    assert_inert(out + err)
    if argv[0] in ("show", "overlaps") and "--format" not in argv:
        assert "\\x1b]0;pwned\\x07" in out and "\\u202eevil\\u202c" in out  # visible, not obeyed


@pytest.mark.parametrize("argv", [
    ["show", "hostile", "--format", "json"],
    ["list", "--format", "json"],
    ["overlaps", "hostile", "neighbour", "--format", "json"],
])
def test_json_output_is_inert_and_the_same_data(cards: Path, capsys: pytest.CaptureFixture[str],
                                                argv: list[str]) -> None:
    code, out, err = run(capsys, "--cards", str(cards), *argv)
    assert code == 0, err
    assert_inert(out + err)
    assert any("\u202eevil\u202c" in s and "\x1b]0;pwned" in s for s in _strings(json.loads(out)))  # same data


def test_show_text_keeps_one_line_values_on_one_line(cards: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A newline inside a mask value's name or an alias cannot print a line of its own (e.g. a fake message)."""
    data = _card("lines", "Plain")
    data["aliases"] = ["one\nerror: card is fine\ntwo"]
    data["configs"][1]["labels"][0]["mask_values"][0]["name"] = "cls\nvalidate: 0 error(s)"
    folder = cards.parent / "lines"
    folder.mkdir(exist_ok=True)
    (folder / "lines.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    code, out, err = run(capsys, "--cards", str(folder), "show", "lines")
    assert code == 0, err
    assert not any(line.startswith(("error:", "validate:", "two")) for line in out.splitlines())
    assert "one\\nerror: card is fine\\ntwo" in out


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_validate_messages_quoting_values_are_inert(broken: Path, capsys: pytest.CaptureFixture[str],
                                                   fmt: str) -> None:
    code, out, err = run(capsys, "validate", "--format", fmt, str(broken))
    assert code == 1
    assert_inert(out + err)
    if fmt == "json":
        assert json.loads(out)


def test_errors_quoting_card_values_are_inert(broken: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An invalid card in the registry: the top-level error printer lists its located messages."""
    code, out, err = run(capsys, "--cards", str(broken), "show", "broken")
    assert code == 1 and "covidct:" in err
    assert_inert(out + err)


def test_argparse_messages_are_inert(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["\x1b]0;pwned\x07\u202e"])
    out, err = capsys.readouterr()
    assert "invalid choice" in err
    assert_inert(out + err)


def test_build_report_is_inert(broken: Path, cards: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--cards", str(broken), "build", "--out", str(tmp_path / "b1"), "-j", "1")
    assert code == 1 and "error(s)" in out
    assert_inert(out + err)
    code, out, err = run(capsys, "--cards", str(cards), "build", "--out", str(tmp_path / "b2"), "-j", "1",
                         "--skip", "site")
    assert code == 0, err
    assert_inert(out + err)


def test_croissant_validation_messages_are_inert(cards: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """mlcroissant's warnings name the dataset: the card's name, ESC and all."""
    need("mlcroissant")
    code, out, err = run(capsys, "--cards", str(cards), "croissant", "hostile", "--validate")
    assert code == 0, err
    assert "croissant: warning: [Metadata(T\\x1b]0;pwned" in err
    assert_inert(out + err)
    assert json.loads(out)["name"].startswith("T\x1b]0;pwned")


def test_scripts_and_publish_dry_run_are_inert(cards: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--cards", str(cards), "scripts", "hostile", "--out", str(tmp_path))
    assert code == 0, err
    code, out2, err2 = run(capsys, "--cards", str(cards), "publish", "hostile", "--from", str(tmp_path), "--dry-run")
    assert code == 0, err2
    assert_inert(out + err + out2 + err2)


def test_scaffold_from_a_folder_with_hostile_file_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`covidct new --from-folder --stdout` prints file and folder names it found."""
    data = tmp_path / "data" / "cls\x1b]0;pwned\x07\u202e"
    data.mkdir(parents=True)
    (data / "img\x1b[2J.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    code, out, err = run(capsys, "new", "x-ray", "--from-folder", str(tmp_path / "data"), "--stdout")
    assert code == 0, err
    assert "cls\\x1b]0;pwned" in out
    assert_inert(out + err)


def test_terminal_text_escapes_each_class_and_keeps_layout() -> None:
    s = "a\tb\nc\r\nd\re\x08f\x1b[0m\x7f\x85\x9b\u202a\u202e\u2066\u2069\u200e\u2028é中"
    got = terminal_text(s)
    assert got == ("a\tb\nc\r\nd\\x0de\\x08f\\x1b[0m\\x7f\\x85\\x9b\\u202a\\u202e\\u2066\\u2069\\u200e\\u2028é中")
    assert UNSAFE.search(got) is None
    doc = json.dumps({"k": s}, ensure_ascii=False)
    assert json.loads(terminal_text(doc, as_json=True)) == {"k": s}
    assert UNSAFE.search(terminal_text(doc, as_json=True)) is None


def test_every_registry_card_shows_without_loss(capsys: pytest.CaptureFixture[str]) -> None:
    """Plain cards print exactly as before escaping: nothing in them is a control character."""
    from covidct.registry import registry
    from covidct.render.text import card_text

    for card in registry().cards().values():
        assert terminal_text(card_text(card)) == card_text(card)


def test_commands_print_only_through_echo() -> None:
    """The escaping boundary holds only if no command prints around it: no bare print() in the CLI modules."""
    import ast

    src = Path(__file__).resolve().parents[2] / "src" / "covidct"
    offenders = []
    modules = [*(src / "cli").glob("*.py"), src / "build.py"]
    assert len(modules) > 5 and (src / "cli" / "cards.py") in modules  # the CLI package, where the commands are
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders, f"print() bypasses cli.echo (terminal escaping): {offenders}"
