"""Safe HTML from untrusted card text.

Card text is untrusted. Everything a page shows goes through one of three doors:

- :func:`esc` for plain text (names, aliases, patterns, BibTeX...): HTML-escaped, quotes included;
- :func:`safe_url` for URLs placed in ``href``: only ``http``/``https`` (and, for Markdown links,
  relative URLs) survive, after undoing the tricks browsers forgive (entities, control characters,
  mixed case);
- :func:`markdown_html` for the fields the model documents as Markdown (descriptions, caveats,
  instructions): rendered by a private Python-Markdown instance whose raw-HTML support is removed,
  so ``<script>`` or ``<img onerror=...>`` come out as visible text, and whose links and images are
  checked by :func:`safe_url`.

Pages are written as Jinja2 templates (``templates/``) in an autoescaping :func:`environment` whose
every ``{{ expression }}`` goes through :func:`esc` unless it is one of the above (already HTML).
"""

from __future__ import annotations

import functools
import html
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

    import jinja2
    import markdown

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
_STRIP_FOR_SCHEME = re.compile(r"[\x00-\x20\x7f-\x9f]+")
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def esc(text: object) -> str:
    """Text as HTML (element content or a quoted attribute value); control characters dropped."""
    s = str(text)
    if not s.isprintable():  # rare: only then pay for the regular expression
        s = _CONTROL.sub("", s)
    return html.escape(s, quote=True)


def _decoded(url: str) -> str:
    """``url`` as a browser may end up reading it: entities decoded (repeatedly), controls dropped."""
    prev = None
    cur = url.replace("\x02amp\x03", "&")  # Python-Markdown's placeholder for "&" in attributes
    for _ in range(5):  # entity decoding until nothing changes (&amp;#106; -> &#106; -> j)
        if cur == prev:
            break
        prev, cur = cur, html.unescape(cur)
    return _STRIP_FOR_SCHEME.sub("", cur).lower()


def safe_url(url: str | None, *, relative: bool = False) -> str | None:
    """``url`` if it is http(s) (or, with ``relative``, has no scheme at all); otherwise None."""
    if not url or len(url) > 4000:
        return None
    d = _decoded(url)
    m = _SCHEME.match(d)
    if m:
        return url if m.group(1) in ("http", "https") and d.startswith(("http://", "https://")) else None
    if not relative:
        return None
    if d.startswith("//") or "\\" in d:  # protocol-relative or backslash tricks: refuse
        return None
    if ":" in d.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]:
        return None  # something scheme-like that our pattern did not recognise
    return url


def link(url: str | None, text: str, *, cls: str | None = None) -> str:
    """An external link when ``url`` is http(s), plain escaped text otherwise."""
    href = safe_url(url)
    if href is None:
        return esc(text)
    c = f' class="{esc(cls)}"' if cls else ""
    return f'<a href="{esc(href)}"{c} rel="nofollow noopener">{esc(text)}</a>'


def inline_code(text: str) -> str:
    """Escape trusted documentation text and turn `backticks` into <code>."""
    parts = esc(text).split("`")
    out = []
    for i, p in enumerate(parts):
        out.append(f"<code>{p}</code>" if i % 2 else p)
    if len(parts) % 2 == 0:  # unbalanced: keep the last backtick literally
        out[-1] = "`" + parts[-1]
    return "".join(out)


_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]]")


def _text_inline(text: str) -> str:
    out = []
    for i, part in enumerate(text.split("`")):
        if i % 2:
            out.append(f"<code>{esc(part)}</code>")
            continue
        pos = 0
        for m in _URL_IN_TEXT.finditer(part):
            out.append(esc(part[pos:m.start()]))
            out.append(link(m.group(0), m.group(0)))
            pos = m.end()
        out.append(esc(part[pos:]))
    return "".join(out)


def text_html(text: str | None, *, block: bool = True) -> str:
    """Plain card text (notes, caveats, instructions) as HTML: escaped, `code` spans, http(s) links,
    paragraphs at blank lines. No other markup, so globs such as ``COVID19-*.zip`` stay as written."""
    if not text:
        return ""
    text = _CONTROL.sub("", text).strip()
    if text.count("`") % 2:
        text = text.replace("`", "'")
    paras = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    html_paras = [_text_inline(" ".join(line.strip() for line in p.splitlines())) for p in paras]
    if not block:
        return "<br>".join(html_paras)
    return "".join(f"<p>{p}</p>" for p in html_paras)


