"""`covidct overlaps --manifest` and `covidct leakage`: every kind of duplicate, exact near search, clear errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import need

need("imagehash")
pq = need("pyarrow.parquet")

from fpsynth import crop5, ct_slice, half, jpeg_bytes, lung_window, save_png, write_dicom  # noqa: E402

from covidct.cli import main  # noqa: E402
from covidct.fingerprint.manifest import fingerprint, folder_sources  # noqa: E402
from covidct.fingerprint.overlaps import MAX_NEAR, OverlapError, find_overlaps, near_pairs  # noqa: E402


@pytest.mark.parametrize("k", [0, 3, 15, 16, 24, 31, 32, 47])
def test_near_search_finds_exactly_the_pairs_a_brute_force_scan_finds(k: int) -> None:
    rng = np.random.default_rng(k)
    a = rng.integers(0, 256, (300, 32), dtype=np.uint8)
    b = rng.integers(0, 256, (400, 32), dtype=np.uint8)
    for n, i in enumerate(range(0, 300, 3)):  # plant copies at every distance 0..60
        bits = np.unpackbits(a[i])
        bits[rng.choice(256, n % 61, replace=False)] ^= 1
        b[i] = np.packbits(bits)
    bits_a, bits_b = np.unpackbits(a, axis=1), np.unpackbits(b, axis=1)
    dist = (bits_a[:, None, :] != bits_b[None, :, :]).sum(-1)
    want = {(int(x), int(y)) for x, y in zip(*np.nonzero(dist <= k), strict=True)}
    q, i, d = near_pairs(a, b, k)
    got = {(int(x), int(y)) for x, y in zip(q, i, strict=True)}
    assert got == want
    assert all(dist[x, y] == dd for x, y, dd in zip(q, i, d, strict=True))
    # the self join: each unordered pair once
    q, i, d = near_pairs(a, a, k, self_join=True)
    da = (bits_a[:, None, :] != bits_a[None, :, :]).sum(-1)
    assert {(int(x), int(y)) for x, y in zip(q, i, strict=True)} == {
        (int(x), int(y)) for x, y in zip(*np.nonzero(np.triu(da <= k, 1)), strict=True)}


@pytest.mark.parametrize("k", [0, 1, 15, 16, 17, 24, 31, 32, 33, 47])
def test_near_search_finds_copies_whose_changes_are_spread_to_dodge_the_blocks(k: int) -> None:
    """The worst case of the pigeonhole: every block holds r + 1 changed bits (just too many to be probed)
    until the k changes run out, from the first block on or from the last; such a copy must be found,
    and one more change (k + 1 bits) must not be."""
    from covidct.fingerprint.overlaps import BLOCKS

    rng = np.random.default_rng(100 + k)
    r = k // BLOCKS
    originals = rng.integers(0, 256, (2 * BLOCKS, 32), dtype=np.uint8)
    copies, want = [], set()
    for n, orig in enumerate(originals):
        blocks = list(range(BLOCKS)) if n % 2 == 0 else list(range(BLOCKS))[::-1]
        blocks = blocks[n // 2:] + blocks[:n // 2]  # every rotation: each block is the spared one once
        budget = k if n < BLOCKS else k + 1
        bits = np.unpackbits(orig)
        for b in blocks:
            take = min(r + 1, budget)
            bits[b * 16 + rng.choice(16, take, replace=False)] ^= 1
            budget -= take
        assert budget == 0  # k + 1 <= 16 (r + 1) for every k
        copies.append(np.packbits(bits))
        if n < BLOCKS:
            want.add(n)
    b = np.array(copies)
    q, i, d = near_pairs(originals, b, k)
    got = {int(x) for x, y in zip(q, i, strict=True) if x == y}
    assert got == want
    assert (d <= k).all()


def test_two_search_processes_find_the_same_pairs_as_one() -> None:
    from covidct.fingerprint import overlaps

    rng = np.random.default_rng(5)
    n = overlaps.PARALLEL_MIN + 500
    a = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    b = a.copy()
    b[:, 0] ^= 1  # every row has a copy one bit away
    one = near_pairs(a, b, 24, jobs=1)
    two = near_pairs(a, b, 24, jobs=2)
    key = lambda r: sorted(zip(r[0].tolist(), r[1].tolist(), r[2].tolist(), strict=True))  # noqa: E731
    assert key(one) == key(two) and len(one[0]) >= n


def test_near_out_of_range_is_refused() -> None:
    with pytest.raises(OverlapError, match="between 0 and"):
        near_pairs(np.zeros((1, 32), np.uint8), np.zeros((1, 32), np.uint8), MAX_NEAR + 1)


def _two_folders(tmp_path: Path) -> tuple[Path, Path]:
    need("pydicom")
    pub, mine = tmp_path / "public", tmp_path / "mine"
    pub.mkdir()
    mine.mkdir()
    for s in range(6):
        write_dicom(pub / f"s{s}.dcm", ct_slice(s), sop=f"1.2.3.{s}", patient=f"PUB{s}")
    # mine: an exact copy, the same pixels in a PNG, a JPEG export, a half-size export, an unrelated image,
    # a re-saved DICOM with the same SOP Instance UID but other pixels
    shutil.copy(pub / "s0.dcm", mine / "renamed.dcm")
    arr16 = (ct_slice(1).astype(np.int32) + 1024).clip(0, 65535).astype(np.uint16)
    write_dicom(pub / "mr.dcm", arr16, modality="MR", sop="1.2.3.9", patient="PUB9")
    save_png(mine / "same_pixels.png", arr16)
    (mine / "export.jpg").write_bytes(jpeg_bytes(lung_window(ct_slice(2))))
    save_png(mine / "small.png", half(lung_window(ct_slice(3))))
    save_png(mine / "cropped.png", crop5(lung_window(ct_slice(4))))
    save_png(mine / "other.png", lung_window(ct_slice(77)))
    write_dicom(mine / "resaved.dcm", ct_slice(5) + 3, sop="1.2.3.5", patient="ME")
    return pub, mine


def test_overlaps_between_two_folders_finds_every_kind(tmp_path: Path) -> None:
    pub, mine = _two_folders(tmp_path)
    for f in (pub, mine):
        fingerprint(folder_sources(f), tmp_path / f"{f.name}.parquet", jobs=1, progress=False)
    rep = find_overlaps([tmp_path / "public.parquet", tmp_path / "mine.parquet"])
    found = {(p.a["path"], p.b["path"]): (p.kind, p.distance) for p in rep.pairs if p.kind != "patient"}
    assert found[("s0.dcm", "renamed.dcm")] == ("file", 0)
    assert found[("mr.dcm", "same_pixels.png")] == ("pixels", 0)
    assert found[("s2.dcm", "export.jpg")][0] == "near"
    assert found[("s3.dcm", "small.png")][0] == "near"
    assert found[("s4.dcm", "cropped.png")][0] == "near"
    assert found[("s5.dcm", "resaved.dcm")][0] in ("near", "uid")
    assert not any("other.png" in pair for pair in found)
    patients = [p for p in rep.pairs if p.kind == "patient"]
    assert [(p.a["patient_id"], p.a["images"], p.b["images"]) for p in patients] == [("PUB0", 1, 1)]
    (summary,) = rep.summaries
    assert summary.scope == "manifests" and summary.counts["file"] == 1 and summary.counts["pixels"] == 1
    assert len(summary.rows_b) == 6  # every copy in mine, not other.png


def test_uid_kind_for_a_shared_instance_with_other_pixels(tmp_path: Path) -> None:
    need("pydicom")
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    write_dicom(a / "x.dcm", ct_slice(1), sop="1.2.840.99.1")
    write_dicom(b / "y.dcm", ct_slice(50), sop="1.2.840.99.1")  # another image under the same UID
    for f in (a, b):
        fingerprint(folder_sources(f), tmp_path / f"{f.name}.parquet", jobs=1, progress=False)
    rep = find_overlaps([tmp_path / "a.parquet", tmp_path / "b.parquet"])
    assert [p.kind for p in rep.pairs if p.kind != "patient"] == ["uid"]


def test_cli_json_and_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pub, mine = _two_folders(tmp_path)
    ma, mb = tmp_path / "public.parquet", tmp_path / "mine.parquet"
    assert main(["fingerprint", "--folder", str(pub), "--out", str(ma), "-j", "1"]) == 0
    assert main(["fingerprint", "--folder", str(mine), "--out", str(mb), "-j", "1"]) == 0
    capsys.readouterr()
    assert main(["overlaps", "--manifest", str(ma), "--manifest", str(mb), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"near", "bits", "manifests", "summaries", "pairs", "pairs_total", "truncated"}
    assert {p["kind"] for p in doc["pairs"]} >= {"file", "pixels", "near", "patient"}
    for p in doc["pairs"]:
        assert set(p) == {"a", "b", "kind", "distance"}
        assert p["a"]["manifest"] == "public" and p["b"]["manifest"] == "mine"
    assert doc["summaries"][0]["file"] == 1 and doc["summaries"][0]["images_b"] == 6
    assert main(["overlaps", "--manifest", str(ma), "--manifest", str(mb), "--limit", "1", "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["pairs"]) == 1 and doc["truncated"]
    assert main(["overlaps", "--manifest", str(ma), "--manifest", str(mb)]) == 1
    text = capsys.readouterr().out
    assert "public vs mine: 1 identical files, 1 same pixels" in text and "renamed.dcm" in text
    # one manifest without splits: nothing to compare, exit 0
    assert main(["overlaps", "--manifest", str(mb)]) == 0


def test_cli_refuses_ids_with_manifests_and_bad_near(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["overlaps", "covidx", "--manifest", "x.parquet"]) == 1
    assert "not both" in capsys.readouterr().err
    assert main(["overlaps", "--manifest", str(tmp_path / "missing.parquet")]) == 1
    assert "no such file" in capsys.readouterr().err
    src = tmp_path / "d"
    src.mkdir()
    save_png(src / "a.png", lung_window(ct_slice(1)))
    fingerprint(folder_sources(src), tmp_path / "m.parquet", jobs=1, progress=False)
    assert main(["overlaps", "--manifest", str(tmp_path / "m.parquet"), "--near", "99"]) == 1
    assert "between 0 and 47" in capsys.readouterr().err


def test_lineage_overlaps_still_work_and_point_at_the_data_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["overlaps", "covidx", "covid-chestxray-dataset"]) == 0
    out, err = capsys.readouterr()
    assert "covidx" in out and "covidct overlaps --manifest" in err


def _fixture_with_leak(tmp_path: Path) -> Path:
    """covid-ct's fixture with distinct images, then one test image that is a JPEG-to-PNG copy of a train image."""
    data = tmp_path / "covid-ct"
    assert main(["fixture", "covid-ct", "--out", str(data)]) == 0
    pngs = sorted(data.glob("CT_*/*.png"))
    for n, p in enumerate(pngs):
        save_png(p, lung_window(ct_slice(200 + n)))
    return data


