"""A safe YAML reader for untrusted cards that remembers where every value stands.

It walks PyYAML's event stream (the C parser when available) with an explicit stack instead of
composing a node graph, which gives four things at once:

* positions: ``(line, col)`` of every key and value, so schema errors point into the file;
* no recursion, so deep nesting cannot overflow the stack, and a depth limit with a clear error;
* no aliases or anchors (alias bombs) and no tags beyond plain YAML values (no object construction);
* duplicate keys reported instead of silently overwritten;
* numbers that are cheap to build: a plain scalar that looks like a number and is longer than
  :data:`MAX_NUMBER_CHARS` is refused before PyYAML resolves or builds it (its base-60 integers take
  quadratic time), and base-60 (``12:30``) numbers are refused outright.

Limits are covidct's own and do not depend on the PyYAML release: libyaml 0.2.5 as bundled by some
PyYAML wheels stops at 1,000 nested flow collections while *scanning ahead*, before covidct sees an
event, so a parser error is checked against covidct's depth limit before it is reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from covidct.card.limits import MAX_BYTES
from covidct.errors import CovidctError

try:  # the C parser is several times faster; fall back to pure Python where libyaml is missing
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml.parser import Parser as _PurePythonParser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, _PurePythonParser):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            _PurePythonParser.__init__(self)

MAX_DEPTH = 32
MAX_EVENTS = 50_000  # the largest registry card has ~1,400 events; 200,000 took ~1.5 s to refuse
MAX_NUMBER_CHARS = 32  # longer plain scalars that look like numbers are refused unbuilt

# What a YAML 1.1 int or float can look like (PyYAML's resolver patterns, loosened): decimal with
# `_`, `:`, `.`, exponents; 0x hex; 0b binary. Anything else (a sha256, text) is never a number.
_NUMBERISH = re.compile(r"[-+]?(?:0[xX][0-9a-fA-F_]*|0[bB][01_]*|[0-9._][0-9._:eE+-]*)")

Path = tuple[str | int, ...]

_STR = "tag:yaml.org,2002:str"
_ALLOWED_TAGS = {
    _STR,
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


class YamlError(CovidctError):
    """A located problem with the YAML itself (code from :mod:`covidct.card.issues`)."""

    def __init__(self, code: str, message: str, line: int = 1, col: int = 1, hint: str | None = None):
        super().__init__(message)
        self.code, self.message, self.line, self.col, self.hint = code, message, line, col, hint


@dataclass
class Located:
    """The parsed data with the 1-based position of each value and each mapping key."""

    data: Any
    # YAML marks (converted to 1-based (line, col) only when asked: most values never are)
    values: dict[Path, Any] = field(default_factory=dict)
    keys: dict[Path, Any] = field(default_factory=dict)
    text: str | None = None  # set when the text has line breaks that YAML counts and editors do not

    def where(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """Best position for ``path``: the exact one, else the nearest enclosing value."""
        return self._lc(self._mark(path, key))

    def _mark(self, path: Path, key: bool) -> Any:
        table = self.keys if key else self.values
        p = tuple(path)
        if p in table:
            return table[p]
        while p:
            if p in self.keys:
                return self.keys[p]
            p = p[:-1]
            if p in self.values:
                return self.values[p]
        return self.values.get(())

    def _lc(self, mark: Any) -> tuple[int, int]:
        if mark is None:
            return (1, 1)
        if self.text is not None:
            return _newline_lc(self.text, mark.index)
        return (mark.line + 1, mark.column + 1)


# YAML (and libyaml's marks) also break lines at NEL, LS and PS; editors and `file:line:col` readers
# count "\n" only, so positions in a text holding those characters are recomputed from the offset.
_EXOTIC_BREAKS = ("\x85", "\u2028", "\u2029")
_YAML_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")


def _exotic(text: str) -> bool:
    return any(c in text for c in _EXOTIC_BREAKS)


def _newline_lc(text: str, index: int) -> tuple[int, int]:
    return (text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1)


def _yaml_lc(text: str, index: int) -> tuple[int, int]:
    """(line, col) of ``index`` as YAML (and its marks) count them; :func:`load` remaps if needed."""
    line, start = 1, 0
    for m in _YAML_BREAK.finditer(text, 0, index):
        line, start = line + 1, m.end()
    return (line, index - start + 1)


def _remap(text: str, line: int, col: int) -> tuple[int, int]:
    """YAML's (line, col) of ``text`` as newline-counted (line, col)."""
    starts = [0] + [m.end() for m in _YAML_BREAK.finditer(text)]
    if line > len(starts):  # libyaml ends a last line without a break with a "new line" of its own
        return (text.count("\n") + 1 + line - len(starts), col)
    if line < 1:
        return (line, col)
    return _newline_lc(text, min(starts[line - 1] + col - 1, len(text)))


_resolver = Resolver()
_constructor = SafeConstructor()


