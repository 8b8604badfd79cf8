"""No card regex takes more than linear time: RE2 matches them, and what RE2 lacks is refused.

The review's attack: ``(?>(?:[0-9]+)+x)`` (an atomic group, which a deny-list walk did not enter)
validated, and loading a folder with a 28-digit file name ran 31 s. Now every card regex is parsed by
Python's parser, checked against an allow-list, and matched by RE2 (covidct.card.cardregex):

- constructs RE2 lacks or reads differently are refused by the validator (C314, located) and again
  by the loader (a card may arrive without validation);
- hostile regexes RE2 can run are accepted, and a 10,000-character text matched against each of them
  finishes (in a subprocess with a hang guard; the times are printed, no timing is asserted);
- the translation keeps Python's meaning (a differential test against ``re``).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import need
from covidct.card.cardregex import MAX_PATTERN_SIZE, MAX_SIZE, CardRegexError, part_matcher, to_re2
from covidct.card.pattern import PatternError, compile_glob, parse
from covidct.card.validate import validate_file

HANG_GUARD_S = 60
ATOMIC = "(?>(?:[0-9]+)+x)"  # the review's card


def _card(**layout: Any) -> dict[str, Any]:
    from test_paths import BASE  # the small valid card of the path tests

    d = json.loads(json.dumps(BASE))
    d["configs"][0]["layout"].update(layout)
    return d


def _issues(tmp_path: Path, data: dict[str, Any]) -> list[str]:
    path = tmp_path / "paths.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return [i.format() for i in validate_file(path).issues if i.severity.value == "error"]


def _run(argv: list[str], cwd: Path) -> str:
    t = time.perf_counter()
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=HANG_GUARD_S, cwd=cwd)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {HANG_GUARD_S} s: a regex backtracks")
    print(f"{time.perf_counter() - t:.3f} s")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


# ------------------------------------------------------------------------------------------ refused

REFUSED = {
    "atomic-group": (ATOMIC, "atomic group"),
    "possessive-star": ("[0-9]*+x", "possessive"),
    "possessive-count": ("(?:[0-9]{1,30})++x", "possessive"),
    "lookahead": ("(?=[0-9])[0-9]+", "lookahead"),
    "negative-lookahead": ("(?![0-9]+x)[^/]+", "lookahead"),
    "lookbehind": ("(?<=a)b", "lookbehind"),
    "negative-lookbehind": ("[^/]+(?<!x)", "lookbehind"),
    "backreference": ("(a)\\1", "capturing group"),
    "named-backreference": ("(?P<x>a+)(?P=x)", "capturing group"),
    "conditional": ("(?:(a)|b)(?(1)c|d)", "capturing group"),
    "capturing-alternation": ("(a|a)*", "capturing group"),
    "nested-count": ("a{1000}{1000}", "multiple repeat"),
    "nested-count-grouped": ("(?:a{1000}){1000}", "too large"),
    "huge-count": ("[0-9]{1001}", "too large"),
    "overflowing-count": ("a{99999999999999999999}", "does not compile"),
    "unicode-digit": ("\\d+", "\\d"),
    "word": ("\\w+", "\\d, \\w"),
    "ignorecase": ("(?i)png", "inline flag"),
    "scoped-flag": ("(?s:.)+", "inline flag"),
    "anchors": ("^[0-9]+$", "anchor"),
    "word-boundary": ("\\b[0-9]+", "anchor"),
    "end-of-string": ("[0-9]+\\Z", "anchor"),
    "posix-class": ("[[:digit:]]+", "POSIX"),
    "re2-only-escape": ("\\pN+", "does not compile"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_the_validator_refuses_what_re2_lacks_or_reads_differently(tmp_path: Path, case: str) -> None:
    rx, words = REFUSED[case]
    errors = _issues(tmp_path, _card(parts={"cls": {"regex": "a|b"}, "image": {"regex": rx}}))
    assert len(errors) == 1, errors
    assert ": C314 " in errors[0] and words in errors[0], errors[0]
    assert re.match(r".*paths\.yaml:\d+:\d+: C314 ", errors[0])  # located at the regex


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_the_loader_refuses_them_too(case: str) -> None:
    with pytest.raises(PatternError, match="regex"):
        parse("{cls}/{image}.png", (("cls", "a|b"), ("image", REFUSED[case][0])))


def test_the_reviewed_card_is_refused_by_the_loader_before_any_file_is_matched(tmp_path: Path) -> None:
    """The exact attack: the card straight to the builder (no validator), a folder with a 32-digit file
    name (the review's 28 digits took 31 s; 32 did not end in 5 minutes)."""
    need("datasets")
    data_dir = tmp_path / "data"
    for cls in "ab":
        (data_dir / cls).mkdir(parents=True)
        (data_dir / cls / ("1" * 32 + ".png")).write_bytes(b"")
    card = tmp_path / "card.json"
    card.write_text(json.dumps(_card(parts={"cls": {"regex": "a|b"}, "image": {"regex": ATOMIC}})), encoding="utf-8")
    script = textwrap.dedent(f"""
        import json, time
        from covidct.card.model import Card
        from covidct.hf.builder import builder_for
        from covidct.hf.load import prepare
        card = Card.model_validate(json.loads(open({str(card)!r}).read()))
        t = time.perf_counter()
        try:
            prepare(builder_for(card, "default", data_dir={str(data_dir)!r}, cache_dir={str(tmp_path / 'c')!r}))
            print("LOADED")
        except Exception as exc:
            print(type(exc).__name__, f"{{time.perf_counter() - t:.4f}}s", str(exc).splitlines()[0])
    """)
    out = _run([sys.executable, "-c", script], tmp_path)
    assert out.startswith("PatternError") and "atomic group" in out, out


# ------------------------------------------------------------------------------------------ accepted, linear

# hostile for a backtracking engine, harmless for RE2: accepted, and matched in linear time
ACCEPTED = {
    "nested-plus": "(?:[0-9]+)+x",
    "nested-a": "(?:a+)+b",
    "same-alternatives": "(?:a|a)*",
    "overlapping-alternatives": "(?:a|aa)*b",
    "repeated-alternation": "(?:x|y|xy)+",
    "overlapping-classes": "(?:[^/]|a)+",
    "star-of-star": "(?:.*)*",
    "optional-run": "(?:a?){30}a{30}",
    "many-dot-stars": ".*.*.*.*.*.*.*.*=",
    "lazy": "(?:[0-9]+?)+?x",
    "largest-count": "[0-9]{999}x",
}
TEXTS = {"digits": "1" * 10_000, "a": "a" * 10_000, "xy": "xy" * 5_000 + "z"}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_hostile_regexes_re2_can_run_are_accepted(tmp_path: Path, case: str) -> None:
    assert _issues(tmp_path, _card(parts={"cls": {"regex": "a|b"}, "image": {"regex": ACCEPTED[case]}})) == []


def test_each_accepted_regex_matches_a_10000_character_text_in_linear_time(tmp_path: Path) -> None:
    """Matched as the loader matches (a part alone, a whole pattern, an exclude glob), in a subprocess
    with a hang guard: a regression to a backtracking engine fails instead of hanging the run."""
    script = textwrap.dedent(f"""
        import time
        from covidct.card.cardregex import part_matcher
        from covidct.card.pattern import compile_glob, parse
        texts = {TEXTS!r}
        for case, rx in sorted({ACCEPTED!r}.items()):
            part, path = part_matcher(rx), parse("{{cls}}/{{image}}.png", (("cls", "a|b"), ("image", rx))).regex
            for name, text in texts.items():
                t = time.perf_counter()
                part.matches(text)
                path.fullmatch("a/" + text + ".pnx")
                print(case, name, f"{{time.perf_counter() - t:.4f}}s")
        adjacent = parse("{{c}}/{{d}}{{e}}{{f}}{{g}}{{h}}{{i}}.png", tuple((p, "[^/]+") for p in "cdefghi")).regex
        glob = compile_glob("*a*a*a*a*a*a*b")
        for name, text in texts.items():
            t = time.perf_counter()
            adjacent.fullmatch("a/" + text + ".pnx")
            glob.matches(text)
            print("adjacent-parts+glob", name, f"{{time.perf_counter() - t:.4f}}s")
    """)
    out = _run([sys.executable, "-c", script], tmp_path)
    lines = out.splitlines()
    assert len(lines) == (len(ACCEPTED) + 1) * len(TEXTS), out
    print(out)


def test_accepted_hostile_regexes_load_a_folder_of_hostile_names(tmp_path: Path) -> None:
    """End to end: each accepted regex as the card's part, files whose names make a backtracking engine
    run for hours; each load ends (loaded or "no file matches") well inside the hang guard."""
    need("datasets")
    data_dir = tmp_path / "data"
    for cls in "ab":
        (data_dir / cls).mkdir(parents=True)
        for stem in ("1" * 200, "a" * 200, "xy" * 100 + "z", "1" * 28):
            (data_dir / cls / (stem + ".png")).write_bytes(b"\x89PNG\r\n\x1a\n")
    cards = {case: _card(parts={"cls": {"regex": "a|b"}, "image": {"regex": rx}}) for case, rx in ACCEPTED.items()}
    (tmp_path / "cards.json").write_text(json.dumps(cards), encoding="utf-8")
    script = textwrap.dedent(f"""
        import json, time, warnings
        from covidct.card.model import Card
        from covidct.layout.plan import make_plan
        warnings.simplefilter("ignore")
        for case, data in json.loads(open({str(tmp_path / 'cards.json')!r}).read()).items():
            card = Card.model_validate(data)
            t = time.perf_counter()
            try:
                n = len(make_plan(card, "default", [{str(data_dir)!r}]).groups)
                print(case, "LOADED", n, f"{{time.perf_counter() - t:.4f}}s")
            except Exception as exc:
                print(case, type(exc).__name__, f"{{time.perf_counter() - t:.4f}}s", str(exc).splitlines()[0][:80])
    """)
    out = _run([sys.executable, "-c", script], tmp_path)
    print(out)
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.split()}
    assert sorted(lines) == sorted(ACCEPTED), out
    assert all(" LOADED " in ln or " LayoutError " in ln for ln in lines.values()), out
    assert " LOADED 2 " in lines["same-alternatives"]  # a/aaa….png and b/aaa….png
    assert " LOADED 8 " in lines["overlapping-classes"]  # every file


