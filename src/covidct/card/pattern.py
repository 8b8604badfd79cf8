"""Path patterns with named parts: ``image/{scan}/{frame}.jpg``.

A pattern is a relative POSIX path. ``{name}`` is a named part (its regex comes from the layout's
``parts``, default one folder level), ``*`` matches within one folder, ``**`` across folders, and
``{{``/``}}`` are literal braces. A part used twice must have the same value in both places.

Patterns come from untrusted cards, so :func:`parse` refuses what could escape the data folder
(absolute paths, ``..``, backslashes), and a pattern becomes an RE2 regex (:mod:`cardregex`):
matching a path takes time linear in its length, whatever the part regexes say.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from covidct.card.cardregex import MAX_PATTERN_SIZE, CardRegexError, LinearRegex, compile_linear, convert, escape
from covidct.errors import CovidctError

if sys.version_info >= (3, 11):
    import re._parser as _sre_parse  # type: ignore[import-not-found]
else:  # pragma: no cover
    import sre_parse as _sre_parse  # type: ignore[no-redef]

DEFAULT_PART_REGEX = "[^/]+"
MAX_PATH_CHARS = 4096
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOKEN_RE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|\*\*/?|\*|[{}]|[^{}*]+")
BUILTIN_PARTS = ("_name", "_stem", "_path")
# What each wildcard matches, as a regex (the same text in RE2 and in Python's ``re``): used by
# :func:`parse`, :func:`compile_glob` and the Croissant export.
WILDCARD_REGEX = {"*": "[^/]*", "**/": "(?:[^/]+/)*", "**": ".*"}


class PatternError(CovidctError, ValueError):
    """A pattern that does not parse or is unsafe; the message says what to change."""


@dataclass(frozen=True)
class Pattern:
    text: str
    parts: tuple[str, ...]  # named parts, in order of first appearance
    regex: LinearRegex  # one group per occurrence of a part
    literal_prefix: str  # the folders before the first wildcard: where a file walk can start
    groups: tuple[str, ...] = ()  # the part each group of ``regex`` captures (a part used twice: twice)
    lead: str = ""  # the literal text before the first part or wildcard: a path without it cannot match

    def match(self, relpath: str) -> dict[str, str] | None:
        """The part values of a path the pattern matches, else None.

        A part used twice must have the same value in both places. RE2 has no backreferences, so
        the values are compared after the match: of the ways to split a path, the one RE2 reports
        (leftmost, each repeat as greedy as its regex says, as Python's ``re`` would pick first) is
        compared. Part regexes that cannot be confused with their neighbours make that the only one.
        """
        if len(relpath) > MAX_PATH_CHARS or not relpath.startswith(self.lead):
            return None
        values = self.regex.groups(relpath)
        if values is None:
            return None
        if len(self.parts) == len(self.groups):  # no part used twice
            return dict(zip(self.groups, values, strict=True))  # type: ignore[arg-type]
        out: dict[str, str] = {}
        for name, value in zip(self.groups, values, strict=True):
            assert value is not None  # every group is outside any alternation or repeat
            if out.setdefault(name, value) != value:
                return None
        return out

    def format(self, values: dict[str, object], wildcard: Callable[[str], str] | None = None) -> str:
        """Fill the parts in (used by the fixture synthesizer); ``*`` becomes ``x`` and ``**`` nothing, or
        what ``wildcard(token)`` gives for each token ``*``, ``**`` or ``**/`` (folders ending in ``/``)."""
        wild = {"star": "x", "dstar": ""}

        def fill(k: str, v: str) -> str:
            if k == "part":
                return str(values[v])
            if wildcard is not None and k in wild:
                return wildcard(v)
            return wild.get(k, v)

        return "".join(fill(k, v) for k, v in tokens(self.text))


def check_safe_path(text: str, what: str = "pattern") -> None:
    """Refuse paths that could leave the data folder."""
    if not text:
        raise PatternError(f"empty {what}")
    if "\x00" in text or "\\" in text:
        raise PatternError(f"{what} {text!r} contains a backslash or NUL; use `/` between folders")
    if text.startswith("/") or re.match(r"^[A-Za-z]:", text):
        raise PatternError(f"{what} {text!r} is absolute; write it relative to the data folder")
    if any(seg in ("..", ".") for seg in text.split("/")):
        raise PatternError(f"{what} {text!r} has a `..` or `.` segment; paths must stay inside the data folder")
    if len(text) > 500:
        raise PatternError(f"{what} is longer than 500 characters")


def check_safe_regex(rx: str) -> tuple[str, int]:
    """(RE2 form, size) of a part regex; :class:`PatternError` when it is refused (see :mod:`cardregex`)."""
    try:
        return convert(rx)
    except CardRegexError as exc:
        raise PatternError(str(exc)) from None


@lru_cache(maxsize=4096)
def parse(text: str, part_regexes: tuple[tuple[str, str], ...] = ()) -> Pattern:
    """Parse ``text``; ``part_regexes`` gives the regex of each declared part."""
    check_safe_path(text)
    regexes = dict(part_regexes)
    out: list[str] = []
    parts: list[str] = []
    groups: list[str] = []
    size = 0
    prefix_done = False
    prefix: list[str] = []
    for kind, val in _scan(text):
        if kind == "part":
            if not _NAME_RE.fullmatch(val):
                raise PatternError(f"`{{{val}}}` in {text!r} is not a part name (letters, digits, _)")
            if val in BUILTIN_PARTS:
                raise PatternError(f"`{{{val}}}` is reserved; choose another part name")
            # here too, not only in the validator: cards may skip it
            rx, n = check_safe_regex(regexes.get(val, DEFAULT_PART_REGEX))
            out.append(f"({rx})")
            size += n
            groups.append(val)
            if val not in parts:
                parts.append(val)
            prefix_done = True
        elif kind == "brace":
            raise PatternError(f"unbalanced brace in {text!r}; write `{{{{` or `}}}}` for a literal brace")
        elif kind in ("star", "dstar"):
            out.append(WILDCARD_REGEX[val])
            prefix_done = True
        else:
            out.append(escape(val))
            if not prefix_done:
                prefix.append(val)
    literal = "".join(prefix)
    literal_prefix = literal.rsplit("/", 1)[0] if "/" in literal else ""
    size += len(text)  # literals and wildcards: a few units each at most
    if size > MAX_PATTERN_SIZE:
        raise PatternError(f"pattern {text!r} is too large: its part regexes add up to more than {MAX_PATTERN_SIZE} "
                           "positions (counted repeats expanded); use + or * instead of large counts")
    try:
        compiled = compile_linear("".join(out))
    except CardRegexError as exc:
        raise PatternError(f"pattern {text!r} does not compile: {exc}") from None
    return Pattern(text=text, parts=tuple(parts), regex=compiled, literal_prefix=literal_prefix, groups=tuple(groups),
                   lead=literal)


def _scan(text: str) -> list[tuple[str, str]]:
    """The one reading of the pattern grammar: (kind, value) tokens, ``('part', name)`` (the name not yet
    checked), ``('lit', text)`` (``{{``/``}}`` already one brace), ``('star', '*')``, ``('dstar', '**' or
    '**/')`` or ``('brace', '{' or '}')`` for a lone brace."""
    out: list[tuple[str, str]] = []
    for m in _TOKEN_RE.finditer(text):
        t = m.group(0)
        if m.group(1) is not None:
            out.append(("part", m.group(1)))
        elif t in ("{{", "}}"):
            out.append(("lit", t[0]))
        elif t in ("{", "}"):
            out.append(("brace", t))
        elif t.startswith("**"):
            out.append(("dstar", t))
        elif t == "*":
            out.append(("star", t))
        else:
            out.append(("lit", t))
    return out


def tokens(text: str) -> list[tuple[str, str]]:
    """The tokens of a pattern or join template, as (kind, value): ``('part', name)``, ``('lit', text)``
    (``{{``/``}}`` already turned into one brace), ``('star', '*')`` or ``('dstar', '**' or '**/')``.

    A lone brace is kept as a literal here; :func:`parse` and :func:`template_parts` refuse it.
    """
    return [("lit", v) if k == "brace" else (k, v) for k, v in _scan(text)]


def regex_text(text: str, part_regex: Callable[[str], str], capture: tuple[int, int] | None = None) -> str:
    """A pattern as plain regex text for other tools (the Croissant export), with no anchors: parts as
    ``(?:<their regex>)``, wildcards as :data:`WILDCARD_REGEX`; with ``capture=(start, end)``, ONE group
    around tokens ``[start, end)`` of :func:`tokens`. (:func:`parse` builds the RE2 matcher covidct uses.)"""
    body = []
    for i, (kind, val) in enumerate(tokens(text)):
        if capture and i == capture[0]:
            body.append("(")
        if kind == "lit":
            body.append(re.escape(val))
        elif kind == "part":
            body.append(f"(?:{part_regex(val)})")
        else:
            body.append(WILDCARD_REGEX[val])
        if capture and i == capture[1] - 1:
            body.append(")")
    return "".join(body)


def template_parts(template: str) -> list[str]:
    """Part names used by a join template such as ``{patient}`` or ``{_stem}.dcm``."""
    toks = _scan(template)
    if any(k == "brace" for k, _ in toks):
        raise PatternError(f"unbalanced brace in template {template!r}")
    return [v for k, v in toks if k == "part"]


def fill_template(template: str, values: dict[str, object]) -> str:
    """Fill a join template; a missing part raises KeyError."""
    return "".join(str(values[v]) if k == "part" else v for k, v in tokens(template))


# ------------------------------------------------------------------------------------ walking helpers


@lru_cache(maxsize=1024)
def compile_glob(text: str) -> LinearRegex:
    """An ``exclude`` glob as a regex over paths relative to the layout root.

    ``**/`` matches any number of folders (also none), ``**`` anything, ``*`` anything within one
    folder, ``?`` one character within a folder. A glob without ``/`` matches the file name in any
    folder (``.DS_Store`` excludes every ``.DS_Store``), like ``.gitignore``.
    """
    check_safe_path(text, "exclude pattern")
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("**/", i):
            out.append(WILDCARD_REGEX["**/"])
            i += 3
        elif text.startswith("**", i):
            out.append(WILDCARD_REGEX["**"])
            i += 2
        elif text[i] == "*":
            out.append(WILDCARD_REGEX["*"])
            i += 1
        elif text[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(escape(text[i]))
            i += 1
    body = "".join(out)
    if "/" not in text:
        body = "(?:[^/]+/)*" + body
    return compile_linear(body + "(?:/.*)?")  # a folder excludes what is inside it


_SLASH_CATEGORIES = ("CATEGORY_NOT_DIGIT", "CATEGORY_NOT_SPACE", "CATEGORY_NOT_WORD")


def regex_can_match_slash(rx: str) -> bool:
    """Whether a part regex could match a ``/`` (then a file walk cannot stop at a fixed depth)."""
    try:
        tree = _sre_parse.parse(rx)
    except re.error:
        return True
    slash = ord("/")

    def in_set(items: object) -> bool:
        negate = False
        hit = False
        for op, av in items:  # type: ignore[attr-defined]
            name = str(op)
            if name == "NEGATE":
                negate = True
            elif (
                (name == "LITERAL" and av == slash)
                or (name == "RANGE" and av[0] <= slash <= av[1])
                or (name == "CATEGORY" and str(av) in _SLASH_CATEGORIES)
            ):
                hit = True
        return hit != negate

    def walk(items: object) -> bool:
        for op, av in items:  # type: ignore[attr-defined]
            name = str(op)
            if name == "ANY" or (name == "LITERAL" and av == slash):
                return True
            if name == "NOT_LITERAL" and av != slash:
                return True
            if name == "IN" and in_set(av):
                return True
            if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and walk(av[2]):
                return True
            if name == "SUBPATTERN" and walk(av[-1]):
                return True
            if name == "BRANCH" and any(walk(b) for b in av[1]):
                return True
        return False

    return walk(tree)


def fixed_depth(pattern: Pattern, part_regexes: dict[str, str]) -> int | None:
    """Number of ``/`` in every path the pattern matches, or None when it can vary (``**``, slashes)."""
    if "**" in pattern.text:
        return None
    for p in pattern.parts:
        if regex_can_match_slash(part_regexes.get(p, DEFAULT_PART_REGEX)):
            return None
    return pattern.text.count("/")


def literal_chars(pattern: Pattern) -> int:
    """How many literal characters the pattern has (the more, the more specific it is)."""
    return sum(len(v) for k, v in _scan(pattern.text) if k in ("lit", "brace"))
