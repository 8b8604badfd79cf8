"""Layouts that take values from DICOM headers (`headers`, `where`, `where_not`) instead of folder names.

The real-data test copies the real CT files that ship inside pydicom's wheel (no network) into random
folders and loads them through a header-driven layout: the series must be grouped by SeriesInstanceUID
whatever the folders are called, and the Hounsfield units must be pydicom's own decode with its
RescaleSlope/RescaleIntercept.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import warnings
from pathlib import Path
from typing import Any

import pytest
from cardkit import make_card

from covidct.layout.check import check
from covidct.layout.plan import LayoutError, make_plan

pydicom = pytest.importorskip("pydicom")
np = pytest.importorskip("numpy")

CT_IMAGE = {"formats": ["dicom"], "intensity": "stored-with-rescale"}
HEADER_LAYOUT: dict[str, Any] = {
    "files": {"image": {"pattern": "**/*.dcm", "format": "dicom"}},
    "headers": {"patient": "PatientID", "study": "StudyInstanceUID", "series": "SeriesInstanceUID"},
    "where": {"Modality": ["CT"]},
    "group": {"by": ["series"], "order_by": "ImagePositionPatient"},
    "patient": {"part": "patient"},
    "scan": {"part": "series"},
    "fields": {"study": {"part": "study"}},
}


def header_card(**changes: Any) -> Any:
    layout = {**HEADER_LAYOUT, **changes}
    return make_card({k: v for k, v in layout.items() if v is not None}, example="series", dimensionality="3D",
                     image=CT_IMAGE)


# ------------------------------------------------------------------------------------- real data


def _real_ct_files() -> list[Path]:
    """The real CT files bundled in pydicom's wheel (uncompressed; the JPEG 2000 ones need a decoder).

    CT_small.dcm is one real CT slice (128x128); dicomdirtests/77654033/CT2 (4 slices), 98892001/CT2N
    (2) and 98892001/CT5N (5) are real CT series, of two patients, with their pixel data reduced to 16x16.
    """
    from pydicom.data import get_testdata_file

    small = get_testdata_file("CT_small.dcm", download=False)
    assert small is not None, "pydicom ships CT_small.dcm in its wheel"
    base = Path(small).parent / "dicomdirtests"
    files = [Path(small)]
    for series in ("77654033/CT2", "98892001/CT2N", "98892001/CT5N"):
        found = sorted(p for p in (base / series).iterdir() if p.is_file())
        assert found, f"pydicom's wheel lacks dicomdirtests/{series}"
        files += found
    return files


def _scatter(files: list[Path], out: Path, seed: int) -> dict[str, Path]:
    """Each file copied to its own random folder under ``out`` (as a .dcm), in a shuffled order."""
    rng = random.Random(seed)
    copies = {}
    order = list(files)
    rng.shuffle(order)
    for i, src in enumerate(order):
        folders = "/".join(f"{rng.getrandbits(32):08x}" for _ in range(rng.randint(1, 3)))
        rel = f"{folders}/{i:03d}-{rng.getrandbits(16):04x}.dcm"
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, out / rel)
        copies[rel] = src
    return copies


def test_real_ct_files_in_random_folders_group_by_series_with_pydicoms_hounsfield_units(tmp_path: Path) -> None:
    from covidct.readers import read

    files = _real_ct_files()
    copies = _scatter(files, tmp_path / "data", seed=16)
    truth: dict[str, list[Any]] = {}
    for rel, src in copies.items():
        ds = pydicom.dcmread(src)
        truth.setdefault(str(ds.SeriesInstanceUID), []).append((rel, ds))
    assert sorted(len(v) for v in truth.values()) == [1, 2, 4, 5]  # four real series

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a card without counts: nothing to compare
        plan = make_plan(header_card(), None, [tmp_path / "data"])
    records = list(plan.records())
    assert {r.scan: len(r.files["image"]) for r in records} == {uid: len(v) for uid, v in truth.items()}
    for r in records:
        dss = [ds for _rel, ds in truth[r.scan]]
        assert r.patient == str(dss[0].PatientID)
        assert r.fields["study"] == str(dss[0].StudyInstanceUID)
        # slices in the order of their position along the slice normal (here z: axial images)
        by_rel = {str(tmp_path / "data" / rel): ds for rel, ds in truth[r.scan]}
        z = [float(by_rel[p].ImagePositionPatient[2]) for p in r.files["image"]]
        assert z == sorted(z)
        for path in r.files["image"]:
            ds = by_rel[path]
            want = ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
            got = read(path, "dicom")
            assert got.intensity.value == "hounsfield"
            np.testing.assert_array_equal(got.array.astype(np.float64), want)
            assert float(ds.RescaleIntercept) == -1024  # the rescale is applied, not the stored values


def test_the_loaded_dataset_holds_the_real_series_and_hounsfield_units(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    from covidct.hf.builder import builder_for
    from covidct.hf.load import prepare

    datasets.disable_progress_bars()
    copies = _scatter(_real_ct_files()[1:], tmp_path / "data", seed=7)  # the three 16x16 series
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = prepare(builder_for(header_card(), data_dir=tmp_path / "data", cache_dir=tmp_path / "cache"))
    rows = ds["train"].to_list()
    by_series: dict[str, list[Any]] = {}
    for rel, src in copies.items():
        d = pydicom.dcmread(src)
        by_series.setdefault(str(d.SeriesInstanceUID), []).append((float(d.ImagePositionPatient[2]), rel, d))
    assert sorted(r["scan_id"] for r in rows) == sorted(by_series)
    for row in rows:
        dss = [d for _z, _rel, d in sorted(by_series[row["scan_id"]], key=lambda t: t[:2])]  # ties: by file name
        want = np.stack([d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in dss])
        np.testing.assert_array_equal(np.asarray(row["image"], dtype=np.float64), want)


# ------------------------------------------------------------------------------------- synthesized


def _slice(path: Path, *, series: str, patient: str = "P1", z: float = 0.0, modality: str = "CT",
           image_type: list[str] | None = None, **attrs: Any) -> None:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
    ds.PatientID, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.Modality = patient, "1.2.3", series, modality
    if image_type:
        ds.ImageType = image_type
    ds.ImagePositionPatient = ["0", "0", f"{z:.1f}"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.Rows = ds.Columns = 4
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept = "1", "-1024"
    ds.PixelData = np.full((4, 4), int(z) + 1000, dtype=np.uint16).tobytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k, v in attrs.items():
            setattr(ds, k, v)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the hostile values are meant to break DICOM's limits
        ds.save_as(path, enforce_file_format=True)


def _two_series(root: Path) -> None:
    _slice(root / "a/x/1.dcm", series="1.1", z=2.0)
    _slice(root / "b/2.dcm", series="1.1", z=1.0)
    _slice(root / "c/d/e/3.dcm", series="1.2", patient="P2", z=5.0)
    _slice(root / "a/rt.dcm", series="1.3", modality="RTSTRUCT")
    _slice(root / "scout/4.dcm", series="1.2", patient="P2", z=9.0, image_type=["ORIGINAL", "PRIMARY", "LOCALIZER"])


def test_where_and_where_not_leave_files_out_and_say_why(tmp_path: Path) -> None:
    _two_series(tmp_path)
    card = header_card(where_not={"ImageType": ["LOCALIZER"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = make_plan(card, None, [tmp_path])
    got = {r.scan: [os.path.relpath(p, tmp_path) for p in r.files["image"]] for r in plan.records()}
    assert got == {"1.1": ["b/2.dcm", "a/x/1.dcm"], "1.2": ["c/d/e/3.dcm"]}
    assert sum(plan.left_out.values()) == 2
    assert any("RTSTRUCT" in why for why in plan.left_out) and any("LOCALIZER" in why for why in plan.left_out)


def test_a_missing_header_value_and_a_file_that_is_not_dicom_are_one_clear_error(tmp_path: Path) -> None:
    _slice(tmp_path / "a/1.dcm", series="1.1")
    (tmp_path / "b").mkdir()
    (tmp_path / "b/notes.dcm").write_text("not a DICOM file")
    with pytest.raises(LayoutError, match=r"b/notes\.dcm: .*exclude"):
        make_plan(header_card(), None, [tmp_path])
    (tmp_path / "b/notes.dcm").unlink()
    card = header_card(headers={"patient": "PatientID", "series": "SeriesInstanceUID", "kernel": "ConvolutionKernel"},
                       fields={"kernel": {"part": "kernel"}})
    with pytest.raises(LayoutError, match=r"a/1\.dcm: its DICOM header has no ConvolutionKernel"):
        make_plan(card, None, [tmp_path])


def test_every_file_left_out_is_an_error_that_names_why(tmp_path: Path) -> None:
    _slice(tmp_path / "a/1.dcm", series="1.1", modality="MR")
    with pytest.raises(LayoutError, match=r"every image file .* left out .*Modality MR"):
        make_plan(header_card(), None, [tmp_path])


def test_an_overlong_header_element_is_refused_from_its_length(tmp_path: Path) -> None:
    """A hostile file declaring a 50 MB PatientID: refused before the value is read into memory."""
    from covidct.readers import ReadError, read_dicom_values

    path = tmp_path / "a/1.dcm"
    _slice(path, series="1.1", PatientID="A" * (50 << 20))
    with pytest.raises(ReadError, match="PatientID is 52,428,800 bytes long"):
        read_dicom_values(str(path), ("PatientID",))
    with pytest.raises(LayoutError, match=r"a/1\.dcm: its PatientID is 52,428,800 bytes"):
        make_plan(header_card(), None, [tmp_path])


def test_header_values_are_cached_with_the_data_signature(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import covidct.readers as rd

    _two_series(tmp_path / "data")
    calls: list[str] = []
    real = rd.read_dicom_values

    def counting(path: Any, keywords: tuple[str, ...]) -> dict[str, object]:
        calls.append(str(path))
        return real(path, keywords)

    monkeypatch.setattr(rd, "read_dicom_values", counting)
    card = header_card()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = [(r.scan, r.files["image"]) for r in make_plan(card, None, [tmp_path / "data"]).records()]
        assert len(calls) == 5  # one header pass per file, also for the slice order
        calls.clear()
        again = [(r.scan, r.files["image"]) for r in make_plan(card, None, [tmp_path / "data"]).records()]
        assert calls == [] and again == first  # unchanged folder: read from the cache
        # a changed file changes the signature: read again, and the new value is seen
        _slice(tmp_path / "data/b/2.dcm", series="1.9", z=1.0)
        changed = {r.scan for r in make_plan(card, None, [tmp_path / "data"]).records()}
        assert len(calls) == 5 and changed == {"1.1", "1.2", "1.9"}
        # a damaged or tampered cache file is not trusted: the headers are read again
        cache_dir = Path(os.environ["COVIDCT_CACHE_DIR"]) / "dicom-headers"
        for f in cache_dir.glob("*.json"):
            data = json.loads(f.read_text())
            data["files"] = {k: {"PatientID": {"not": "a value"}} for k in data["files"]}
            f.write_text(json.dumps(data))
        calls.clear()
        assert {r.scan for r in make_plan(card, None, [tmp_path / "data"]).records()} == changed
        assert len(calls) == 5


def test_check_says_what_a_names_only_run_cannot_see(tmp_path: Path) -> None:
    listing = tmp_path / "names.txt"
    listing.write_text("LIDC-IDRI-0001/1.2.3/1.2.3.4/000001.dcm\nLIDC-IDRI-0001/1.2.3/1.2.3.4/069.xml\n")
    card = header_card(exclude=["**/*.xml"])
    report = check(card, card.config(), listing=listing)
    assert report.ok and report.matched == {"image": 1}
    assert any("DICOM headers" in n and "SeriesInstanceUID" in n for n in report.not_checked)


def test_header_values_are_bounded_text_in_messages(tmp_path: Path) -> None:
    """A left-out file's value is shown cut to 64 characters (the CLI escapes control characters)."""
    card = header_card(where={"SeriesDescription": ["lung"]})
    _slice(tmp_path / "a/1.dcm", series="1.1", SeriesDescription="\x1b[31m" + "y" * 60)
    with pytest.raises(LayoutError) as err:
        make_plan(card, None, [tmp_path])
    assert "y" * 60 not in str(err.value) and "..." in str(err.value)


