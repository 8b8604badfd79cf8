"""Regexes from cards: one meaning, matched in time linear in the text.

Part regexes come from untrusted cards, and so do the path regexes built from patterns and
``exclude`` globs. Python's ``re`` backtracks: ``(?>(?:[0-9]+)+x)`` takes minutes on a 32-digit
file name, and no deny-list of constructs keeps up with its syntax. So every card regex is matched
by RE2 (the ``google-re2`` binding), whose matching time is linear in the text, through the ONE
helper :func:`compile_linear` (with a bounded memory budget).

A part regex is still written in the syntax card authors know (Python's): it is parsed by
Python's own parser, checked against an ALLOW-list of constructs that mean the same in both
engines, and written out again in canonical RE2 syntax (:func:`to_re2`). RE2 therefore runs
exactly what Python's parser read; nothing of RE2's own syntax (``\\pN``, ``\\C``, ``[[:alpha:]]``,
``\\Q..\\E``) can slip through, and a construct whose meaning differs is refused, not translated:

- backreferences, lookahead and lookbehind, conditionals, atomic groups, possessive quantifiers:
  RE2 has none of them;
- ``\\d``, ``\\w``, ``\\s``, ``\\b`` (and their negations): Unicode classes in Python, ASCII in RE2;
- anchors ``^``, ``$``, ``\\A``, ``\\Z``: a part always matches a whole value; ``$`` also differs;
- inline flags such as ``(?i)``: case folding differs between the engines;
- capturing groups: the values of a pattern's parts are its only groups;
- more than :data:`MAX_SIZE` positions once counted repeats are expanded (``a{1000}{1000}``): a
  bound of our own, tighter than RE2's, so what is accepted never depends on RE2's release.
"""

from __future__ import annotations

import re
import sys
import warnings
from dataclasses import dataclass
from functools import lru_cache

import re2

from covidct.errors import CovidctError

if sys.version_info >= (3, 11):
    import re._constants as _sre_c  # type: ignore[import-not-found]
    import re._parser as _sre_parse  # type: ignore[import-not-found]
else:  # pragma: no cover
    import sre_constants as _sre_c  # type: ignore[no-redef]
    import sre_parse as _sre_parse  # type: ignore[no-redef]

# The size of a regex: the positions it has once counted repeats are expanded, a [...] class counting
# one per range. It bounds the RE2 program (a few instructions per unit), so these limits, not RE2's
# memory accounting (which may change between releases), decide what is accepted.
MAX_SIZE = 1000  # one part regex (RE2 itself refuses a repeat count above 1000)
MAX_PATTERN_SIZE = 3000  # a whole pattern with its parts: at most ~7,000 RE2 instructions, a third of the budget
MAX_MEMORY = 2 << 20  # RE2's budget per compiled regex (program, DFA cache); a full DFA cache makes RE2 use its NFA
_MAXREPEAT = _sre_c.MAXREPEAT
_BOUNDS = {(0, _MAXREPEAT): "*", (1, _MAXREPEAT): "+", (0, 1): "?"}
_ALLOWED_FLAGS = re.UNICODE | re.VERBOSE  # Python's default for text patterns; (?x) changes only the parsing


class CardRegexError(CovidctError, ValueError):
    """A card regex that is refused; the message says which construct and what to write instead."""


_REFUSED = {
    "GROUPREF": ("a backreference (\\1, (?P=name))", "RE2 has no backreferences; list the values, e.g. (?:ab|cd)"),
    "GROUPREF_EXISTS": ("a conditional (?(1)...)", "RE2 has no conditionals; use an alternation (?:x|y)"),
    "ASSERT": ("a lookahead or lookbehind (?=...), (?<=...)", "RE2 has no lookaround; match the text itself"),
    "ASSERT_NOT": ("a negative lookahead or lookbehind (?!...), (?<!...)",
                   "RE2 has no lookaround; use a class such as [^x] instead"),
    "ATOMIC_GROUP": ("an atomic group (?>...)", "RE2 has no atomic groups; write (?:...)"),
    "POSSESSIVE_REPEAT": ("a possessive quantifier (*+, ++, ?+, {m,n}+)",
                          "RE2 has no possessive quantifiers; drop the last +"),
    "AT": ("an anchor or word boundary (^, $, \\A, \\Z, \\b, \\B)",
           "a part always matches a whole value, so anchors are not needed; remove it"),
    "CATEGORY": ("a class escape (\\d, \\w, \\s or a negation)",
                 "it means Unicode characters in Python and ASCII in RE2; write the class out, e.g. [0-9], "
                 "[A-Za-z0-9_] or [ ]"),
}


