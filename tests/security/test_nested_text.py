"""Untrusted JSON and Python text nested thousands deep, or not UTF-8: one clear error, never a traceback.

``json.loads`` raises RecursionError (not ValueError) on arrays nested thousands deep, and ``ast.parse``
MemoryError on a long chain of unary operators; export manifests (``.covidct.json``) and generated loading
scripts are read from folders covidct did not necessarily write.
"""

from __future__ import annotations

from pathlib import Path

import pytest

DEEP_JSON = "[" * 200_000 + "]" * 200_000


def test_a_manifest_nested_thousands_deep_is_a_manifest_error(tmp_path: Path) -> None:
    from covidct.hf.manifest import MANIFEST, ManifestError, read_manifest, require_manifest

    (tmp_path / MANIFEST).write_text(DEEP_JSON)
    with pytest.raises(ManifestError, match=r"unreadable manifest \(nested too deep\); re-run the export"):
        require_manifest(tmp_path)
    assert read_manifest(tmp_path) is None


@pytest.mark.parametrize(("text", "match"), [
    (f"_CARD_JSON = '{DEEP_JSON}'\n".encode(), r"the embedded card is nested too deep"),
    (b"x = " + b"-" * 200_000 + b"1\n", r"nested too deep to be a covidct loading script"),
    (b"_CARD_JSON = '\xff\xfe'\n", r"not UTF-8 text"),
], ids=["deep-json", "deep-python", "not-utf8"])
def test_a_hostile_loading_script_is_a_script_error(tmp_path: Path, text: bytes, match: str) -> None:
    from covidct.hf.scripts import ScriptError, card_from_script

    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "x.py").write_bytes(text)
    with pytest.raises(ScriptError, match=match):
        card_from_script(folder)