def colour(value: str | None) -> str | None:
    return value if value and HEX_COLOUR.match(value) else None


# ----------------------------------------------------------------------------------------- Markdown

_local = threading.local()


def _sanitize_tree(root: Element) -> None:
    """Drop unsafe links, turn images into their alt text (no remote fetches, no src tricks)."""
    for parent in root.iter():
        for i, el in enumerate(list(parent)):
            if el.tag == "img":
                alt = el.get("alt") or ""
                span = _replace(el, "span")
                span.text = alt
                parent[i] = span
            elif el.tag == "a":
                href = safe_url(el.get("href"), relative=True)
                if href is None:
                    parent[i] = _replace(el, "span", keep_children=True)
                else:
                    for k in list(el.attrib):
                        if k not in ("href", "title"):
                            del el.attrib[k]
                    if safe_url(href) is not None:
                        el.set("rel", "nofollow noopener")
            else:
                for k in list(el.attrib):
                    if k.lower().startswith("on") or k.lower() in ("style", "src", "srcset", "formaction"):
                        del el.attrib[k]


def _replace(el: Element, tag: str, keep_children: bool = False) -> Element:
    from xml.etree.ElementTree import Element as E

    new = E(tag)
    new.tail = el.tail
    if keep_children:
        new.text = el.text
        new.extend(list(el))
    return new


def _md() -> markdown.Markdown:
    md = getattr(_local, "md", None)
    if md is None:
        import markdown
        from markdown.treeprocessors import Treeprocessor

        class Sanitize(Treeprocessor):
            def run(self, root: Element) -> None:
                _sanitize_tree(root)

        md = markdown.Markdown(extensions=["tables", "fenced_code", "sane_lists"], output_format="html")
        # raw HTML is text in cards: no HTML blocks, no inline tags
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.inlinePatterns.deregister("automail")
        md.treeprocessors.register(Sanitize(md), "covidct_sanitize", 1)
        _local.md = md
    return md


def markdown_html(text: str | None, *, shift_headings: int = 3) -> str:
    """Card Markdown as safe HTML; headings are pushed down to start at h``shift_headings+1``."""
    if not text:
        return ""
    md = _md()
    md.reset()
    out = md.convert(_CONTROL.sub("", text))
    if shift_headings:
        out = re.sub(
            r"<(/?)h([1-6])\b",
            lambda m: f"<{m.group(1)}h{min(6, int(m.group(2)) + shift_headings)}",
            out,
        )
    return out


# ----------------------------------------------------------------------------------------- templates

_TEMPLATES = Path(__file__).resolve().parent / "templates"


def _finalize(value: object) -> object:
    """Every ``{{ expression }}`` of a template: HTML already (a macro, link(), ...) as it is, anything
    else through :func:`esc` (so autoescaping drops control characters and writes quotes as before)."""
    return value if hasattr(value, "__html__") else Markup(esc(value))


def _join(items: Iterable[object], sep: str = "") -> Markup:
    """Jinja's ``join`` with :func:`esc` for the items and the separator."""
    return Markup(_finalize(sep)).join(_finalize(x) for x in items)  # type: ignore[misc]


@functools.cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the site's templates: autoescaped, strict about undefined names, and
    with each template line's indentation and line break dropped when loaded (the HTML goes into
    Markdown as raw blocks, where a blank line would end the block)."""
    import jinja2
    import jinja2.ext

    class Compact(jinja2.ext.Extension):
        def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
            return "".join(line.strip() for line in source.splitlines())

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=True,
        finalize=_finalize,
        undefined=jinja2.StrictUndefined,
        extensions=[Compact],
    )
    env.filters["join"] = _join
    env.filters["num"] = lambda v: "" if v is None else f"{v:,}"
    env.globals.update(
        link=lambda url, text, cls=None: Markup(link(url, text, cls=cls)),
        text_html=lambda text, block=True: Markup(text_html(text, block=block)),
        markdown_html=lambda text: Markup(markdown_html(text)),
        colour=colour,
    )
    return env


def macros(template: str) -> Any:
    """The macros of ``template`` (each returns Markup), e.g. ``macros("dataset.html").intro(ctx, facts)``."""
    return environment().get_template(template).module
