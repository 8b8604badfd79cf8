"""Shared test helpers.

In CI (CI=true) a missing optional tool or missing real sample files are a failure, not a skip: CI
installs everything and fetches the samples, so a skip there would hide a test that silently stopped running.
"""

from __future__ import annotations

import atexit
import importlib
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
CARDS = REPO / "cards"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# The index of a cards folder lives in the user's cache: tests (and the commands they start) use a cache
# folder of their own, never the user's.
_CACHE = tempfile.mkdtemp(prefix="covidct-test-cache-")
os.environ["COVIDCT_CACHE_DIR"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, True)


@pytest.fixture(autouse=True)
def _cache_dir_per_test(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """covidct's own cache (DICOM header values) goes to a fresh folder per test, never the user's ~/.cache."""
    monkeypatch.setenv("COVIDCT_CACHE_DIR", str(tmp_path_factory.mktemp("covidct-cache")))


try:  # no timing assertions: Hypothesis's per-example deadline fails tests on a busy 2-core CI machine
    from hypothesis import settings as _hypothesis_settings

    _hypothesis_settings.register_profile("covidct", deadline=None)
    _hypothesis_settings.load_profile("covidct")
except ImportError:  # hypothesis is a test extra; tests that use it say so
    pass


def unavailable(reason: str) -> None:
    """Skip locally; fail in CI."""
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def need(module: str) -> ModuleType:
    """Import ``module`` or skip (fail in CI) with the reason."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        unavailable(f"python package {module!r} is not installed ({exc})")
        raise  # unreachable


def need_executable(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        unavailable(f"executable {name!r} is not on PATH")
    assert path is not None
    return path


def _load_fetch_samples() -> ModuleType:
    """tests/samples/fetch_samples.py, the one home of where the real samples are and how to get them."""
    spec = importlib.util.spec_from_file_location("fetch_samples", REPO / "tests" / "samples" / "fetch_samples.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


fetch_samples = _load_fetch_samples()


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """The real sample files: ../shared/samples, else tests/samples/fetched (see tests/samples/README.md)."""
    found = fetch_samples.find_samples()
    if found is None:
        unavailable(f"real sample files are absent: {fetch_samples.HOW_TO_GET}")
    assert found is not None
    return found


@pytest.fixture(scope="session")
def cards_dir() -> Path:
    return CARDS


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    """A long text or bytes parameter (a hostile file's content) gets a short id, at every pytest release:
    pytest 8.0 spells the whole value into the id (a 40 MB RLE cell), newer releases shorten it."""
    if isinstance(val, (str, bytes)) and len(val) > 60:
        return f"{argname}-{len(val)}-chars"
    return None


MAX_TEST_ID = 1000  # pytest puts the id into PYTEST_CURRENT_TEST; the kernel refuses one value over 128 KiB


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse a parametrized test whose id spells out a large value (a 900 KB XML once): its subprocesses could
    not start ("Argument list too long", E2BIG from the environment). Give such parameters short ids."""
    long = [item.nodeid[:120] + "…" for item in items if len(item.nodeid) > MAX_TEST_ID]
    if long:
        raise pytest.UsageError(f"{len(long)} test id(s) longer than {MAX_TEST_ID} characters; give their "
                                f"parameters short ids (pytest.param(..., id=...)): {long[:3]}")
