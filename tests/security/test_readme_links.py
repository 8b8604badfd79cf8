"""No link in a Hub README comes from card text, except to the http(s) URLs the model validated.

The README is Markdown that the Hub renders. A CommonMark renderer that does not validate link
targets (markdown-it-py with validateLink switched off, and raw HTML on) renders every README built
from a card whose text fields carry link syntax in all its CommonMark forms. Every link it finds must
point at one of the card's validated URLs; there is no image and no raw HTML; and the attack text is
still there to read.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

import _hostile
import pytest
import yaml

from conftest import need
from covidct.card.model import Card

JS = "javascript:alert(document.domain)"
ATTACKS: dict[str, str] = {
    # the two forms the review found
    "refdef-escaped-bracket": f"Click [here][a\\]b]\n\n[a\\]b]: {JS}",
    "refdef-multiline-label": f"Click [here][a b]\n\n[a\nb]: {JS}",
    # the forms the issue lists
    "refdef-plain": f"Click [here][r] or [r][] or [r]\n\n[r]: {JS}",
    "refdef-indented-title": f"[x][r]\n\n   [r]:\n     {JS}\n     'title'",
    "nested-brackets": f"[[x]]({JS}) [a [b] c][r]\n\n[r]: {JS}",
    "escaped-brackets": f"\\[x\\]({JS}) [x\\]]({JS}) [\\[x]({JS})",
    "angle-destination": f"[x](<{JS}>) [y][r]\n\n[r]: <{JS}>",
    "autolink": f"<{JS}> <JaVaScRiPt:alert(1)> <vbscript:msgbox(1)> <data:text/html,<script>alert(1)</script>>",
    "html-anchor": f'<a href="{JS}">x</a> <a href={JS}>y</a>\n\n<div><a href="{JS}">block</a></div>',
    "entity-encoded": "[x](javascript&#58;alert(1)) [y](&#106;avascript:alert(1)) [z][r]\n\n[r]: javascript&colon;x",
    "footnote-like": f"Text[^1] and [^note]\n\n[^1]: {JS}\n[^note]: <{JS}>",
    "table-cell": f"| a | b |\n|---|---|\n| [x][r] | [y]({JS}) |\n\n[r]: {JS}",
    # variants found while writing the defence
    "backslash-before-code": f"\\`[x]({JS})`",
    "fence-with-backtick-info": f"```a`b\n[x]({JS})\n[r]: {JS}\n\n[y][r]",
    "fence-closed-by-list-end": f"- ```\n  code\n\n[y]: {JS}\n\n[y]",
    "lazy-blockquote": f"> [x][r]\nlazy [r]: {JS}\n\n[r]: {JS}",
    "image": f"![x]({JS}) ![y](data:text/html,alert(1)) ![z](https://evil.example/pixel.png)",
    "unvalidated-http": "[x](https://evil.example/) [y][r] <https://evil.example/auto>\n\n[r]: https://evil.example/r",
    "percent-encoded-scheme": "[x](javascript%3Aalert(1)) [y](java%0Ascript:alert(1))",
    "link-title-break": f'[x]({JS} "t") [y](https://example.org/ok "a\\"b")',
    "spaces-and-case": f"[x]( {JS} ) [y](JAVASCRIPT:alert(1)) [z](\tjavascript:alert(1))",
    "deep-nesting": "> " * 40 + f"[x]({JS})\n\n" + "- " * 40 + f"[y][r]\n\n[r]: {JS}",
    "html-comment-and-cdata": f"<!-- [x]({JS}) --> <![CDATA[[x]({JS})]]> <?php [x]({JS}) ?>",
    "code-span-pipe-in-table": f"| a |\n|---|\n| `x|[y]({JS})|` |\n| ``x`|[z]({JS})|`` |",
    "code-span-pipe-in-download-name": f"x`|[y]({JS})|`",
    "markup-flood": f"[x][r] ![y]({JS}) " * 400 + f"\n\n[r]: {JS}",  # past the parse budget: plain text
    # bare URLs: GFM's autolink extension (the Hub renders it) links them, escapes or not
    "bare-url": "see https://evil.example/x and www.evil.com and HTTPS://EVIL.COM/Y and hTtP://evil.com",
    "bare-www-punctuation": "(www.evil.com). www.evil.com, *www.evil.com* _www.evil.com_ ~www.evil.com~ www.evil.com!",
    "bare-email": "write to a.b+c@evil.com or x_y@evil.co.uk, mailto:z@evil.com xmpp:q@evil.com",
    "bare-other-schemes": "ftp://evil.com/f //evil.com/p javascript://evil.com%0Aalert(1) foo.bar://evil.com",
    "bare-escaped": "https\\://evil.com www\\.evil.com a\\@evil.com https&#58;//evil.com",
    "bare-in-table": "| a | b |\n|---|---|\n| https://evil.com/x | www.evil.com. |\n| a@evil.com | `x` ftp://evil.com|",
    "bare-in-heading": "# https://evil.com/h\n\n## see www.evil.com\n\nSetext https://evil.com\n---",
    "bare-in-link-text": "[https://evil.com](https://example.org/ok) [www.evil.com](https://evil.com)",
    "bare-with-backticks": "https://evil.com/`x`y ```https://evil.com``` x``https://evil.com",
    "bare-validated-lookalike": "https://example.org/ok.evil.com https://example.org/ok@evil.com https://example.org/okx",
    "bare-in-list-and-quote": "- https://evil.com\n- www.evil.com\n\n> a@evil.com\n\n1. https://evil.com/1",
    # long words a backtracking scan would take quadratic time over (20,000 characters: seconds each)
    "bare-long-words": "x " + "a" * 19_000 + " https://evil.com",
    "bare-long-scheme": "b" * 19_000 + "://evil.com",
    "bare-long-punctuation": "https://evil.com" + "." * 19_000 + "x",
    "bare-long-local-part": "a." * 9_000 + "@evil.com www." * 100,
}
SHORT_FIELDS = 300  # ShortText


def _urls(card: Card) -> set[str]:
    """The card's validated URL fields (computed here, not by the code under test)."""
    urls = {card.homepage, card.license.url, card.access.url, *(d.url for d in card.downloads),
            *(s.url for s in card.sources)}
    if card.citation and card.citation.doi:
        urls.add("https://doi.org/" + card.citation.doi)
    return {unquote(u) for u in urls if u}


