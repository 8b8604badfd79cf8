"""The pattern grammar has one reading (issue 12, item 3): ``card/pattern._scan``.

On main ``parse``, ``tokens``, ``template_parts`` and ``literal_chars`` each ran their own loop over the
token regex and classified the tokens again; the structural test fails there. The others check that
every user of the grammar agrees with that one reading.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from covidct.card.pattern import PatternError, literal_chars, parse, template_parts, tokens

SRC = Path(__file__).resolve().parents[2] / "src" / "covidct"


def test_the_token_regex_is_read_in_one_place() -> None:
    readers = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "_TOKEN_RE":
                readers.append((path.relative_to(SRC).as_posix(), node.attr))
    assert readers == [("card/pattern.py", "finditer")]


@pytest.mark.parametrize("text", ["a/{x}/b_{y}.dcm", "{{lit}}/{x}/*.png", "**/{x}.nii.gz", "img/**/s{n}_{x}.jpg",
                                  "{x}{{}}{y}"])
def test_every_user_reads_a_pattern_alike(text: str) -> None:
    names = [v for k, v in tokens(text) if k == "part"]
    assert template_parts(text) == names
    assert list(parse(text).groups) == names
    assert literal_chars(parse(text)) == sum(len(v) for k, v in tokens(text) if k == "lit")


@pytest.mark.parametrize("text", ["a/{x/b", "a}/b", "{x}}"])
def test_a_lone_brace_is_refused_by_parse_and_template_parts(text: str) -> None:
    with pytest.raises(PatternError, match="unbalanced brace"):
        parse(text)
    with pytest.raises(PatternError, match="unbalanced brace"):
        template_parts(text)