def _esc(c: int) -> str:
    """One code point in RE2 syntax: ASCII letters and digits as they are, everything else ``\\x{...}``."""
    ch = chr(c)
    return ch if ch.isascii() and (ch.isalnum() or ch == "_") else f"\\x{{{c:X}}}"


def escape(text: str) -> str:
    """``text`` as a literal in RE2 syntax (the generated path regexes use it for literal parts)."""
    return "".join(_esc(ord(ch)) for ch in text)


def _emit(items: object, rx: str) -> tuple[str, int]:
    """(RE2 text, size) of a parsed sequence; refuses any node that is not on the allow-list."""
    out: list[str] = []
    size = 0
    for op, av in items:  # type: ignore[attr-defined]
        name = str(op)
        if name == "LITERAL":
            out.append(_esc(av))
            size += 1
        elif name == "NOT_LITERAL":
            out.append(f"[^{_esc(av)}]")
            size += 2
        elif name == "ANY":  # Python's . (without the s flag) matches anything but a newline; so does RE2's
            out.append("[^\\x{A}]")
            size += 2
        elif name == "IN":
            out.append(_emit_set(av, rx))
            size += len(av)  # each range of a class costs RE2 instructions (a negation as much as a range)
        elif name == "BRANCH":
            alts = [_emit(b, rx) for b in av[1]]
            out.append("(?:" + "|".join(a for a, _ in alts) + ")")
            size += sum(s for _, s in alts)
        elif name == "SUBPATTERN":
            group, add_flags, del_flags, sub = av
            if group is not None:
                raise CardRegexError(f"regex {rx!r} defines a capturing group (...); use (?:...) for alternatives")
            if add_flags or del_flags:
                raise _flag_error(rx)
            body, s = _emit(sub, rx)
            out.append(f"(?:{body})")
            size += s
        elif name in ("MAX_REPEAT", "MIN_REPEAT"):
            lo, hi, sub = av
            body, s = _emit(sub, rx)
            count = lo if hi == _MAXREPEAT else hi
            if lo > MAX_SIZE or count > MAX_SIZE:
                raise _size_error(rx)
            bound = _BOUNDS.get((lo, hi)) or (f"{{{lo},}}" if hi == _MAXREPEAT else f"{{{lo}}}" if lo == hi
                                              else f"{{{lo},{hi}}}")
            out.append(f"(?:{body}){bound}" + ("?" if name == "MIN_REPEAT" else ""))
            size += s * max(count, 1)
        elif name in _REFUSED:
            what, hint = _REFUSED[name]
            raise CardRegexError(f"regex {rx!r} uses {what}; {hint}")
        else:  # a construct this allow-list does not know: refused, whatever it is
            raise CardRegexError(f"regex {rx!r} uses a construct ({name.lower()}) that part regexes do not allow")
        if size > MAX_SIZE:
            raise _size_error(rx)
    return "".join(out), size


def _emit_set(items: object, rx: str) -> str:
    out = []
    for op, av in items:  # type: ignore[attr-defined]
        name = str(op)
        if name == "NEGATE":
            out.append("^")
        elif name == "LITERAL":
            out.append(_esc(av))
        elif name == "RANGE":
            out.append(f"{_esc(av[0])}-{_esc(av[1])}")
        elif name == "CATEGORY":
            what, hint = _REFUSED["CATEGORY"]
            raise CardRegexError(f"regex {rx!r} uses {what}; {hint}")
        else:
            raise CardRegexError(f"regex {rx!r} uses a construct ({name.lower()}) in a [...] class that part "
                                 "regexes do not allow")
    return "[" + "".join(out) + "]"


def _flag_error(rx: str) -> CardRegexError:
    return CardRegexError(f"regex {rx!r} uses an inline flag such as (?i) or (?s); case folding and `.` differ "
                          "between regex engines: write both cases out, e.g. [Pp][Nn][Gg]")


def _size_error(rx: str) -> CardRegexError:
    return CardRegexError(f"regex {rx!r} is too large: more than {MAX_SIZE} positions once its counted repeats "
                          "{m,n} are expanded; use + or * instead of large counts")


def to_re2(rx: str) -> str:
    """The canonical RE2 text of a part regex, or :class:`CardRegexError` saying what to change.

    The result can be embedded in a larger regex: it has no groups and no anchors.
    """
    return convert(rx)[0]


