"""Path patterns with named parts: ``image/{scan}/{frame}.jpg``.

A pattern is a relative POSIX path. ``{name}`` is a named part (its regex comes from the layout's
``parts``, default one folder level), ``*`` matches within one folder, ``**`` across folders, and
``{{``/``}}`` are literal braces. A part used twice must have the same value in both places.

Patterns come from untrusted cards, so :func:`parse` refuses what could escape the data folder
(absolute paths, ``..``, backslashes) and part regexes that could backtrack exponentially.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import lru_cache

if sys.version_info >= (3, 11):
    import re._parser as _sre_parse  # type: ignore[import-not-found]
else:  # pragma: no cover
    import sre_parse as _sre_parse  # type: ignore[no-redef]

DEFAULT_PART_REGEX = "[^/]+"
MAX_PATH_CHARS = 4096
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOKEN_RE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|\*\*/?|\*|[{}]|[^{}*]+")
BUILTIN_PARTS = ("_name", "_stem", "_path")


class PatternError(ValueError):
    """A pattern that does not parse or is unsafe; the message says what to change."""


@dataclass(frozen=True)
class Pattern:
    text: str
    parts: tuple[str, ...]  # named parts, in order of first appearance
    regex: re.Pattern[str]
    literal_prefix: str  # the folders before the first wildcard: where a file walk can start

    def match(self, relpath: str) -> dict[str, str] | None:
        if len(relpath) > MAX_PATH_CHARS:
            return None
        m = self.regex.fullmatch(relpath)
        return m.groupdict() if m else None

    def format(self, values: dict[str, object]) -> str:
        """Fill the parts in (used by the fixture synthesizer); ``*`` becomes ``x``."""
        out: list[str] = []
        for tok in _TOKEN_RE.finditer(self.text):
            t = tok.group(0)
            if tok.group(1) is not None:
                out.append(str(values[tok.group(1)]))
            elif t == "{{":
                out.append("{")
            elif t == "}}":
                out.append("}")
            elif t.startswith("**"):
                out.append("")
            elif t == "*":
                out.append("x")
            else:
                out.append(t)
        return "".join(out)


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


@lru_cache(maxsize=1024)
def check_safe_regex(rx: str) -> None:
    """Refuse regexes with nested repeats or backreferences (catastrophic backtracking)."""
    try:
        tree = _sre_parse.parse(rx)
    except re.error as exc:
        raise PatternError(f"regex {rx!r} does not compile: {exc}") from None
    def walk(items: object, in_repeat: bool) -> None:
        for op, av in items:  # type: ignore[attr-defined]
            name = str(op)
            if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                _lo, hi, sub = av
                if hi <= 1:  # optional (?:...)? matches at most once: not a repeat
                    walk(sub, in_repeat)
                    continue
                if in_repeat:
                    raise PatternError(f"regex {rx!r} nests one repeat inside another")
                walk(sub, True)
            elif name == "SUBPATTERN":
                walk(av[-1], in_repeat)
            elif name == "BRANCH":
                if in_repeat:  # (?:x|y|xy)+ and (?:[^/]|a)+ backtrack exponentially
                    raise PatternError(f"regex {rx!r} repeats an alternation; use a class such as [xy]+")
                for b in av[1]:
                    walk(b, in_repeat)
            elif name in ("GROUPREF", "GROUPREF_EXISTS", "ASSERT", "ASSERT_NOT", "ASSERT_LOOKBEHIND"):
                raise PatternError(f"regex {rx!r} uses backreferences or lookaround")

    walk(tree, False)
    if tree.state.groups > 1 or "(?P" in rx:
        raise PatternError(f"regex {rx!r} must not define groups; use (?:...) for alternatives")


MAX_VARIABLE_PER_NAME = 3


def check_backtracking(source: str, what: str) -> None:
    """Refuse patterns whose matching time grows as a high power of the path length.

    Each variable-length repeat (a part such as ``[^/]+``, ``*``, ``**``) in one file or folder name
    multiplies the backtracking work by that name's length: ``{a}{b}{c}{d}{e}{f}.png`` or
    ``.*.*.*.*.*.*=`` takes hours on a 200-character name that does not match. At most
    MAX_VARIABLE_PER_NAME of them may share one name; repeats that can also match ``/`` count in
    every name. (``**/`` is a repeat of whole folders and cannot be ambiguous, so it does not count.)
    """
    try:
        tree = _sre_parse.parse(source)
    except re.error:  # reported by the caller's compile
        return
    slash = ord("/")

    def variable(items: object) -> tuple[int, int]:
        """(variable repeats that cannot match '/', those that can) in a sequence; branches: the max."""
        inside = across = 0
        for op, av in items:  # type: ignore[attr-defined]
            name = str(op)
            if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                lo, hi, sub = av
                body = list(sub)
                if body and str(body[-1][0]) == "LITERAL" and body[-1][1] == slash:
                    continue  # (?:[^/]+/)*: whole folders, one way to split
                if lo != hi:
                    if _sub_can_match_slash(sub):
                        across += 1
                    else:
                        inside += 1
                i, a = variable(sub)
                inside, across = inside + i, across + a
            elif name == "SUBPATTERN":
                i, a = variable(av[-1])
                inside, across = inside + i, across + a
            elif name == "BRANCH":
                counts = [variable(b) for b in av[1]]
                inside += max(c[0] for c in counts)
                across += max(c[1] for c in counts)
        return inside, across

    names = [0]
    across = 0
    for item in tree:
        op, av = item
        if str(op) == "LITERAL" and av == slash:
            names.append(0)
            continue
        i, a = variable([item])
        names[-1] += i
        across += a
    worst = max(names) + across
    if worst > MAX_VARIABLE_PER_NAME:
        raise PatternError(
            f"{what} has {worst} variable-length parts or wildcards in one file or folder name; at most "
            f"{MAX_VARIABLE_PER_NAME} keep matching fast: give parts narrower regexes (e.g. [0-9]+ or a "
            "fixed count such as [0-9]{4}) or separate them with `/`"
        )


def _sub_can_match_slash(items: object) -> bool:
    slash = ord("/")
    for op, av in items:  # type: ignore[attr-defined]
        name = str(op)
        if name == "ANY" or (name == "LITERAL" and av == slash) or (name == "NOT_LITERAL" and av != slash):
            return True
        if name == "IN":
            negate = any(str(o) == "NEGATE" for o, _ in av)
            hit = any((str(o) == "LITERAL" and v == slash) or (str(o) == "RANGE" and v[0] <= slash <= v[1])
                      or (str(o) == "CATEGORY" and str(v) in ("CATEGORY_NOT_DIGIT", "CATEGORY_NOT_SPACE",
                                                              "CATEGORY_NOT_WORD"))
                      for o, v in av)
            if hit != negate:
                return True
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and _sub_can_match_slash(av[2]):
            return True
        if name == "SUBPATTERN" and _sub_can_match_slash(av[-1]):
            return True
        if name == "BRANCH" and any(_sub_can_match_slash(b) for b in av[1]):
            return True
    return False


@lru_cache(maxsize=4096)
def parse(text: str, part_regexes: tuple[tuple[str, str], ...] = ()) -> Pattern:
    """Parse ``text``; ``part_regexes`` gives the regex of each declared part."""
    check_safe_path(text)
    regexes = dict(part_regexes)
    out: list[str] = []
    parts: list[str] = []
    prefix_done = False
    prefix: list[str] = []
    for tok in _TOKEN_RE.finditer(text):
        t = tok.group(0)
        name = tok.group(1)
        if name is not None:
            if not _NAME_RE.fullmatch(name):
                raise PatternError(f"`{{{name}}}` in {text!r} is not a part name (letters, digits, _)")
            if name in BUILTIN_PARTS:
                raise PatternError(f"`{{{name}}}` is reserved; choose another part name")
            if name in parts:
                out.append(f"(?P={name})")
            else:
                rx = regexes.get(name, DEFAULT_PART_REGEX)
                check_safe_regex(rx)  # here too, not only in the validator: cards may skip it
                out.append(f"(?P<{name}>{rx})")
                parts.append(name)
            prefix_done = True
        elif t == "{{":
            out.append(re.escape("{"))
        elif t == "}}":
            out.append(re.escape("}"))
        elif t in ("{", "}"):
            raise PatternError(f"unbalanced brace in {text!r}; write `{{{{` or `}}}}` for a literal brace")
        elif t.startswith("**"):
            out.append("(?:[^/]+/)*" if t.endswith("/") else ".*")
            prefix_done = True
        elif t == "*":
            out.append("[^/]*")
            prefix_done = True
        else:
            out.append(re.escape(t))
            if not prefix_done:
                prefix.append(t)
    literal = "".join(prefix)
    literal_prefix = literal.rsplit("/", 1)[0] if "/" in literal else ""
    if not parts and "*" not in text:
        pass  # a fixed file name is allowed (e.g. a single table)
    try:
        compiled = re.compile("".join(out))
    except re.error as exc:
        raise PatternError(f"pattern {text!r} does not compile: {exc}") from None
    check_backtracking(compiled.pattern, f"pattern {text!r}")
    return Pattern(text=text, parts=tuple(parts), regex=compiled, literal_prefix=literal_prefix)


def template_parts(template: str) -> list[str]:
    """Part names used by a join template such as ``{patient}`` or ``{_stem}.dcm``."""
    names = []
    for tok in _TOKEN_RE.finditer(template):
        if tok.group(1) is not None:
            names.append(tok.group(1))
        elif tok.group(0) in ("{", "}"):
            raise PatternError(f"unbalanced brace in template {template!r}")
    return names


def fill_template(template: str, values: dict[str, object]) -> str:
    """Fill a join template; a missing part raises KeyError."""
    out: list[str] = []
    for tok in _TOKEN_RE.finditer(template):
        t = tok.group(0)
        if tok.group(1) is not None:
            out.append(str(values[tok.group(1)]))
        elif t == "{{":
            out.append("{")
        elif t == "}}":
            out.append("}")
        else:
            out.append(t)
    return "".join(out)


# ------------------------------------------------------------------------------------ walking helpers


@lru_cache(maxsize=1024)
def compile_glob(text: str) -> re.Pattern[str]:
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
            out.append("(?:[^/]+/)*")
            i += 3
        elif text.startswith("**", i):
            out.append(".*")
            i += 2
        elif text[i] == "*":
            out.append("[^/]*")
            i += 1
        elif text[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(text[i]))
            i += 1
    body = "".join(out)
    if "/" not in text:
        body = "(?:[^/]+/)*" + body
    check_backtracking(body, f"exclude pattern {text!r}")
    return re.compile(body + "(?:/.*)?")  # a folder excludes what is inside it


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
    n = 0
    for tok in _TOKEN_RE.finditer(pattern.text):
        t = tok.group(0)
        if tok.group(1) is None and not t.startswith("*"):
            n += len(t)
    return n