def test_splits_and_labels_come_from_header_values(tmp_path: Path) -> None:
    _slice(tmp_path / "x/1.dcm", series="1.1", SeriesDescription="TRAIN", BodyPartExamined="CHEST")
    _slice(tmp_path / "y/2.dcm", series="1.2", SeriesDescription="TEST", BodyPartExamined="ABDOMEN")
    labels = [{"name": "region", "kind": "class", "granularity": "scan", "source": ["unknown"],
               "classes": [{"name": "chest", "value": 0}, {"name": "abdomen", "value": 1}]}]
    layout = {**HEADER_LAYOUT, "headers": {"series": "SeriesInstanceUID", "use": "SeriesDescription",
                                           "body": "BodyPartExamined"},
              "patient": None, "fields": {},
              "splits": {"by": {"part": "use", "map": {"TRAIN": "train", "TEST": "test"}}},
              "labels": {"region": {"part": "body", "map": {"CHEST": "chest", "ABDOMEN": "abdomen"}}}}
    card = make_card({k: v for k, v in layout.items() if v is not None}, labels, example="series",
                     dimensionality="3D", image=CT_IMAGE)
    plan = make_plan(card, None, [tmp_path])
    assert plan.splits == ["train", "test"]
    assert {(r.split, r.scan, r.labels["region"]) for r in plan.records()} == {
        ("train", "1.1", "chest"), ("test", "1.2", "abdomen")}


