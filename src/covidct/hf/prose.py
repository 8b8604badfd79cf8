"""Card prose (Markdown) rebuilt as inert Markdown for the Hub README: parse, then write it again.

Card text is untrusted, and the Hub (like any CommonMark renderer) turns link syntax into live links:
reference definitions with escaped or multi-line labels, angle-bracket destinations, autolinks and
entity-encoded schemes all pass a sanitiser that edits the text with regular expressions, because
whether a ``[`` opens a link, a backtick opens a code span or a fence is still open depends on
the whole CommonMark grammar. So the prose is parsed with a real CommonMark parser (markdown-it-py)
and written out again from its tokens: paragraphs, headings, lists, quotes, code, tables and
emphasis keep their shape, while every piece of text is escaped so that it cannot start any
Markdown construct, code is re-fenced by us, raw HTML is text, and a link survives only when its
target is one of the card's validated http(s) URLs (other links become ``text (url)``, as text).
The output is then unambiguous: what it renders to does not depend on the renderer's corner cases.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

_TEXT_SPECIAL = re.compile(r"([\\`*_\[\]|!#~])")
_LINE_START = re.compile(r"^(\d{1,9})([.)])|^([-+=])")  # what starts a list item or a setext underline
_LANG = re.compile(r"[A-Za-z0-9_+-]{1,30}")
_URL_UNSAFE = re.compile(r"[()<>\[\]\\\"'|\s]")


# What GFM's autolink extension (which the Hub renders) or a linkify renderer turns into a link when it
# stands bare in text: ``scheme://``, ``//host``, ``www.``, ``mailto:``/``xmpp:`` and e-mail-like ``x@y.z``,
# in any case. Character escapes do not stop it; a code span does (code is never autolinked). Wider than
# GFM on purpose: a word matched here for nothing costs only a code span around it. The pattern has no
# leading repetition (a scheme or an e-mail's local part is found by walking back from the match), and
# trailing punctuation is cut with rstrip, so a long word costs linear time.
_BARE_LINK = re.compile(r"://|//[^\s/]|www\.|(?:mailto|xmpp):|[\w.+-]@[\w-]+\.[\w-]", re.IGNORECASE)
_SCHEME_CHARS = re.compile(r"[A-Za-z0-9+.-]")
_LOCAL_CHARS = re.compile(r"[\w.+-]")
_TRAILING = ".,:;!?'\"`*_~)]}>"  # punctuation GFM leaves outside a link: kept as text


def _link_start(word: str) -> int | None:
    """Where the first would-be link in ``word`` (no whitespace) begins, or None."""
    hit = _BARE_LINK.search(word)
    if hit is None:
        return None
    start = hit.start()
    back = _SCHEME_CHARS if hit.group(0) == "://" else _LOCAL_CHARS if "@" in hit.group(0) else None
    while back is not None and start > 0 and back.match(word[start - 1]):
        start -= 1
    return start


def _escape_plain(text: str, line_start: bool) -> str:
    s = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _TEXT_SPECIAL.sub(r"\\\1", s)
    if line_start:
        s = _LINE_START.sub(lambda m: f"{m.group(1)}\\{m.group(2)}" if m.group(1) else f"\\{m.group(3)}", s)
    return s


def _inert_link_text(run: str) -> str:
    """A would-be link as code spans: backtick-free pieces, so no span needs a fence-like delimiter."""
    return "\\`".join(code_span(piece) if piece else "" for piece in run.split("`"))


def escape_text(text: str, *, line_start: bool = False, links: Collection[str] = (), in_link: bool = False) -> str:
    """Literal text as Markdown that renders to exactly that text and starts no construct, no link either.

    A word a renderer would autolink (see ``_BARE_LINK``) shows in a code span, except one that is exactly
    one of ``links`` (URLs already validated), which becomes a link to itself. ``in_link``: the text is
    the text of a link (to a validated URL), where nothing is autolinked, so it is only escaped.
    """
    text = text.replace("\n", " ")
    if in_link:
        return _escape_plain(text, line_start)
    out: list[str] = []
    pos = 0
    for m in re.finditer(r"\S+", text):
        at = _link_start(m.group(0))
        if at is None:
            continue
        start = m.start() + at
        end = m.start() + len(m.group(0).rstrip(_TRAILING))
        if end <= start:  # e.g. a lone "www." at a sentence's end: still code, trailing dot included
            end = m.end()
        out.append(_escape_plain(text[pos:start], line_start and pos == 0))
        run = text[start:end]
        out.append(f"[{_escape_plain(run, False)}]({link_target(run)})" if run in links else _inert_link_text(run))
        pos = end
    out.append(_escape_plain(text[pos:], line_start and pos == 0))
    return "".join(out)


def link_target(url: str) -> str:
    """A link destination that cannot end early or break a table cell (the URL is already validated)."""
    return _URL_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode()), url)


def code_span(text: str) -> str:
    """Text as an inline code span showing exactly ``text`` (line breaks become spaces, as CommonMark
    does), with a delimiter longer than any backtick run inside it."""
    s = re.sub(r"\r\n|\r|\n", " ", text)
    if not s:
        return "` `"
    longest = max((len(m) for m in re.findall(r"`+", s)), default=0)
    tick = "`" * (longest + 1)
    # CommonMark strips one space from each end when both ends have one: pad so that strips ours
    pad = " " if s[0] == "`" or s[-1] == "`" or (s[0] == " " and s[-1] == " " and s.strip()) else ""
    return f"{tick}{pad}{s}{pad}{tick}"


def code_block(text: str, lang: str = "") -> str:
    """A fenced code block whose fence is longer than any backtick run in ``text``."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}"


