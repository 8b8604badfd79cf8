"""The one-pass header read (`read_values`: the structure walk collects the raw values) gives exactly what
pydicom gives (`read_values_pydicom`, the path it falls back to) -- for every file pydicom ships for its own
tests, the real COVID-CT-MD sample, and generated headers (both byte orders, both VR encodings, character
sets, odd values). And the one pass is really taken for ordinary files: otherwise the speed is lost quietly.
"""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import pytest

from conftest import fetch_samples, need
from covidct.readers import dicom as dcm
from covidct.readers._common import ReadError

KEYWORDS = dcm.HEADER_KEYWORDS  # every attribute a layout may name, and the slice-order ones (always read)


def _outcome(fn, src) -> object:  # type: ignore[no-untyped-def]
    try:
        return fn(src, KEYWORDS)
    except ReadError as exc:
        return ("ReadError", str(exc))


def _pydicom_test_files() -> list[Path]:
    need("pydicom")
    from pydicom.data import get_testdata_files

    return sorted(p for p in map(Path, get_testdata_files()) if p.is_file())


def _count_fallbacks(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record each file read again by pydicom alone."""
    fallbacks: list[object] = []
    slow = dcm.read_values_pydicom

    def counted(src, keywords, **kw):  # type: ignore[no-untyped-def]
        fallbacks.append(src)
        return slow(src, keywords, **kw)

    monkeypatch.setattr(dcm, "read_values_pydicom", counted)
    return fallbacks


def test_every_pydicom_test_file_reads_the_same_values(monkeypatch: pytest.MonkeyPatch) -> None:
    files = _pydicom_test_files()
    assert len(files) > 100
    expected = {p: _outcome(dcm.read_values_pydicom, p) for p in files}
    fallbacks = _count_fallbacks(monkeypatch)
    for p in files:
        assert _outcome(dcm.read_values, p) == expected[p], p
    read = [p for p in files if isinstance(expected[p], dict) and expected[p]]
    assert len(read) - len(fallbacks) > 100  # most in one pass: big endian, deflated, no file meta... fall back
    assert Path(files[0].parent / "CT_small.dcm") not in fallbacks


def test_the_real_sample_reads_the_same_values_in_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    found = fetch_samples.find_samples()
    if found is None:
        from conftest import unavailable

        unavailable(f"real sample files are absent: {fetch_samples.HOW_TO_GET}")
    files = sorted((found / "covid-ct-md").rglob("*.dcm"))
    assert files
    expected = [dcm.read_values_pydicom(p, KEYWORDS) for p in files]
    fallbacks = _count_fallbacks(monkeypatch)
    assert [dcm.read_values(p, KEYWORDS) for p in files] == expected
    assert fallbacks == []
    assert {"PatientID", "SeriesInstanceUID", "ImagePositionPatient", "InstanceNumber"} <= set(expected[0])


def test_gzipped_and_open_files_read_the_same_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pydicom.data import get_testdata_file

    plain = Path(get_testdata_file("CT_small.dcm"))
    zipped = tmp_path / "ct.dcm.gz"
    zipped.write_bytes(gzip.compress(plain.read_bytes()))
    expected = dcm.read_values_pydicom(plain, KEYWORDS)
    fallbacks = _count_fallbacks(monkeypatch)
    assert dcm.read_values(zipped, KEYWORDS) == expected
    with plain.open("rb") as fh:
        fh.read(7)
        fh.seek(0)
        assert dcm.read_values(fh, KEYWORDS) == expected
        assert fh.tell() == 0
    assert fallbacks == []


def test_an_overlong_value_is_refused_by_both_paths(tmp_path: Path) -> None:
    ds = _dataset({"PatientID": "P" * (dcm.MAX_VALUE_BYTES + 1)}, "explicit")
    path = tmp_path / "long.dcm"
    ds.save_as(path, enforce_file_format=True)
    with pytest.raises(ReadError, match="PatientID is 1,026 bytes"):
        dcm.read_values(path, KEYWORDS)
    assert _outcome(dcm.read_values, path) == _outcome(dcm.read_values_pydicom, path)


def test_a_duplicated_or_switched_element_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the walk and pydicom could disagree on which bytes are the value, pydicom decides."""
    ds = _dataset({"PatientID": "A", "Modality": "CT"}, "explicit")
    path = tmp_path / "dup.dcm"
    ds.save_as(path, enforce_file_format=True)
    data = path.read_bytes()
    element = b"\x10\x00\x20\x00LO\x02\x00A "  # (0010,0020) PatientID "A"
    assert data.count(element) == 1
    twice = data.replace(element, element + b"\x10\x00\x20\x00LO\x02\x00B ")  # out of order, then a duplicate
    implicit_inside = data.replace(element, b"\x10\x00\x20\x00\x02\x00\x00\x00A ")  # implicit VR in explicit
    expected = {}
    for name, raw in (("twice", twice), ("switched", implicit_inside)):
        bad = expected[name] = tmp_path / f"{name}.dcm"
        bad.write_bytes(raw)
    expected = {bad: _outcome(dcm.read_values_pydicom, bad) for bad in expected.values()}
    assert expected[tmp_path / "twice.dcm"] != expected[tmp_path / "switched.dcm"]
    fallbacks = _count_fallbacks(monkeypatch)
    for bad, values in expected.items():
        assert _outcome(dcm.read_values, bad) == values
    assert fallbacks == list(expected)


# ---------------------------------------------------------------------------------------- generated headers

_SYNTAXES = {"explicit": "1.2.840.10008.1.2.1", "implicit": "1.2.840.10008.1.2", "big": "1.2.840.10008.1.2.2"}


def _dataset(values: dict[str, object], syntax: str, charset: str | None = None):  # type: ignore[no-untyped-def]
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import UID, CTImageStorage

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = "1.2.3"
    meta.TransferSyntaxUID = UID(_SYNTAXES[syntax])
    ds = Dataset()
    ds.file_meta = meta
    if charset is not None:
        ds.SpecificCharacterSet = charset
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kw, v in values.items():
            setattr(ds, kw, v)
    return ds


def _strategies():  # type: ignore[no-untyped-def]
    from hypothesis import strategies as st
    from pydicom.datadict import dictionary_VR, tag_for_keyword

    ascii_text = st.text(st.sampled_from("AZaz09 .-_\\^"), max_size=20)
    any_text = st.text(st.characters(codec="latin-1", exclude_characters="\x00"), max_size=12)
    number = st.one_of(st.integers(-(10**6), 10**6).map(str), st.floats(-1e6, 1e6, allow_nan=False).map(
        lambda f: f"{f:.6g}"), st.sampled_from(["", " 1", "1e3", "x", "1\\2\\3", "-0", "+5 "]))
    per_vr = {"DS": number, "IS": number, "US": st.integers(0, 65535), "SS": st.integers(-32768, 32767),
              "UL": st.integers(0, 2**32 - 1), "FL": st.floats(-1e3, 1e3, width=32), "FD": st.floats(-1e3, 1e3)}
    fields = {kw: per_vr.get(str(dictionary_VR(tag_for_keyword(kw))), st.one_of(ascii_text, ascii_text, any_text))
              for kw in KEYWORDS}
    values = st.fixed_dictionaries({}, optional=fields)
    charsets = st.sampled_from([None, None, "ISO_IR 100", "ISO_IR 192", "ISO_IR 6", "ISO 2022 IR 100", "ISO_IR 144"])
    return values, st.sampled_from(["explicit", "explicit", "implicit", "big"]), charsets


def test_generated_headers_read_the_same_values(tmp_path: Path) -> None:
    need("hypothesis")
    from hypothesis import HealthCheck, given, settings

    values, syntaxes, charsets = _strategies()
    path = tmp_path / "gen.dcm"
    fast = []

    @settings(max_examples=150, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(values, syntaxes, charsets)
    def check(vals, syntax, charset):  # type: ignore[no-untyped-def]
        try:
            ds = _dataset(vals, syntax, charset)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds.save_as(path, enforce_file_format=True)
        except Exception:  # a value pydicom will not take or write (e.g. DS "x", not in the character set)
            return
        expected = _outcome(dcm.read_values_pydicom, path)
        assert _outcome(dcm.read_values, path) == expected, (vals, syntax, charset)
        with path.open("rb") as fh:
            found = dcm.check_structure(fh, path, header_only=True, wanted=dcm._WANTED[KEYWORDS],
                                        value_limit=dcm.MAX_VALUE_BYTES)
        fast.append(found is not None and dcm._parsed(found.raw, dcm._value_tags(KEYWORDS)) is not None)

    check()
    assert sum(fast) > 10  # the generated files do take the one pass, not only the fallback


# ------------------------------------------------------------------------------------------ damaged files


def test_an_unknown_vr_in_the_file_meta_group_is_the_error_pydicom_gives(tmp_path: Path) -> None:
    """pydicom converts the file meta group and raises on a VR it does not know; the walk only skips it."""
    from pydicom.data import get_testdata_file

    data = Path(get_testdata_file("CT_small.dcm")).read_bytes()
    path = tmp_path / "meta.dcm"
    for vr in (b"UX", b"U."):
        path.write_bytes(data.replace(b"\x02\x00\x10\x00UI", b"\x02\x00\x10\x00" + vr, 1))
        expected = _outcome(dcm.read_values_pydicom, path)
        assert isinstance(expected, tuple)
        assert _outcome(dcm.read_values, path) == expected


@pytest.mark.parametrize(("name", "seed"), [("CT_small.dcm", 1), ("MR_small_implicit.dcm", 2), ("liver_1frame.dcm", 8),
                                            ("rtplan.dcm", 4)])
def test_damaged_files_read_the_same_values_or_the_same_error(tmp_path: Path, name: str, seed: int) -> None:
    """Bytes changed, inserted, deleted or cut off anywhere: both ways give the same values or message."""
    import random

    from pydicom.data import get_testdata_file

    original = Path(get_testdata_file(name)).read_bytes()
    rng = random.Random(seed)
    path = tmp_path / "damaged.dcm"
    for _ in range(300):
        data = bytearray(original)
        for _ in range(rng.randint(1, 4)):
            at, kind = rng.randrange(128, len(data) - 1), rng.random()
            if kind < 0.5:
                data[at] = rng.randrange(256)
            elif kind < 0.7:
                del data[at:at + rng.randint(1, 8)]
            elif kind < 0.85:
                data[at:at] = rng.randbytes(rng.randint(1, 8))
            else:
                del data[at:]
        path.write_bytes(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert _outcome(dcm.read_values, path) == _outcome(dcm.read_values_pydicom, path), bytes(data)