def test_leakage_across_official_splits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image

    data = _fixture_with_leak(tmp_path)
    capsys.readouterr()
    assert main(["leakage", "covid-ct", "--data-dir", str(data), "-j", "1"]) == 0
    assert "no duplicates" in capsys.readouterr().out
    train = (data / "Data-split" / "COVID" / "trainCT_COVID.txt").read_text().split()
    test = (data / "Data-split" / "COVID" / "testCT_COVID.txt").read_text().split()
    src = np.asarray(Image.open(data / "CT_COVID" / train[0]))
    Image.fromarray(src).save(data / "CT_COVID" / test[0], compress_level=1)  # same pixels, other bytes, test name
    out = tmp_path / "m.parquet"
    assert main(["leakage", "covid-ct", "--data-dir", str(data), "--out", str(out), "-j", "1"]) == 1
    text = capsys.readouterr().out
    assert "split test vs split train: 0 identical files, 1 same pixels" in text
    assert "split_by=\"patient\", manifests=" in text
    # the same from the kept manifest, as JSON
    assert main(["leakage", "--manifest", str(out), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    (pair,) = [p for p in doc["pairs"] if p["kind"] != "patient"]
    assert {pair["a"]["split"], pair["b"]["split"]} == {"train", "test"}
    assert {pair["a"]["path"], pair["b"]["path"]} == {f"CT_COVID/{train[0]}", f"CT_COVID/{test[0]}"}


def test_hostile_manifest_rows_without_hashes_are_ignored(tmp_path: Path) -> None:
    import pyarrow as pa

    src = tmp_path / "d"
    src.mkdir()
    save_png(src / "a.png", lung_window(ct_slice(1)))
    out = tmp_path / "m.parquet"
    fingerprint(folder_sources(src), out, jobs=1, progress=False)
    t = pq.read_table(out)
    extra = t.slice(0, 1).set_column(t.column_names.index("phash"), "phash",
                                     pa.nulls(1, t.schema.field("phash").type))
    pq.write_table(pa.concat_tables([t, extra]).replace_schema_metadata(t.schema.metadata), out)
    rep = find_overlaps([out, out])
    assert rep.rows.n == 2  # one usable row from each copy of the manifest


def _synthetic_manifest(path: Path, phash: np.ndarray, name: str) -> Path:
    import json as _json

    import pyarrow as pa

    from covidct.fingerprint.manifest import METADATA_KEY, ManifestInfo, schema

    n = len(phash)
    cols = {"path": [f"{name}/{i}.png" for i in range(n)], "sha256": [f"{name}f{i}" for i in range(n)],
            "pixel_sha256": [f"{name}p{i}" for i in range(n)], "phash": [bytes(r) for r in phash]}
    sch = schema()
    arrays = {f.name: pa.array(cols[f.name], f.type) if f.name in cols else pa.nulls(n, f.type) for f in sch}
    info = ManifestInfo(folder=name, complete=True, files=n, rows=n)
    pq.write_table(pa.Table.from_pydict(arrays, schema=sch).replace_schema_metadata(
        {METADATA_KEY: _json.dumps(info.to_json()).encode()}), path)
    return path


def test_thousands_of_identical_blank_slices_are_counted_not_listed(tmp_path: Path) -> None:
    """Uniform slices (all air, padding) share one perceptual hash: 3,000 x 3,000 of them are 9 million near
    pairs, which are counted per group instead of being searched and listed one by one."""
    rng = np.random.default_rng(0)
    blank = np.zeros((3000, 32), np.uint8)
    a = np.vstack([blank, rng.integers(0, 256, (500, 32), dtype=np.uint8)])
    b = np.vstack([blank, rng.integers(0, 256, (500, 32), dtype=np.uint8)])
    ma = _synthetic_manifest(tmp_path / "a.parquet", a, "a")
    mb = _synthetic_manifest(tmp_path / "b.parquet", b, "b")
    rep = find_overlaps([ma, mb], limit=100)
    (s,) = rep.summaries
    assert s.counts["near"] == 9_000_000 and len(s.rows_a) == 3000 and len(s.rows_b) == 3000
    assert len(rep.pairs) <= 100 and rep.truncated