def attack_card(text: str) -> Card:
    """A valid card with ``text`` in every free-text field the README shows (cut to each field's limit)."""
    data = _hostile.card_data("Plain text.")
    data["homepage"] = data["license"]["url"] = data["access"]["url"] = "https://example.org/ok"
    data["sources"][0]["url"] = data["downloads"][0]["url"] = "https://example.org/data.zip"
    data["citation"]["doi"] = "10.1234/ok"
    short = text[:SHORT_FIELDS]
    one_line = " ".join(short.split())
    data["name"] = data["summary"] = one_line
    data["aliases"] = [one_line[:200]]
    data["description"] = text
    data["license"]["summary"] = text
    data["license"]["name"] = short
    data["access"]["instructions"] = text
    data["caveats"] = [{"text": text, "source": ["src"]}]
    data["citation"]["text"] = text
    data["citation"]["bibtex"] = text
    data["provenance"]["deidentification"] = text
    data["provenance"]["institutions"] = [short]
    data["sources"][0]["title"] = short
    # a second download whose name carries the text (names may hold anything but / and \\)
    name = re.sub(r"[/\\\x00]", "_", one_line)[:255] or "x"
    data["downloads"].append({"name": name, "description": short, "source": ["src"]})
    cfg = data["configs"][0]
    cfg["description"] = text
    cfg["labels"][0]["description"] = text
    cfg["labels"][0]["classes"][0]["description"] = short
    cfg["counts"][0]["note"] = short
    return Card.model_validate(data)


