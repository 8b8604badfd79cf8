"""Manifests come from anywhere: a small file cannot make ``read_manifest`` (and with it ``overlaps --manifest``,
``leakage --manifest``, ``load_dataset(manifests=)`` and ``combine(manifests=)``) decode gigabytes, and bad
``covidct`` metadata gets one clear message, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import need
from covidct.cli import main

pa = need("pyarrow")
pq = need("pyarrow.parquet")

from covidct.fingerprint.manifest import ManifestError, ManifestInfo, read_manifest, schema  # noqa: E402


def _meta(raw: bytes | None = None) -> dict[bytes, bytes]:
    return {b"covidct": raw if raw is not None else json.dumps(ManifestInfo().to_json()).encode()}


def _write(path: Path, table: object, raw: bytes | None = None, **kw: object) -> Path:
    """``table`` written as the review's bomb was: no stored Arrow schema, the real covidct metadata."""
    with pq.ParquetWriter(path, table.schema, store_schema=False, compression="zstd", **kw) as w:  # type: ignore[attr-defined]
        w.add_key_value_metadata(_meta(raw))
        w.write_table(table)
    return path


def _rows(n: int, *, path: str = "a.png") -> object:
    """``n`` identical rows of the manifest schema, built as dictionary arrays (cheap to make, tiny on disk)."""
    sch = schema()
    idx = pa.array([0] * n, pa.int32()) if n else pa.array([], pa.int32())
    one = {"path": path, "frame": 0, "sha256": "0" * 64, "pixel_sha256": "1" * 64, "phash": b"\0" * 32}
    cols = []
    for f in sch:
        if f.name in one and pa.types.is_string(f.type):
            cols.append(pa.DictionaryArray.from_arrays(idx, pa.array([one[f.name]], f.type)).cast(f.type))
        elif f.name in one:
            cols.append(pa.array([one[f.name]] * n, f.type))
        else:
            cols.append(pa.nulls(n, f.type))
    return pa.Table.from_arrays(cols, schema=sch)


def test_rows_the_file_cannot_hold_are_refused_before_reading(tmp_path: Path) -> None:
    p = _write(tmp_path / "bomb.parquet", _rows(2_000_000))
    assert p.stat().st_size < 200_000
    with pytest.raises(ManifestError, match=r"declares 2,000,000 rows in .* bytes a row"):
        read_manifest(p)


def test_column_data_far_larger_than_the_file_is_refused(tmp_path: Path) -> None:
    """Few rows, but one value that decompresses to 24 MB: the rows check passes, the size check does not."""
    p = _write(tmp_path / "wide.parquet", _rows(1, path="a" * 24_000_000))
    assert p.stat().st_size < 64_000
    with pytest.raises(ManifestError, match="bytes of column data in"):
        read_manifest(p)


def test_cli_overlaps_refuses_the_bomb_with_one_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = _write(tmp_path / "bomb.parquet", _rows(2_000_000))
    assert main(["overlaps", "--manifest", str(p), "--manifest", str(p)]) == 1
    err = capsys.readouterr().err
    assert "declares 2,000,000 rows" in err and "Traceback" not in err


def test_an_honest_manifest_of_the_same_shape_still_reads(tmp_path: Path) -> None:
    table, _ = read_manifest(_write(tmp_path / "ok.parquet", _rows(1000)))
    assert table.num_rows == 1000


@pytest.mark.parametrize("raw,message", [
    (b"[1]", "is a JSON list, expected an object"),
    (b'"x"', "is a JSON str, expected an object"),
    (b"null", "is a JSON NoneType, expected an object"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deep"),
    (b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, "nested too deep"),
    (b"{not json", "unreadable covidct metadata"),
    (b"\xff\xfe", "unreadable covidct metadata"),
])
def test_bad_covidct_metadata_gets_one_message(tmp_path: Path, raw: bytes, message: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    p = _write(tmp_path / "m.parquet", _rows(1), raw)
    with pytest.raises(ManifestError, match=message):
        read_manifest(p)
    assert main(["overlaps", "--manifest", str(p), "--manifest", str(p)]) == 1
    err = capsys.readouterr().err
    assert message.split(",")[0] in err and "Traceback" not in err


def test_a_volume_manifest_with_many_blank_slices_still_reads(tmp_path: Path) -> None:
    """Identical frames share their hashes and compress away: half-blank volumes are well inside the bound."""
    import hashlib

    n_files, frames = 50, 400
    blank = [i % 2 == 0 for i in range(frames)]
    cols: dict[str, list[object]] = {name: [] for name in schema().names}
    for f in range(n_files):
        for i in range(frames):
            row = {"path": f"s{f:03d}/ct.nii.gz", "frame": i, "sha256": hashlib.sha256(b"%d" % f).hexdigest(),
                   "pixel_sha256": "0" * 64 if blank[i] else hashlib.sha256(b"%d-%d" % (f, i)).hexdigest(),
                   "phash": b"\0" * 32 if blank[i] else hashlib.sha256(b"p%d-%d" % (f, i)).digest()}
            for name, values in cols.items():
                values.append(row.get(name))
    p = _write(tmp_path / "vol.parquet", pa.Table.from_pydict(cols, schema=schema()))
    assert p.stat().st_size > 1 << 18  # past the small-file allowance: the per-row bound is what is tested
    assert read_manifest(p)[0].num_rows == n_files * frames
