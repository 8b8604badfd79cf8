"""The doors through which card text reaches a page: escaping, safe URLs, safe Markdown, JSON-LD."""

from __future__ import annotations

import json
import re

import pytest

from covidct.export.schemaorg import dumps, script_tag, temporal_coverage
from covidct.site.html import esc, markdown_html, safe_url, text_html

BAD_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "java&#115;cript:alert(1)",
    "&#106;avascript:alert(1)",
    "&amp;#106;avascript:alert(1)",
    "javascript&colon;alert(1)",
    "data:text/html;base64,PHNjcmlwdD4=",
    "vbscript:msgbox(1)",
    "//evil.example/x",
    "\\\\evil.example\\x",
    "mailto:someone@example.org",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_unsafe_urls_are_refused(url: str) -> None:
    assert safe_url(url) is None
    assert safe_url(url, relative=True) is None


@pytest.mark.parametrize("url", ["https://example.org/a?b=1&c=2", "http://ncov-ai.big.ac.cn/download?lang=en"])
def test_http_urls_pass(url: str) -> None:
    assert safe_url(url) == url


@pytest.mark.parametrize("url", ["../other/", "#sources", "page.html", "a/b?c=d"])
def test_relative_urls_only_where_allowed(url: str) -> None:
    assert safe_url(url) is None
    assert safe_url(url, relative=True) == url


def test_esc_quotes_and_controls() -> None:
    assert esc('"><script>\x07') == "&quot;&gt;&lt;script&gt;"


def _tags_and_attrs(html: str) -> tuple[set[str], set[str]]:
    from html.parser import HTMLParser

    tags: set[str] = set()
    attrs: set[str] = set()

    class P(HTMLParser):
        def handle_starttag(self, tag, a):
            tags.add(tag)
            attrs.update(k for k, _ in a)

    P().feed(html)
    return tags, attrs


def test_markdown_renders_raw_html_as_text() -> None:
    src = ('<script>alert(1)</script> <img src=x onerror=alert(2)> <b onclick="x">b</b>\n\n'
           '<div onmouseover="alert(3)">block</div>\n\n<iframe src="javascript:alert(4)"></iframe>')
    out = markdown_html(src)
    tags, attrs = _tags_and_attrs(out)
    assert tags <= {"p"}, tags
    assert not attrs
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out


def test_markdown_links_keep_only_http_and_relative() -> None:
    src = "\n".join(f"[l{i}]({u})" for i, u in enumerate(BAD_URLS)) + "\n[ok](https://example.org/) [rel](../x/)"
    src += "\n\n[ref][r]\n\n[r]: javascript:alert(9)\n\n![img](https://example.org/a.png) <me@example.org>"
    out = markdown_html(src)
    hrefs = re.findall(r'href="([^"]*)"', out)
    assert hrefs == ["https://example.org/", "../x/"]
    assert "<img" not in out and "src=" not in out
    assert "l0" in out and "ref" in out  # link text stays, as plain text


def test_markdown_keeps_ordinary_formatting_and_code() -> None:
    out = markdown_html("**bold** and `<code>`\n\n```\n</div><script>x</script>\n```\n\n# Heading")
    assert "<strong>bold</strong>" in out
    assert "<code>&lt;code&gt;</code>" in out
    assert "&lt;/div&gt;&lt;script&gt;x&lt;/script&gt;" in out
    assert "<h4>Heading</h4>" in out  # headings pushed under the page's own


def test_text_html_keeps_globs_and_links_urls() -> None:
    out = text_html("unzip COVID19-*.zip and CP-*.zip, see https://example.org/x. Also `a*b` <i>no</i>")
    assert "COVID19-*.zip and CP-*.zip" in out
    assert '<a href="https://example.org/x"' in out
    assert "<code>a*b</code>" in out
    assert "&lt;i&gt;no&lt;/i&gt;" in out


def test_jsonld_cannot_close_its_script_element() -> None:
    data = {"name": "</script><script>alert(1)</script>", "d": "<!-- & \u2028 \u2029 -->"}
    tag = script_tag(data)
    inner = tag[len('<script type="application/ld+json">'):-len("</script>")]
    assert "<" not in inner and ">" not in inner and "&" not in inner
    assert "\u2028" not in inner and "\u2029" not in inner
    assert json.loads(inner) == data
    assert json.loads(dumps(data)) == data


@pytest.mark.parametrize(("period", "iso"), [("2020-01 to 2020-04", "2020-01/2020-04"), ("2019", "2019"),
                                             ("spring 2020", None), (None, None)])
def test_temporal_coverage(period: str | None, iso: str | None) -> None:
    assert temporal_coverage(period) == iso