def _renderer() -> Any:
    """CommonMark as a careless renderer does it: raw HTML on, no link validation, plus GFM tables and
    linkify (bare ``scheme://``, ``//`` and e-mail; ``www.`` is left to the GFM_AUTOLINK check below)."""
    markdown_it = need("markdown_it")
    need("linkify_it")
    md = markdown_it.MarkdownIt("commonmark", {"html": True, "linkify": True}).enable(
        ["table", "strikethrough", "linkify"])
    md.linkify.set({"fuzzy_link": False})  # bare domains ("os.system"): GFM leaves them as text
    md.validateLink = lambda url: True
    return md


# what a GFM renderer autolinks in text (its extended autolinks), case-insensitive: checked on the text
# the renderer leaves outside code, so the check does not depend on linkify-it's list of TLDs
GFM_AUTOLINK = re.compile(r"(?:https?|ftp)://\S|www\.[\w-]|(?:mailto|xmpp):\S|[\w.+-]@[\w-]+\.[\w-]", re.I)


def _walk(tokens: list[Any]) -> list[Any]:
    out = []
    for t in tokens:
        out.append(t)
        out += _walk(t.children or [])
    return out


def check_markdown(md: Any, text: str, allowed: set[str]) -> str:
    """Fails on any image, raw HTML, or link outside ``allowed``; returns the rendered text content."""
    tokens = _walk(md.parse(text))
    for t in tokens:
        assert t.type != "image", t.attrs
        assert t.type not in ("html_block", "html_inline"), t.content
        if t.type == "link_open":
            href = t.attrGet("href") or ""
            assert re.match(r"^https?://", href), href
            assert unquote(href) in allowed, href
    in_link = 0
    for t in tokens:  # no bare URL left in text outside a link: GFM would autolink it
        in_link += {"link_open": 1, "link_close": -1}.get(t.type, 0)
        if t.type == "text" and not in_link:
            assert not GFM_AUTOLINK.search(t.content), t.content
    return " ".join(t.content for t in tokens if t.type in ("text", "code_inline", "code_block", "fence"))


def _split(readme: str) -> tuple[dict[str, Any], str]:
    end = readme.index("\n---\n", 4)
    return yaml.safe_load(readme[4:end + 1]), readme[end + 5:]


@pytest.mark.parametrize("name", list(ATTACKS))
def test_readme_links_only_to_validated_urls(name: str) -> None:
    from covidct.hf.readme import render_readme

    md = _renderer()
    card = attack_card(ATTACKS[name])
    allowed = _urls(card)
    configs = [{"config_name": "classification", "data_files": [{"split": "train", "path": "data/c/train-*"}]}]
    for kind in ("scripts", "parquet", "card"):
        fm, body = _split(render_readme(card, kind, configs=configs,  # type: ignore[arg-type]
                                        splits={"classification": {"train": (4, 100)}}))
        shown = check_markdown(md, body, allowed)
        assert "alert(" in shown or "evil.example" in shown or "evil.com" in shown, "the attack text must stay visible"
        check_markdown(md, fm["extra_gated_prompt"], allowed)  # Markdown on the Hub's access form


@pytest.mark.parametrize("payload", [_hostile.ALL, *_hostile.PAYLOADS])
def test_hostile_payloads_link_nowhere(payload: str) -> None:
    from covidct.hf.readme import render_readme

    card = _hostile.card(payload)
    fm, body = _split(render_readme(card, "scripts"))
    allowed = _urls(card)
    check_markdown(_renderer(), body, allowed)
    check_markdown(_renderer(), fm["extra_gated_prompt"], allowed)


