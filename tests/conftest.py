"""Shared test helpers.

In CI (CI=true) a missing optional tool or the missing ../shared/samples folder is a failure, not a
skip: CI installs everything, so a skip there would hide a test that silently stopped running.
"""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
CARDS = REPO / "cards"
SAMPLES = REPO.parent / "shared" / "samples"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


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


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    if not SAMPLES.is_dir():
        if os.environ.get("COVIDCT_SAMPLES_OPTIONAL") == "1":  # hosted CI: the samples are never in the repo
            pytest.skip(f"real sample files are absent ({SAMPLES}); COVIDCT_SAMPLES_OPTIONAL=1")
        unavailable(f"real sample files are absent ({SAMPLES})")
    return SAMPLES


@pytest.fixture(scope="session")
def cards_dir() -> Path:
    return CARDS
