"""The site's Jinja2 templates escape card text on every path into the HTML.

The templates replaced hand-written esc() calls; these tests try the ways past autoescaping: an
expression, the join filter, concatenation with ``~``, a macro argument, ``|safe``/``Markup`` in a
template, and control characters (which esc drops and markupsafe would keep).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cardtools import card_with, hostile_card
from conftest import need

need("jinja2")

from covidct.site.html import environment  # noqa: E402
from covidct.site.sections import PageContext, dataset_markdown  # noqa: E402

TEMPLATES = Path(environment().loader.searchpath[0])  # type: ignore[union-attr]
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
EVIL = "<script>alert(1)</script>\x01\x7f'\"&"


@pytest.mark.parametrize("source", ["{{ x }}", "{{ [x, x]|join(', ') }}", "{{ 'a' ~ x }}",
                                    "{% macro m(v) %}<b>{{ v }}</b>{% endmacro %}{{ m(x) }}",
                                    "{% set y %}{{ x }}{% endset %}{{ y }}"])
def test_every_expression_path_escapes_like_esc(source: str) -> None:
    out = environment().from_string(source).render(x=EVIL)
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert not CONTROL.search(out)


def test_templates_never_mark_text_safe() -> None:
    for path in TEMPLATES.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert "|safe" not in text.replace(" ", "") and "Markup" not in text and "autoescape false" not in text, path


def test_card_text_with_control_characters_and_markup_is_inert_on_the_page() -> None:
    card = card_with(name="N" + EVIL, summary="S" + EVIL, aliases=["A" + EVIL], anatomy=["chest" + EVIL],
                     tags=["t"], caveats=[{"text": "C" + EVIL}])
    for c in (card, hostile_card()):
        page = dataset_markdown(PageContext(card=c, cards={c.id: c}, page_url=lambda o: None))
        assert "<script>" not in page
        assert not CONTROL.search(page)
