"""``covidct.ray.decoder(folder)`` reads the features of Parquet files from a folder it did not write.

Such a folder is untrusted like any data folder: its ``*.parquet`` must be regular files inside it (a FIFO
would block the footer read for ever, a link reads a file elsewhere), a footer is bounded, and features
JSON that is not JSON, is nested thousands deep or names types ``datasets`` lacks is one DataError.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import need

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _parquet(path: Path, meta: bytes | None) -> Path:
    pa = need("pyarrow")
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({"x": [1, 2]})
    table = table.replace_schema_metadata({b"huggingface": meta} if meta is not None else None)
    pq.write_table(table, path)
    return path


GOOD = json.dumps({"info": {"features": {"x": {"dtype": "int64", "_type": "Value"}}}}).encode()


def _refused(folder: Path, match: str) -> None:
    need("datasets")
    import covidct.ray
    from covidct.hf.builder import DataError

    with pytest.raises(DataError, match=match):
        covidct.ray.decoder(folder)


@pytest.mark.parametrize(("meta", "match"), [
    (b"{not json", r"a\.parquet: unreadable `datasets` features \(JSONDecodeError"),
    (b'{"info": {"features": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}", r"a\.parquet: .* nested too deep"),
    (b"[1, 2]", r"a\.parquet: unreadable `datasets` features \(ValueError: a JSON list"),
    (json.dumps({"info": {"features": {"x": {"_type": "os.system"}}}}).encode(),
     r"a\.parquet: unreadable `datasets` features \(ValueError: Feature type 'os.system' not found"),
], ids=["not-json", "deep", "list", "unknown-type"])
def test_hostile_features_json_is_one_data_error(tmp_path: Path, meta: bytes, match: str) -> None:
    _parquet(tmp_path / "a.parquet", meta)
    _refused(tmp_path, match)


def test_a_file_that_is_not_parquet_is_one_data_error(tmp_path: Path) -> None:
    (tmp_path / "a.parquet").write_bytes(b"PAR1 and then nothing Parquet")
    _refused(tmp_path, r"a\.parquet: not a readable Parquet file")


def test_a_link_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    outside = _parquet(tmp_path / "elsewhere" / "secret.parquet", GOOD)
    folder = tmp_path / "export"
    _parquet(folder / "a.parquet", GOOD)
    (folder / "b.parquet").symlink_to(outside)
    _refused(folder, r"b\.parquet: not a regular file \(a link")


def test_a_fifo_among_the_parquet_files_is_refused_not_waited_on(tmp_path: Path) -> None:
    need("datasets")
    folder = tmp_path / "export"
    _parquet(folder / "a.parquet", GOOD)
    os.mkfifo(folder / "b.parquet")
    code = ("import sys, covidct.ray\nfrom covidct.hf.builder import DataError\n"
            "try:\n    covidct.ray.decoder(sys.argv[1])\nexcept DataError as exc:\n    print(exc)\n    sys.exit(3)\n")
    try:
        proc = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PYTHONPATH": SRC}, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("decoder() blocked on a FIFO named b.parquet")
    assert proc.returncode == 3 and "b.parquet: not a regular file" in proc.stdout, (proc.stdout, proc.stderr)


def test_a_footer_larger_than_any_export_needs_is_refused(tmp_path: Path) -> None:
    meta = json.dumps({"info": {"features": {"x": {"dtype": "int64", "_type": "Value"}}},
                       "padding": "x" * (33 << 20)}).encode()
    _parquet(tmp_path / "a.parquet", meta)
    _refused(tmp_path, r"a\.parquet: its Parquet footer declares [\d,]+ bytes, more than the 33,554,432")


def test_a_good_export_still_gives_its_features(tmp_path: Path) -> None:
    need("datasets")
    import covidct.ray

    _parquet(tmp_path / "data" / "a.parquet", GOOD)
    assert list(covidct.ray.decoder(tmp_path).features) == ["x"]
    assert list(covidct.ray.decoder(tmp_path / "data" / "a.parquet").features) == ["x"]