_FIRST_CHARS = {k for k in Resolver.yaml_implicit_resolvers if k}


_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"


def _shown(value: str) -> str:
    return repr(value) if len(value) <= 40 else repr(value[:37] + "...")


def _scalar(ev: yaml.ScalarEvent) -> Any:
    tag = ev.tag
    v = ev.value
    if tag is None and ev.style:  # quoted or block scalar: always text
        return v
    if tag is None and v and v[0] not in _FIRST_CHARS:
        return v  # no implicit type starts with this character: plain text, no regex needed
    plain = tag in (None, "!") and not ev.style  # plain scalars: style None (Python parser) or '' (C parser)
    if (plain or tag in (_INT, _FLOAT)) and len(v) > MAX_NUMBER_CHARS:
        # Checked before PyYAML's resolver and constructor see it: base-60 integers build in
        # quadratic time, and no implicit type other than text is this long in a real card.
        if tag in (_INT, _FLOAT) or _NUMBERISH.fullmatch(v):
            raise YamlError("Y111", f"{_shown(v)} looks like a number of more than {MAX_NUMBER_CHARS} characters",
                            *_pos(ev), hint="quote it if it is text")
        if plain:
            return v
    if tag in (None, "!"):
        tag = _resolver.resolve(ScalarNode, v, ev.implicit) if not ev.style else _STR
    if tag not in _ALLOWED_TAGS or tag.endswith(("map", "seq")):
        what = f"tag {ev.tag!r}" if ev.tag not in (None, "!") else f"{_shown(v)} (YAML type {tag.rsplit(':', 1)[-1]})"
        raise YamlError("Y106", f"{what} is not allowed", *_pos(ev), hint="write a plain value, or quote it")
    if tag == _STR:
        return v
    if tag in (_INT, _FLOAT) and ":" in v:
        raise YamlError("Y111", f"{_shown(v)} is a base-60 number in YAML 1.1", *_pos(ev),
                        hint="quote it to keep it as text")
    try:
        return _constructor.yaml_constructors[tag](_constructor, ScalarNode(tag, ev.value))
    except (ValueError, OverflowError, yaml.YAMLError) as exc:
        raise YamlError("Y101", f"bad value {ev.value!r}: {exc}", *_pos(ev),
                        hint="quote it to keep it as text") from None


# Flow indicators, and the quoted scalars and comments whose brackets do not count. An unterminated
# quote runs to the end, so every match succeeds where it starts (no rescans: linear time).
_FLOW_TOKENS = re.compile(r"""[\[\]{}]|"(?:[^"\\]|\\.)*(?:"|\Z)|'(?:[^']|'')*(?:'|\Z)|(?:(?<=\s)|^)#[^\n]*""",
                          re.MULTILINE | re.DOTALL)


def _nesting_beyond(text: str, start: int, stop: int, depth: int) -> int | None:
    """Offset of the first bracket in ``text[start:stop]`` that nests past :data:`MAX_DEPTH`, if any.

    ``depth`` is the nesting at ``start`` (collections already open). Only brackets count, so text
    read in block context may count a bracket inside plain text: this runs only for input the
    parser has already refused, to choose between "too deep" and the parser's own message.
    """
    for m in _FLOW_TOKENS.finditer(text, start, max(start, stop)):
        c = text[m.start()]
        if c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return m.start()
        elif c in "]}":
            depth -= 1
    return None


def _pos(ev: Any) -> tuple[int, int]:
    m = ev.start_mark
    return (m.line + 1, m.column + 1)