def _plan_scans(card: Any, root: Path) -> set[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {r.scan for r in make_plan(card, None, [root]).records()}


def test_a_symlinked_header_cache_folder_is_neither_written_nor_pruned(tmp_path: Path) -> None:
    """`dicom-headers` as a link to another folder: covidct must not write there, nor delete that folder's
    oldest ``*.json`` files when it prunes old caches (it keeps 32)."""
    _two_series(tmp_path / "data")
    victim = tmp_path / "victim"
    victim.mkdir()
    for i in range(40):
        (victim / f"{i:02d}.json").write_text("{}")
    (victim / f"{'0' * 32}.json").write_text("{}")  # named like a cache file: still not covidct's folder
    folder = Path(os.environ["COVIDCT_CACHE_DIR"]) / "dicom-headers"
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.symlink_to(victim, target_is_directory=True)
    try:
        assert _plan_scans(header_card(), tmp_path / "data") == {"1.1", "1.2"}
        assert sorted(p.name for p in victim.iterdir()) == sorted([f"{i:02d}.json" for i in range(40)]
                                                                  + [f"{'0' * 32}.json"])
    finally:
        folder.unlink()


def test_pruning_keeps_files_the_cache_did_not_write(tmp_path: Path) -> None:
    _two_series(tmp_path / "data")
    folder = Path(os.environ["COVIDCT_CACHE_DIR"]) / "dicom-headers"
    folder.mkdir(parents=True, exist_ok=True)
    mine = [folder / f"notes-{i}.json" for i in range(40)]
    for f in mine:
        f.write_text("{}")
    os.utime(mine[0], (0, 0))
    try:
        _plan_scans(header_card(), tmp_path / "data")
        assert all(f.exists() for f in mine)
    finally:
        for f in mine:
            f.unlink(missing_ok=True)


def test_a_cache_file_nested_thousands_deep_is_rebuilt_not_a_traceback(tmp_path: Path) -> None:
    _two_series(tmp_path / "data")
    card = header_card()
    first = _plan_scans(card, tmp_path / "data")
    folder = Path(os.environ["COVIDCT_CACHE_DIR"]) / "dicom-headers"
    files = list(folder.glob("*.json"))
    assert files
    for f in files:
        f.write_text("[" * 200_000 + "]" * 200_000)
    assert _plan_scans(card, tmp_path / "data") == first


def test_slices_claiming_one_series_are_bounded_as_one_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each file is within the decoded limit, the example they stack into is not: refused from the first
    slice's size times the count, before the others decode (millions of files may claim one series)."""
    datasets = pytest.importorskip("datasets")
    from covidct.hf.builder import builder_for
    from covidct.hf.load import prepare

    datasets.disable_progress_bars()
    for i in range(3):
        _slice(tmp_path / f"data/{i}.dcm", series="1.1", z=float(i))  # 4x4 int16: 32 bytes each, 96 together
    monkeypatch.setenv("COVIDCT_MAX_DECODED_BYTES", "64")
    with warnings.catch_warnings(), pytest.raises(LayoutError) as err:
        warnings.simplefilter("ignore")
        prepare(builder_for(header_card(), data_dir=tmp_path / "data", cache_dir=tmp_path / "cache"))
    assert "0.dcm and the 2 other image files of its example decode to about 96 bytes, more than the limit of " \
        "64 bytes" in str(err.value) and "COVIDCT_MAX_DECODED_BYTES=<bytes>" in str(err.value)
    monkeypatch.setenv("COVIDCT_MAX_DECODED_BYTES", "96")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = prepare(builder_for(header_card(), data_dir=tmp_path / "data", cache_dir=tmp_path / "cache2"))
    assert np.asarray(rows["train"][0]["image"]).shape == (3, 4, 4)


def test_a_cache_larger_than_its_files_entries_can_be_is_not_read(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache file padded to megabytes (or a gigabyte) for five files is not what covidct wrote: it is
    not loaded into memory, the headers are read again."""
    import covidct.readers as rd

    _two_series(tmp_path / "data")
    card = header_card()
    first = _plan_scans(card, tmp_path / "data")
    folder = Path(os.environ["COVIDCT_CACHE_DIR"]) / "dicom-headers"
    for f in folder.glob("*.json"):
        data = json.loads(f.read_text())
        data["padding"] = "x" * (8 << 20)
        f.write_text(json.dumps(data))
    calls: list[str] = []
    real = rd.read_dicom_values
    monkeypatch.setattr(rd, "read_dicom_values", lambda path, kws: calls.append(str(path)) or real(path, kws))
    assert _plan_scans(card, tmp_path / "data") == first
    assert len(calls) == 5
