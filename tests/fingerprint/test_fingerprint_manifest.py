"""`covidct fingerprint`: manifests of folders and card configs, per slice, resumable, never stopped by a bad file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from conftest import need

need("imagehash")
pq = need("pyarrow.parquet")

from fpsynth import ct_slice, jpeg_bytes, lung_window, save_png, write_dicom  # noqa: E402

from covidct.cli import main  # noqa: E402
from covidct.fingerprint import manifest as mf  # noqa: E402
from covidct.fingerprint.manifest import ManifestError, card_sources, fingerprint, folder_sources, read_manifest  # noqa: E402


def _folder(root: Path) -> Path:
    """A small private test set: PNG, JPEG, DICOM, a NIfTI volume, a table, a broken PNG, a link, a hidden file."""
    nib = need("nibabel")
    need("pydicom")
    (root / "sub").mkdir(parents=True)
    save_png(root / "a.png", lung_window(ct_slice(1)))
    (root / "sub" / "b.jpg").write_bytes(jpeg_bytes(lung_window(ct_slice(2))))
    write_dicom(root / "sub" / "IM0001", ct_slice(3), sop="1.2.3.3", patient="P7")  # no extension: found by content
    vol = np.stack([ct_slice(s) for s in (4, 5, 6)])  # (z, y, x)
    nib.save(nib.Nifti1Image(vol.T.copy(), np.eye(4)), str(root / "vol.nii.gz"))
    (root / "labels.csv").write_text("file,label\na.png,1\n")
    good = (root / "a.png").read_bytes()
    (root / "broken.png").write_bytes(good[: len(good) // 3])
    (root / ".hidden.png").write_bytes(good)
    os.symlink(root / "a.png", root / "link.png")
    return root


def test_folder_manifest_rows_per_image_and_slice(tmp_path: Path) -> None:
    src = _folder(tmp_path / "data")
    out = tmp_path / "m.parquet"
    errors: list[tuple[str, str]] = []
    outcome = fingerprint(folder_sources(src), out, jobs=1, progress=False, on_error=lambda *e: errors.append(e))
    table, info = read_manifest(out)
    rows = table.to_pylist()
    paths = sorted({r["path"] for r in rows})
    assert paths == ["a.png", "broken.png", "sub/IM0001", "sub/b.jpg", "vol.nii.gz"]
    vol = [r for r in rows if r["path"] == "vol.nii.gz"]
    assert [r["frame"] for r in vol] == [0, 1, 2] and len({r["phash"] for r in vol}) == 3
    assert len({r["sha256"] for r in vol}) == 1  # one file, three slices
    dcm = next(r for r in rows if r["path"] == "sub/IM0001")
    assert dcm["sop_uid"] == "1.2.3.3" and dcm["patient_id"] == "P7" and dcm["format"] == "dicom"
    broken = next(r for r in rows if r["path"] == "broken.png")
    assert broken["error"] and broken["phash"] is None and broken["pixel_sha256"] is None and broken["sha256"]
    assert errors and errors[0][0] == "broken.png"
    assert outcome.skipped == {"csv": 1}
    assert info.complete and info.folder == "data" and info.files == 5 and info.rows == 7 and info.errors == 1
    assert all(len(r["phash"]) == 32 for r in rows if r["phash"] is not None)
    assert str(tmp_path) not in str(pq.ParquetFile(out).schema_arrow.metadata)  # no absolute paths published


def test_two_processes_give_the_same_rows_as_one(tmp_path: Path) -> None:
    src = _folder(tmp_path / "data")
    fingerprint(folder_sources(src), tmp_path / "one.parquet", jobs=1, progress=False)
    fingerprint(folder_sources(src), tmp_path / "two.parquet", jobs=2, progress=False)
    drop = ["mtime_ns"]
    one = pq.read_table(tmp_path / "one.parquet").drop(drop).to_pylist()
    two = pq.read_table(tmp_path / "two.parquet").drop(drop).to_pylist()
    assert one == two


def test_rerun_reuses_unchanged_files_and_rehashes_changed_ones(tmp_path: Path) -> None:
    src = _folder(tmp_path / "data")
    out = tmp_path / "m.parquet"
    fingerprint(folder_sources(src), out, jobs=1, progress=False)
    again = fingerprint(folder_sources(src), out, jobs=1, progress=False)
    assert again.reused == 4  # every readable file; the broken one is tried again
    save_png(src / "a.png", lung_window(ct_slice(99)))
    third = fingerprint(folder_sources(src), out, jobs=1, progress=False)
    assert third.reused == 3
    rows = {r["path"]: r for r in read_manifest(out)[0].to_pylist()}
    assert rows["a.png"]["sha256"] == mf.hashing.file_sha256((src / "a.png").read_bytes())


def test_interrupted_run_leaves_a_partial_manifest_that_the_next_run_completes(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    src = _folder(tmp_path / "data")
    out = tmp_path / "m.parquet"
    real = mf.run_tasks

    def interrupted(tasks: list, jobs: int):  # type: ignore[no-untyped-def]
        for i, res in enumerate(real(tasks, jobs)):
            if i == 2:
                raise KeyboardInterrupt
            yield res

    monkeypatch.setattr(mf, "run_tasks", interrupted)
    first = fingerprint(folder_sources(src), out, jobs=1, progress=False)
    assert first.interrupted
    _table, info = read_manifest(out)
    assert not info.complete and info.files == 2
    monkeypatch.setattr(mf, "run_tasks", real)
    second = fingerprint(folder_sources(src), out, jobs=1, progress=False)
    assert second.reused == 1 and read_manifest(out)[1].complete  # a.png; broken.png is tried again
    assert not list(tmp_path.glob(".m.parquet.*"))  # no temporary file left behind


def test_card_manifest_carries_examples_patients_splits(samples_dir: Path, tmp_path: Path) -> None:
    need("libjpeg")
    from covidct.registry import load_card

    card = load_card("covid-ct-md")
    with pytest.warns(UserWarning):  # the sample holds 2 of the 305 patients
        source = card_sources(card, card.config("slice"), samples_dir / "covid-ct-md")
    assert len(source.tasks) == 137
    out = tmp_path / "md.parquet"
    fingerprint(source, out, jobs=2, progress=False)
    table, info = read_manifest(out)
    assert (info.card, info.config) == ("covid-ct-md", "slice")
    rows = table.to_pylist()
    assert len(rows) == 137 and not any(r["error"] for r in rows)
    first = next(r for r in rows if r["path"] == "COVID-19 subjects/P002/IM0001.dcm")
    assert first["example"] == "COVID-19 subjects/P002/IM0001.dcm"
    assert first["patient"] == "P002" and first["scan"] == "P002" and first["split"] == "train"
    assert first["label"] == "COVID-19" and first["patient_id"] == "P002" and first["series_uid"]


def test_cli_reports_an_unreadable_file_and_goes_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _folder(tmp_path / "data")
    assert main(["fingerprint", "--folder", str(src), "--out", str(tmp_path / "m.parquet"), "--jobs", "1"]) == 0
    err = capsys.readouterr().err
    assert "unreadable: broken.png" in err and "1 unreadable" in err and "symbolic link" in err


@pytest.mark.parametrize("argv,message", [
    (["fingerprint", "--out", "x.parquet"], "give a card id"),
    (["fingerprint", "covid-ct-md", "slice", "--out", "x.parquet"], "give --data-dir"),
    (["fingerprint", "--folder", "/nonexistent/folder", "--out", "x.parquet"], "is not a folder"),
    (["fingerprint", "covid-ct-md", "--data-dir", ".", "--out", "x.parquet"], "name one"),
])
def test_cli_bad_arguments_get_one_clear_message(argv: list[str], message: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("content,message", [
    (b"not parquet at all", "is not a Parquet file"),
    (None, "is not a covidct manifest"),
])
def test_a_file_that_is_not_a_manifest_is_refused(tmp_path: Path, content: bytes | None, message: str) -> None:
    import pyarrow as pa

    p = tmp_path / "x.parquet"
    if content is None:
        pq.write_table(pa.table({"path": ["a"]}), p)
    else:
        p.write_bytes(content)
    with pytest.raises(ManifestError, match=message):
        read_manifest(p)


def test_a_manifest_of_another_hash_spec_is_refused(tmp_path: Path) -> None:
    import json

    src = tmp_path / "d"
    src.mkdir()
    save_png(src / "a.png", lung_window(ct_slice(1)))
    out = tmp_path / "m.parquet"
    fingerprint(folder_sources(src), out, jobs=1, progress=False)
    t = pq.read_table(out)
    meta = json.loads(t.schema.metadata[b"covidct"])
    meta["phash"] = "covidct-phash256/0"
    pq.write_table(t.replace_schema_metadata({b"covidct": json.dumps(meta).encode()}), out)
    with pytest.raises(ManifestError, match="cannot be compared"):
        read_manifest(out)
    # and a rerun does not reuse rows hashed another way
    assert fingerprint(folder_sources(src), out, jobs=1, progress=False).reused == 0