def decode(data: bytes) -> str:
    """Strict UTF-8 decoding with a located error."""
    if len(data) > MAX_BYTES:
        raise YamlError("Y103", f"file is {len(data):,} bytes; a card may have at most {MAX_BYTES:,}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = exc.start
        line = data.count(b"\n", 0, start) + 1
        col = start - (data.rfind(b"\n", 0, start) + 1) + 1
        raise YamlError("Y102", f"invalid UTF-8 byte 0x{data[start]:02x}", line, col,
                        hint="save the file as UTF-8") from None


def load(text: str) -> Located:
    """Parse one YAML document from ``text`` into plain Python data with positions."""
    try:
        out = _load(text)
    except YamlError as exc:
        if _exotic(text):
            exc.line, exc.col = _remap(text, exc.line, exc.col)
        raise
    if _exotic(text):
        out.text = text
    return out


def _load(text: str) -> Located:
    if len(text) > MAX_BYTES:
        raise YamlError("Y103", f"file has {len(text):,} characters; a card may have at most {MAX_BYTES:,}")
    parser = _Parser(text)
    out = Located(data=None)
    values, keys = out.values, out.keys
    # Hot loop (one pass per event): classes and helpers bound to locals, scalars first, plain text
    # without a resolver call. Stack frames: [container, path, pending_key (mappings only), is_mapping].
    scalar_ev, map_start, seq_start = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
    map_end, seq_end, alias_ev = yaml.MappingEndEvent, yaml.SequenceEndEvent, yaml.AliasEvent
    first_chars = _FIRST_CHARS
    get_event = parser.get_event
    stack: list[list[Any]] = []
    root_set = False
    docs = 0
    n = 0
    try:
        while True:
            ev = get_event()
            if ev is None:
                break
            n += 1
            if n > MAX_EVENTS:
                raise YamlError("Y109", f"more than {MAX_EVENTS:,} YAML values", *_pos(ev))
            cls = type(ev)
            if cls is map_end or cls is seq_end:
                stack.pop()
                continue
            if cls is scalar_ev:
                if ev.anchor is not None:
                    raise YamlError("Y105", "anchors and aliases are not allowed in cards", *_pos(ev),
                                    hint="write the value out in full")
                v = ev.value
                if ev.tag is None and (ev.style or (v and v[0] not in first_chars)):
                    value: Any = v  # quoted, block or plain text that no implicit type starts like
                else:
                    value = _scalar(ev)
                if stack:
                    frame = stack[-1]
                    if frame[3]:
                        pending = frame[2]
                        if pending is None:  # this scalar is a key
                            key = value if isinstance(value, str) else str(value)
                            container = frame[0]
                            if key in container:
                                first = _newline_lc(text, keys[frame[1] + (key,)].index)
                                raise YamlError("Y107", f"duplicate key {key!r} (first at line {first[0]})",
                                                *_pos(ev), hint="keep one of them")
                            container[key] = None
                            keys[frame[1] + (key,)] = ev.start_mark
                            frame[2] = key
                            continue
                        values[frame[1] + (pending,)] = ev.start_mark
                        frame[0][pending] = value
                        frame[2] = None
                    else:
                        values[frame[1] + (len(frame[0]),)] = ev.start_mark
                        frame[0].append(value)
                    continue
                if root_set:
                    raise YamlError("Y108", "unexpected content after the document", *_pos(ev))
                values[()] = ev.start_mark
                out.data = value
                root_set = True
                continue
            if cls is map_start or cls is seq_start:
                if ev.anchor is not None:
                    raise YamlError("Y105", "anchors and aliases are not allowed in cards", *_pos(ev),
                                    hint="write the value out in full")
                if ev.tag not in (None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"):
                    raise YamlError("Y106", f"tag {ev.tag!r} is not allowed", *_pos(ev))
                if len(stack) >= MAX_DEPTH:
                    raise YamlError("Y104", f"nesting deeper than {MAX_DEPTH} levels", *_pos(ev))
                is_map = cls is map_start
                value = {} if is_map else []
                if stack:
                    frame = stack[-1]
                    if frame[3]:
                        pending = frame[2]
                        if pending is None:
                            raise YamlError("Y101", "mapping keys must be plain text", *_pos(ev))
                        sub = frame[1] + (pending,)
                        frame[0][pending] = value
                        frame[2] = None
                    else:
                        sub = frame[1] + (len(frame[0]),)
                        frame[0].append(value)
                else:
                    if root_set:
                        raise YamlError("Y108", "unexpected content after the document", *_pos(ev))
                    sub = ()
                    out.data = value
                    root_set = True
                values[sub] = ev.start_mark
                stack.append([value, sub, None, is_map])
                continue
            if cls is alias_ev:
                raise YamlError("Y105", "anchors and aliases are not allowed in cards", *_pos(ev),
                                hint="write the value out in full")
            if cls is yaml.DocumentStartEvent:
                docs += 1
                if docs > 1:
                    raise YamlError("Y108", "a card is one YAML document; found a second `---`", *_pos(ev))
                continue
            if cls is yaml.StreamEndEvent:
                break
            # StreamStart, DocumentEnd: nothing to do
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        # The parser may have read far ahead of the last event it gave (flow collections); if that
        # stretch nests deeper than covidct allows, report covidct's limit, whatever PyYAML said.
        last = ev.end_mark.index if n else 0
        too_deep = _nesting_beyond(text, last, mark.index if mark else len(text), len(stack))
        if too_deep is not None:
            line, col = _yaml_lc(text, too_deep)
            raise YamlError("Y104", f"nesting deeper than {MAX_DEPTH} levels", line, col) from None
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        msg = " ".join(x for x in (exc.context, exc.problem) if x) or "invalid YAML"
        raise YamlError("Y101", msg, line, col) from None
    except yaml.YAMLError as exc:
        raise YamlError("Y101", str(exc).splitlines()[0] if str(exc) else "invalid YAML") from None
    except (ValueError, OverflowError) as exc:  # e.g. an int or date that does not construct
        raise YamlError("Y101", f"bad value: {exc}") from None
    finally:
        dispose = getattr(parser, "dispose", None)
        if dispose:
            dispose()
    if not isinstance(out.data, dict):
        raise YamlError("Y108", "a card must be a YAML mapping (key: value lines)")
    return out