@lru_cache(maxsize=4096)
def convert(rx: str) -> tuple[str, int]:
    """(:func:`to_re2` of ``rx``, its size); :class:`CardRegexError` when refused."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", FutureWarning)  # "possible nested set": a meaning Python may change
            tree = _sre_parse.parse(rx)
    except FutureWarning:
        raise CardRegexError(f"regex {rx!r} has `[[`, `--`, `&&`, `~~` or `||` inside a [...] class, which "
                             "regex engines read differently ([[:alpha:]] is a POSIX class in RE2); escape it "
                             "as \\[ or write the characters out") from None
    except (re.error, OverflowError, RecursionError, ValueError) as exc:
        raise CardRegexError(f"regex {rx!r} does not compile: {exc}") from None
    if tree.state.flags & ~_ALLOWED_FLAGS:
        raise _flag_error(rx)
    text, size = _emit(tree, rx)
    compile_linear(f"(?:{text})")  # RE2 accepts everything emitted above; checked anyway, once per regex
    return text, size


@dataclass(frozen=True, slots=True)
class LinearMatch:
    """A successful match: the values of the regex's groups (None for a group that did not take part)."""

    groups: tuple[str | None, ...]


# The binding's own fullmatch() builds Python match objects around one C++ call; the walker matches every
# file name against every pattern, so that call is used directly when this release of the binding has it
# (1.1 through 1.1.20251105 do), else the public API: the results are the same (tested both ways).
_ANCHOR_BOTH = getattr(getattr(re2, "_Anchor", None), "ANCHOR_BOTH", None)


class LinearRegex:
    """A regex compiled by RE2: :meth:`fullmatch` takes time linear in the text.

    Texts are matched as UTF-8 with lone surrogates passed through, so a file name that is not
    valid UTF-8 (``os.fsdecode`` turns its bytes into surrogates) matches ``[^/]`` or ``.`` one
    character per undecodable byte, as in Python, and comes back unchanged.
    """

    __slots__ = ("_raw", "_rx", "pattern")

    def __init__(self, pattern: str):
        self.pattern = pattern
        opts = re2.Options()
        opts.max_mem = MAX_MEMORY
        opts.log_errors = False
        opts.encoding = re2.Options.Encoding.UTF8
        try:
            self._rx = re2.compile(pattern.encode("utf-8", "surrogatepass"), opts)
        except re2.error as exc:
            msg = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else exc
            raise CardRegexError(f"regex {pattern!r} cannot be compiled by RE2: {msg}") from None
        self._raw = getattr(self._rx, "_regexp", None) if _ANCHOR_BOTH is not None else None

    def groups(self, text: str) -> tuple[str | None, ...] | None:
        """The group values of a whole-text match (None for a group that took no part), or None."""
        data = text.encode("utf-8", "surrogatepass")
        if self._raw is not None:
            spans = self._raw.Match(_ANCHOR_BOTH, data, 0, len(data))
            if spans[0][0] < 0:
                return None
            spans = spans[1:]
        else:
            m = self._rx.fullmatch(data)
            if m is None:
                return None
            spans = [m.span(i + 1) for i in range(len(m.groups()))]
        return tuple([data[a:b].decode("utf-8", "surrogatepass") if a >= 0 else None for a, b in spans])

    def fullmatch(self, text: str) -> LinearMatch | None:
        values = self.groups(text)
        return None if values is None else LinearMatch(values)

    def matches(self, text: str) -> bool:
        return self.groups(text) is not None

    def __repr__(self) -> str:
        return f"LinearRegex({self.pattern!r})"


@lru_cache(maxsize=1024)
def compile_linear(source: str) -> LinearRegex:
    """THE compiler of regexes built from card text: RE2, bounded memory, linear-time matching.

    ``source`` is RE2 syntax produced by :func:`to_re2`, :func:`escape` and the fixed pieces of
    the pattern language; never raw card text.
    """
    return LinearRegex(source)


def part_matcher(rx: str) -> LinearRegex:
    """A part regex compiled to match one whole value (``part_matcher("[0-9]+").matches("12")``)."""
    return compile_linear(f"(?:{to_re2(rx)})")


__all__ = ["MAX_PATTERN_SIZE", "MAX_SIZE", "CardRegexError", "LinearMatch", "LinearRegex", "compile_linear",
           "convert", "escape", "part_matcher", "to_re2"]