# ------------------------------------------------------------------------------------------ one meaning

SAMPLES = ["", "a", "aa", "ab", "abc", "a/b", "a\nb", "\n", "x.png", "X.PNG", "é", "ü1", "٣", "Ⅻ", "ß", "\udcff",
           "a\udcffb", "{", "}", "[", "]", "^", "-", "\\", "a-b", "a_b", "1.5", "01", "0010", " ", "\t", "\u2028",
           "🙂", "a🙂b", "12x", "1" * 50 + "x", "xyxy", "aab", "aaab", "caseAB", "b", "z"]
REGEXES = ["[0-9]+", "[^/]+", ".+", ".*", "a|ab", "(?:a|ab)+", "[a-z]?", "[0-9a-f-]+", "[^/]+\\.(?:png|jpg)",
           "(?:case|covid-19-pneumonia-)?", "[\\-\\]\\[^]+", "[^a-z]", "[^\\n]+", "a{2,3}", "a{,2}b", "a{2,}",
           "[é-ü]+", "\\.", "\\x41|\\u00e9", "[\\u2028]", "(?x) a b  # comment", "[0-9]+?x", "(?:ab)*?b", "[🙂]",
           "[^🙂]+", "(?:[0-9]+)+x", "[\\udc80-\\udcff]+", "a\\udcffb", "\\{\\}", "[ \\t]+", "-?[0-9]+(?:\\.[0-9]+)?"]


