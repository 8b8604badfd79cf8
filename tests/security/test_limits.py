"""A hostile card cannot exhaust memory or time: each attack meets a limit with a clear error.

Every case runs in a subprocess with a hard timeout, because a regex stuck in C code cannot be
interrupted from Python: a regression shows up as a timeout here, never as a hung test run. The
elapsed times are printed (`pytest -s`); benchmarks/fuzz.py reports them as figures. No timing is
asserted beyond the hang guard.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CARDS, need

HANG_GUARD_S = 60


def _base() -> dict:
    from test_paths import BASE as B  # the small valid card of the path tests

    return json.loads(json.dumps(B))


def _run(argv: list[str], cwd: Path) -> tuple[int, str, float]:
    t = time.perf_counter()
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=HANG_GUARD_S, cwd=cwd)
    except subprocess.TimeoutExpired:
        pytest.fail(f"no limit stopped it: still running after {HANG_GUARD_S} s")
    elapsed = time.perf_counter() - t
    print(f"{elapsed:.3f} s")
    return proc.returncode, proc.stdout + proc.stderr, elapsed


def _validate(tmp_path: Path, name: str, content: str | bytes) -> str:
    f = tmp_path / f"{name}.yaml"
    if isinstance(content, bytes):
        f.write_bytes(content)
    else:
        f.write_text(content, encoding="utf-8")
    rc, out, _ = _run([sys.executable, "-m", "covidct.cli", "validate", str(f)], tmp_path)
    assert rc == 1, out
    assert "Traceback" not in out
    return out


# ------------------------------------------------------------------------------------------ YAML


def _alias_bomb() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        p, c = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{c}: &{c} [{', '.join(['*' + p] * 9)}]")
    return "\n".join(lines) + "\n"


YAML_ATTACKS = {
    "alias-bomb": (_alias_bomb(), "Y105"),
    "deep-flow": ("id: " + "[" * 500_000 + "]" * 500_000 + "\n", "Y104"),
    "deep-block": ("".join(" " * i + f"k{i}:\n" for i in range(200)) + " " * 200 + "v: 1\n", "Y104"),
    "many-values": ("id: x\nitems:\n" + "- 1\n" * 250_000, "Y109"),
    "python-tag": ("id: !!python/object/apply:os.system ['touch PWNED']\n", "Y106"),
    "merge-key": ("base: &b {x: 1}\nother:\n  <<: *b\n", "Y105"),
}


@pytest.mark.parametrize("case", sorted(YAML_ATTACKS))
def test_yaml_attacks_meet_a_limit(tmp_path: Path, case: str) -> None:
    text, code = YAML_ATTACKS[case]
    out = _validate(tmp_path, case, text)
    assert f": {code} " in out
    assert not (tmp_path / "PWNED").exists()


def test_a_50_mb_card_is_refused_unread(tmp_path: Path) -> None:
    f = tmp_path / "huge.yaml"
    with f.open("wb") as fh:
        fh.write(b"id: huge\ndescription: ")
        fh.truncate(50 * 1024 * 1024)
    rc, out, _ = _run([sys.executable, "-m", "covidct.cli", "validate", str(f)], tmp_path)
    assert rc == 1 and ": Y103 " in out and "52,428,800 bytes" in out


# ------------------------------------------------------------------------------------------ patterns
# Regexes and patterns: test_regex.py (RE2 matches every card regex in linear time).


def _card_with(**layout: object) -> dict:
    d = _base()
    d["configs"][0]["layout"].update(layout)
    return d


# ------------------------------------------------------------------------------------------ card.json and scripts


@pytest.mark.parametrize("case", ["huge", "deep", "bad-regex"])
def test_card_json_from_a_folder_meets_the_same_limits(tmp_path: Path, case: str) -> None:
    need("datasets")
    folder = tmp_path / "covidct" / "paths"
    folder.mkdir(parents=True)
    f = folder / "card.json"
    if case == "huge":
        with f.open("wb") as fh:
            fh.write(b'{"id": "')
            fh.truncate(50 * 1024 * 1024)
    elif case == "deep":
        f.write_text('{"id": ' + "[" * 500_000 + "]" * 500_000 + "}")
    else:
        f.write_text(json.dumps(_card_with(parts={"cls": {"regex": "a|b"}, "image": {"regex": "(?>(?:[0-9]+)+x)"}})))
    script = f"import covidct; covidct.load_dataset({str(folder)!r}, data_dir={str(tmp_path)!r})"
    rc, out, _ = _run([sys.executable, "-c", script], tmp_path)
    assert rc == 1
    assert "CardError" in out and ("at most" in out or "recursion limit" in out or "C314" in out), out[-2000:]


def test_a_huge_loading_script_is_refused_unread(tmp_path: Path) -> None:
    need("datasets")
    folder = tmp_path / "paths"
    folder.mkdir()
    with (folder / "paths.py").open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    script = ("from covidct.hf.scripts import card_from_script\n"
              f"card_from_script({str(folder)!r})")
    rc, out, _ = _run([sys.executable, "-c", script], tmp_path)
    assert rc == 1 and "too large" in out


def test_the_registry_cards_still_pass() -> None:
    """The limits refuse attacks, not real cards."""
    from covidct.card.validate import validate_paths

    results = validate_paths([CARDS])
    assert [i.format() for r in results for i in r.issues if i.severity.value == "error"] == []