def test_links_to_the_cards_own_urls_survive() -> None:
    """Prose may link to the URLs the model validated: those links are kept as links."""
    from covidct.hf.readme import render_readme

    card = attack_card("See [the data](https://example.org/data.zip) and [home][h].\n\n[h]: https://example.org/ok")
    _, body = _split(render_readme(card, "scripts"))
    hrefs = [t.attrGet("href") for t in _walk(_renderer().parse(body)) if t.type == "link_open"]
    assert hrefs.count("https://example.org/data.zip") >= 2  # the prose link, and the downloads table


def test_registry_prose_renders_exactly_as_written() -> None:
    """The rebuild keeps the shape of ordinary prose: same HTML as the card's own Markdown."""
    markdown_it = need("markdown_it")
    from covidct.hf.prose import inert_markdown
    from covidct.registry import registry

    md = markdown_it.MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    for card in registry().cards().values():
        texts = [card.description, card.access.instructions, card.license.summary,
                 *(c.text for c in card.caveats), *(cfg.description for cfg in card.configs)]
        for text in filter(None, texts):
            assert _unlinked(md.render(inert_markdown(text, _urls(card)))) == _unlinked(md.render(text)), card.id


def _unlinked(html: str) -> str:
    """HTML with the only change the rebuild makes to ordinary prose undone: a bare URL shows in code
    (or, when validated, as a link to itself) where the card had plain text."""
    html = re.sub(r'<a href="([^"]*)">([^<]*)</a>',
                  lambda m: m.group(2) if GFM_AUTOLINK.match(m.group(2)) else m.group(0), html)
    # any scheme: the rebuild puts gs://, s3:// and the like in code too (wider than GFM, on purpose)
    return re.sub(r"<code>([^<`]*)</code>",
                  lambda m: m.group(1) if re.search(r"://|www\.|@", m.group(1), re.I) else m.group(0), html)


def test_bare_urls_become_code_or_validated_links() -> None:
    """The text branch's output, read as text: what GFM would autolink is in a code span or is a link to a
    validated URL (the renderer-independent half of the check above)."""
    from covidct.hf.prose import inert_markdown

    good = "https://good.example/data"
    text = ("see https://evil.example/x and www.evil.example, HTTPS://A.B/c. a.b+c@evil.example "
            f"({good}) {good}. [{good}]({good}) https://good.example/data2\n\n"
            "| a | b |\n|---|---|\n| https://evil.example/t | www.evil.example. |\n\n# head https://evil.example/h")
    out = inert_markdown(text, [good])
    assert "`https://evil.example/x`" in out and "`www.evil.example`," in out and "`HTTPS://A.B/c`." in out
    assert "`a.b+c@evil.example`" in out and "`https://good.example/data2`" in out
    assert f"([{good}]({good}))" in out and f"[{good}]({good})." in out
    assert "| `https://evil.example/t` | `www.evil.example`. |" in out and "head `https://evil.example/h`" in out
    outside_code = re.sub(r"`[^`]*`|\[[^\]]*\]\([^)]*\)", "", out)
    assert not GFM_AUTOLINK.search(outside_code.replace("\\", "")), outside_code


def test_card_fields_outside_prose_hold_no_bare_url() -> None:
    """Names, titles and other one-line fields are escaped by the same function: no bare URL there either."""
    from covidct.hf.prose import inert_text
    from covidct.hf.readme import md_inline

    for out in (md_inline("Data from https://evil.com and www.evil.com"), inert_text("mail a@evil.com\n\nhttps://x.y")):
        assert not GFM_AUTOLINK.search(re.sub(r"`[^`]*`", "", out)), out


def test_prose_past_the_markup_budget_is_plain_escaped_text() -> None:
    from covidct.hf.prose import MARKUP_BUDGET, inert_markdown, inert_text

    flood = "[x](https://example.org/ok) *a* " * (MARKUP_BUDGET // 2)  # 4 markup characters each
    assert inert_markdown(flood, ["https://example.org/ok"]) == inert_text(flood)
    tokens = _walk(_renderer().parse(inert_text(flood)))
    assert not [t for t in tokens if t.type in ("link_open", "em_open", "image")]