@pytest.mark.parametrize("rx", REGEXES)
def test_re2_matches_exactly_what_python_matches(rx: str) -> None:
    """The canonical RE2 form means what Python's parser read, character for character (surrogates from
    undecodable file names, newlines, astral characters, escapes, flags-free verbose syntax)."""
    linear = part_matcher(rx)
    for s in SAMPLES:
        assert linear.matches(s) == (re.fullmatch(rx, s) is not None), (rx, s, to_re2(rx))


def test_part_values_come_back_unchanged_and_a_repeated_part_must_agree() -> None:
    pat = parse("{scan}/{scan}_{n}.png", (("scan", "[^/_]+"), ("n", "[0-9]+")))
    assert pat.match("s\udcff1/s\udcff1_07.png") == {"scan": "s\udcff1", "n": "07"}
    assert pat.match("s1/s2_07.png") is None
    lazy = parse("{a}{b}.png", (("a", "[0-9]+?"), ("b", "[0-9]+")))
    assert lazy.match("123.png") == re.fullmatch(r"(?P<a>[0-9]+?)(?P<b>[0-9]+)\.png", "123.png").groupdict()


def test_exclude_globs_and_literals_are_literal_in_re2() -> None:
    assert compile_glob("a.b(c)[d]{e}+$^|?.txt").matches("x/a.b(c)[d]{e}+$^|z.txt")
    assert not compile_glob("a.b").matches("aXb")
    assert parse("{{x}}.[{n}](1)+$.png", (("n", "[0-9]+"),)).match("{x}.[12](1)+$.png") == {"n": "12"}