def table_cell(cell: str) -> str:
    """A cell's Markdown with every ``|`` escaped: GFM splits rows at unescaped pipes before it parses
    inlines (even inside code spans), and unescapes ``\\|`` in the cell first, so content is unchanged."""
    return re.sub(r"(?<!\\)\|", r"\\|", cell)


def table(header: list[str], rows: list[list[str]], align: list[str] | None = None) -> str:
    """A pipe table from cells that are already Markdown."""
    delim = {"left": ":---", "right": "---:", "center": ":---:"}
    marks = [delim.get(a, "---") for a in (align or [""] * len(header))]
    lines = ["| " + " | ".join(table_cell(c) or " " for c in header) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(table_cell(c) or " " for c in r) + " |" for r in rows]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ parsing


@dataclass
class _Node:
    token: Any
    children: list[_Node] = field(default_factory=list)


def _tree(tokens: list[Any]) -> list[_Node]:
    root = _Node(None)
    stack = [root]
    for tok in tokens:
        if tok.nesting == 1:
            node = _Node(tok)
            stack[-1].children.append(node)
            stack.append(node)
        elif tok.nesting == -1:
            stack.pop()
        else:
            stack[-1].children.append(_Node(tok))
    return root.children


def _parser() -> Any:
    from covidct.extras import require

    require("markdown_it", "hf")
    from markdown_it import MarkdownIt

    # CommonMark with raw HTML off (it becomes text), plus the GFM tables and strikethrough the Hub renders
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


