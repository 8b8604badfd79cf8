"""One root for every expected error, and one place that catches it: ``covidct.cli.main``.

A new error class outside the hierarchy would escape ``main()`` as a traceback; the scan reads the
source with ``ast``, so it sees every module whether or not its extra is installed.
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import pytest

import covidct
from covidct.cli import COMMANDS, main
from covidct.errors import CovidctError

SRC = Path(covidct.__file__).resolve().parent


def _exception_classes(root: Path) -> dict[str, tuple[str, list[str]]]:
    """Every module-level class in ``root`` -> (where, base names), for the classes that are exceptions."""
    classes: dict[str, tuple[str, list[str]]] = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef):
                bases = [b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else "?"
                         for b in node.bases]
                classes[node.name] = (f"{path.relative_to(root)}:{node.lineno}", bases)

    def builtin_exception(name: str) -> type | None:
        obj = getattr(builtins, name, None)
        return obj if isinstance(obj, type) and issubclass(obj, BaseException) else None

    def is_exception(name: str, seen: frozenset[str] = frozenset()) -> bool:
        if builtin_exception(name) or name in seen:
            return builtin_exception(name) is not None
        return name in classes and any(is_exception(b, seen | {name}) for b in classes[name][1])

    return {n: c for n, c in classes.items() if is_exception(n)}


def test_every_error_derives_from_the_one_root() -> None:
    """A new error class outside the hierarchy would escape main() as a traceback: none may exist.

    Private classes (``_TooLong``) are control flow caught where raised; warnings are not errors."""
    classes = _exception_classes(SRC)

    def rooted(name: str) -> bool:
        return name == "CovidctError" or any(rooted(b) for b in classes.get(name, ("", []))[1])

    def warning(name: str) -> bool:
        obj = getattr(builtins, name, None)
        if isinstance(obj, type):
            return issubclass(obj, Warning)
        return any(warning(b) for b in classes.get(name, ("", []))[1])

    outside = [f"{where} {name}({', '.join(bases)})" for name, (where, bases) in classes.items()
               if not name.startswith("_") and not rooted(name) and not warning(name)]
    assert "CardError" in classes and "MissingExtra" in classes  # the scan sees them
    assert not outside, "errors that do not derive from covidct.errors.CovidctError:\n" + "\n".join(outside)


def _raiser(exc: BaseException):  # type: ignore[no-untyped-def]
    def handler(ns: object) -> int:
        raise exc

    return handler


def _errors() -> list[tuple[BaseException, int, str]]:
    from covidct.archives import ArchiveError
    from covidct.download import DownloadError
    from covidct.extras import MissingExtra
    from covidct.gitchanges import GitError
    from covidct.layout.walk import LayoutError
    from covidct.readers import ReadError
    from covidct.registry import CardError, UnknownCard

    return [
        (CardError("cards/x.yaml is invalid", ["cards/x.yaml:3:1: error S202"]), 1, "cards/x.yaml is invalid\n  "),
        (UnknownCard("no card 'x'"), 1, "no card 'x'"),
        (MissingExtra("install it with: pip install 'covidct[hf]'"), 3, "pip install 'covidct[hf]'"),
        (LayoutError("x.png matches no pattern"), 1, "x.png matches no pattern"),
        (ReadError("x.png", "cannot decode"), 1, "x.png: cannot decode"),
        (DownloadError("https://example.org/x.zip", "HTTP 404"), 1, "https://example.org/x.zip: HTTP 404"),
        (ArchiveError("x.zip: a member leaves the folder"), 1, "x.zip: a member leaves the folder"),
        (GitError("git is not installed"), 1, "git is not installed"),
    ]


@pytest.mark.parametrize(("exc", "status", "message"),
                         [pytest.param(*e, id=type(e[0]).__name__) for e in _errors()])
def test_main_prints_every_expected_error_once_without_a_traceback(
        exc: BaseException, status: int, message: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(COMMANDS, "raise-it", (_raiser(exc), lambda p: None, "test"))
    assert main(["raise-it"]) == status
    out, err = capsys.readouterr()
    assert err.startswith("covidct: ") and message in err and "Traceback" not in err and not out
    assert isinstance(exc, CovidctError)


def test_builtin_bases_are_kept_for_callers_that_catch_them() -> None:
    from covidct.card.pattern import PatternError
    from covidct.extras import MissingExtra
    from covidct.fixtures import FixtureError
    from covidct.registry import UnknownCard

    assert issubclass(MissingExtra, ImportError) and issubclass(UnknownCard, KeyError)
    assert issubclass(PatternError, ValueError) and issubclass(FixtureError, ValueError)


def test_an_unexpected_error_still_shows_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only expected failures are caught: a bug (or an ImportError that is not a missing extra) is not hidden."""
    monkeypatch.setitem(COMMANDS, "raise-it", (_raiser(ImportError("bug")), lambda p: None, "test"))
    with pytest.raises(ImportError, match="bug"):
        main(["raise-it"])