def test_size_limits_are_ours_not_re2s() -> None:
    """What is accepted does not depend on RE2's memory accounting: the worst case at our limits (negated
    classes, the costliest for RE2: 2 units a position) compiles with room to spare."""
    def worst(k: int) -> str:
        return "(?:[^\\u0100-\\u0101]){" + str(k) + "}"

    assert part_matcher(worst(MAX_SIZE // 2)).matches("a" * (MAX_SIZE // 2))
    with pytest.raises(CardRegexError, match="too large"):
        to_re2(worst(MAX_SIZE // 2 + 1))
    text = "{p0}/{p1}/{p2}.png"
    k = (MAX_PATTERN_SIZE - len(text)) // 6  # three parts of 2k units, plus the pattern's own characters
    assert 3 * k * 2 > MAX_PATTERN_SIZE * 0.9
    regexes = (("p0", worst(k)), ("p1", worst(k)), ("p2", worst(k)))
    assert parse(text, regexes).match("/".join(["a" * k] * 3) + ".png") is not None
    with pytest.raises(PatternError, match="too large"):
        parse(text, (*regexes[:2], ("p2", worst(k + 2))))


def test_the_binding_fast_path_and_its_public_api_agree() -> None:
    """LinearRegex calls RE2's match directly when the binding has that call; its public API (used
    otherwise) must give the same groups, so behaviour never depends on the binding's release."""
    from covidct.card.cardregex import LinearRegex

    for rx in REGEXES:
        source = f"(?:x)?({to_re2(rx)})(z)?"  # groups that take part and groups that do not
        fast, public = LinearRegex(source), LinearRegex(source)
        public._raw = None
        for s in SAMPLES:
            assert fast.groups(s) == public.groups(s), (rx, s)
    assert LinearRegex("(a)(b)?").groups("a") == ("a", None)
    assert parse("a{{b}}c/{x}.png", (("x", "[0-9]+"),)).match("a{b}c/12.png") == {"x": "12"}  # literal braces