class _Writer:
    def __init__(self, md: Any, links: Collection[str], shift_headings: int) -> None:
        self.md = md
        self.shift = shift_headings
        # the card's validated URLs, as the parser normalises a link's href, mapped back to the URL itself
        self.links = {md.normalizeLink(u): u for u in links if re.match(r"^https?://\S+$", u)}
        self.urls = set(self.links.values())

    # ---------------------------------------------------------------------------------------- blocks

    def blocks(self, nodes: list[_Node], *, tight: bool = False) -> list[str]:
        out: list[str] = []
        for node in nodes:
            lines = self.block(node, tight=tight)
            if not lines:
                continue
            if out and not tight:
                out.append("")
            out += lines
        return out

    def block(self, node: _Node, *, tight: bool) -> list[str]:
        tok = node.token
        kind = tok.type
        if kind == "paragraph_open":
            return self.inline_lines(node.children)
        if kind == "heading_open":
            level = min(6, int(tok.tag[1]) + self.shift)
            return ["#" * level + " " + " ".join(self.inline_lines(node.children))]
        if kind == "blockquote_open":
            return [(f"> {line}" if line else ">") for line in self.blocks(node.children)]
        if kind in ("bullet_list_open", "ordered_list_open"):
            return self.list_lines(node)
        if kind in ("fence", "code_block"):
            m = _LANG.match(tok.info.strip()) if kind == "fence" else None
            return code_block(tok.content, m.group(0) if m else "").split("\n")
        if kind == "hr":
            return ["* * *"]
        if kind == "table_open":
            return self.table_lines(node).split("\n")
        if kind == "inline":
            return self.inline_lines([node])
        # anything else (html_block cannot occur with html off): its text, escaped
        text = tok.content or ""
        return [escape_text(line, line_start=True) for line in text.splitlines() if line.strip()]

    def list_lines(self, node: _Node) -> list[str]:
        tok = node.token
        items = [c for c in node.children if c.token.type == "list_item_open"]
        tight = any(c.token.type == "paragraph_open" and c.token.hidden for it in items for c in it.children)
        out: list[str] = []
        for n, item in enumerate(items):
            if tok.type == "ordered_list_open":
                marker = f"{item.token.info or (tok.attrGet('start') or 1) + n}{tok.markup or '.'}"
            else:
                marker = tok.markup or "-"
            body = self.blocks(item.children, tight=tight) or [""]
            pad = " " * (len(marker) + 1)
            if out and not tight:
                out.append("")
            out.append(f"{marker} {body[0]}".rstrip())
            out += [(pad + line) if line else "" for line in body[1:]]
        return out

    def table_lines(self, node: _Node) -> str:
        header: list[str] = []
        align: list[str] = []
        rows: list[list[str]] = []
        for section in node.children:
            for tr in section.children:
                cells = []
                for cell in tr.children:
                    cells.append(" ".join(self.inline_lines(cell.children)))
                    if section.token.type == "thead_open":
                        style = cell.token.attrGet("style") or ""
                        align.append(style.partition("text-align:")[2].strip())
                if section.token.type == "thead_open":
                    header = cells
                else:
                    rows.append(cells)
        return table(header, rows, align)

    # ---------------------------------------------------------------------------------------- inlines

    def inline_lines(self, nodes: list[_Node]) -> list[str]:
        """The inline content of ``nodes`` (``inline`` tokens) as Markdown lines."""
        children = [c for n in nodes for c in _tree(n.token.children or [])]
        return "".join(self._inline_parts(children, line_start=True)).split("\n")

    def _inline_parts(self, nodes: list[_Node], *, line_start: bool, in_link: bool = False) -> Iterator[str]:
        """Markdown for inline nodes; ``line_start``: the first of them begins a line; ``in_link``: link text."""
        for node in nodes:
            tok = node.token
            kind = tok.type
            if kind in ("text", "text_special"):
                yield escape_text(tok.content, line_start=line_start, links=self.urls, in_link=in_link)
            elif kind == "code_inline":
                yield code_span(tok.content)
            elif kind == "softbreak":
                yield "\n"
            elif kind == "hardbreak":
                yield "\\\n"
            elif kind in ("em_open", "strong_open", "s_open"):
                mark = {"em_open": "*", "strong_open": "**", "s_open": "~~"}[kind]
                yield mark + "".join(self._inline_parts(node.children, line_start=False, in_link=in_link)) + mark
            elif kind == "link_open":
                yield self._link(node, line_start=line_start)
            elif kind == "image":  # no image from card text: its description, and where it was
                alt = "".join(self._inline_parts(_tree(tok.children or []), line_start=line_start))
                src = escape_text(self.md.normalizeLinkText(tok.attrGet("src") or ""), line_start=not alt)
                yield f"{alt} ({src})" if alt else f"({src})"
            else:  # nothing else occurs with these rules; any other inline shows as its text
                yield escape_text(tok.content or "", line_start=line_start)
            line_start = kind in ("softbreak", "hardbreak")

    def _link(self, node: _Node, *, line_start: bool) -> str:
        href = node.token.attrGet("href") or ""
        url = self.links.get(href)
        if url is not None:
            inner = "".join(self._inline_parts(node.children, line_start=False, in_link=True))
            return f"[{inner}]({link_target(url)})"
        inner = "".join(self._inline_parts(node.children, line_start=line_start))
        shown = self.md.normalizeLinkText(href)
        if node.token.markup == "autolink" or not inner:
            return escape_text(shown, line_start=line_start)
        return f"{inner} ({escape_text(shown)})"


def inert_text(text: str) -> str:
    """Text with no Markdown meaning at all: paragraphs kept, every line joined and escaped."""
    paras = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(escape_text(" ".join(p.split()), line_start=True) for p in paras if p.strip())


def _alnum(text: str) -> int:
    return sum(1 for c in text if c.isalnum())


# markdown-it-py is linear, but in pure Python a markup character can cost ~25 us (20,000 of `![` take
# 0.5 s of CPU): prose with more markup than any real card (the registry's most is ~120) is shown as
# plain text, so a README built from a hostile card stays fast.
MARKUP_BUDGET = 2_000
_MARKUP_CHARS = "[]!<>`*_|#\\&~-\n"


def inert_markdown(text: str, links: Collection[str] = (), *, shift_headings: int = 0) -> str:
    """``text`` (CommonMark) rebuilt so that it holds no raw HTML, image or link except links to ``links``.

    ``shift_headings`` pushes headings down (1 turns ``#`` into ``##``), so prose fits under a section.
    Where the parse would hide text (reference definitions, link titles, entities, blocks nested past
    the parser's depth limit, which it skips), the whole text is shown escaped instead, as plain text;
    so is text with more than :data:`MARKUP_BUDGET` markup characters.
    """
    if sum(map(text.count, _MARKUP_CHARS)) > MARKUP_BUDGET:
        return inert_text(text)
    md = _parser()
    out = "\n".join(_Writer(md, links, shift_headings).blocks(_tree(md.parse(text)))).strip("\n")
    return out if _alnum(out) >= _alnum(text) else inert_text(text)
