"""DICOM: synthesized CT slices (uncompressed, RLE, JPEG 2000) and pydicom's bundled real test files."""

from __future__ import annotations

import numpy as np
import pytest
from readers_synth import ct_dicom

from conftest import need
from covidct.card.vocab import FileFormat, Intensity, SortKey
from covidct.readers import MissingLibrary, ReadError, read, read_header, sniff, sort_key

pydicom = need("pydicom")


def bundled(name: str) -> str:
    """A file shipped inside the installed pydicom package (never downloaded)."""
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.fail(f"{name} is not in pydicom's installed data folder")
    return str(path)


@pytest.fixture
def stored() -> np.ndarray:
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 4096, size=(32, 48), dtype=np.uint16)
    arr[0, 0], arr[0, 1] = 0, 4095  # air below zero HU, bone above
    return arr


@pytest.mark.parametrize("syntax", [None, "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.90"])
def test_ct_slice_to_signed_hounsfield(tmp_path, stored, syntax):
    if syntax == "1.2.840.10008.1.2.4.90":
        need("openjpeg")
    path = ct_dicom(tmp_path / "ct.dcm", stored, syntax=syntax)
    dec = read(path)
    assert dec.array.dtype == np.int16
    assert dec.intensity is Intensity.HOUNSFIELD
    np.testing.assert_array_equal(dec.array, stored.astype(np.int32) - 1024)
    assert dec.array.min() < 0
    assert dec.spacing == (0.7, 0.75)
    assert dec.meta["RescaleIntercept"] == -1024.0
    assert dec.meta["TransferSyntaxUID"] == (syntax or "1.2.840.10008.1.2.1")
    assert dec.meta["real_format"] == "dicom"


def test_signed_storage_with_zero_intercept_stays_signed(tmp_path):
    hu = np.array([[-1000, -1], [0, 3000]], dtype=np.int16)
    dec = read(ct_dicom(tmp_path / "s.dcm", hu, signed=True, bits_stored=16, intercept=0.0))
    assert dec.array.dtype == np.int16
    np.testing.assert_array_equal(dec.array, hu)


def test_integral_rescale_with_wide_storage_keeps_exact_values(tmp_path):
    stored = np.array([[0, 40000], [65535, 1]], dtype=np.uint16)  # 16 bits stored: needs int32
    dec = read(ct_dicom(tmp_path / "w.dcm", stored, bits_stored=16, slope=2, intercept=-1024))
    assert dec.array.dtype == np.int32
    np.testing.assert_array_equal(dec.array, stored.astype(np.int64) * 2 - 1024)


def test_fractional_rescale_gives_float32(tmp_path, stored):
    dec = read(ct_dicom(tmp_path / "f.dcm", stored, slope=0.5, intercept=-1024.25))
    assert dec.array.dtype == np.float32
    np.testing.assert_allclose(dec.array, stored * 0.5 - 1024.25)
    assert dec.intensity is Intensity.HOUNSFIELD


def test_mask_keeps_stored_values(tmp_path, stored):
    dec = read(ct_dicom(tmp_path / "m.dcm", stored), mask=True)
    assert dec.array.dtype == np.uint16
    np.testing.assert_array_equal(dec.array, stored)
    assert dec.intensity is Intensity.UNKNOWN


def test_multiframe_gives_frames_rows_cols(tmp_path):
    frames = np.arange(3 * 4 * 5, dtype=np.uint16).reshape(3, 4, 5)
    dec = read(ct_dicom(tmp_path / "mf.dcm", frames, SpacingBetweenSlices=2.5))
    assert dec.array.shape == (3, 4, 5)
    np.testing.assert_array_equal(dec.array, frames.astype(np.int32) - 1024)
    assert dec.spacing == (2.5, 0.7, 0.75)


def test_dicom_without_preamble_is_sniffed_and_read(tmp_path, stored):
    path = ct_dicom(tmp_path / "bare", stored, preamble=False)
    assert path.read_bytes()[128:132] != b"DICM"
    assert sniff(path) is FileFormat.DICOM
    np.testing.assert_array_equal(read(path).array, stored.astype(np.int32) - 1024)


def test_header_has_sort_keys_without_pixels(tmp_path, stored):
    path = ct_dicom(
        tmp_path / "h.dcm",
        stored,
        SliceLocation=-12.5,
        ImagePositionPatient=[-100, -100, -12.5],
        ImageOrientationPatient=[1, 0, 0, 0, 1, 0],
        InstanceNumber=7,
    )
    meta = read_header(path, FileFormat.DICOM)
    assert "PixelData" not in meta
    assert meta["PatientID"] == "P-synth" and meta["SeriesInstanceUID"] == "1.2.3.4"
    assert sort_key(meta, SortKey.SLICE_LOCATION) == -12.5
    assert sort_key(meta, SortKey.IMAGE_POSITION_Z) == -12.5
    assert sort_key(meta, SortKey.INSTANCE_NUMBER) == 7


def test_bundled_ct_small_decodes_to_hounsfield():
    dec = read(bundled("CT_small.dcm"))  # its preamble holds a TIFF header: sniffing must say DICOM
    assert dec.meta["real_format"] == "dicom"
    assert dec.array.dtype == np.int16 and dec.intensity is Intensity.HOUNSFIELD
    assert dec.meta["RescaleIntercept"] == -1024.0
    raw = pydicom.dcmread(bundled("CT_small.dcm")).pixel_array
    np.testing.assert_array_equal(dec.array, raw.astype(np.int32) - 1024)


def test_bundled_jpeg2000_ct_decodes_to_hounsfield():
    need("openjpeg")
    dec = read(bundled("693_J2KI.dcm"))
    assert dec.meta["TransferSyntaxUID"] == "1.2.840.10008.1.2.4.91"
    assert dec.array.dtype == np.int16 and dec.intensity is Intensity.HOUNSFIELD
    assert dec.array.min() < -900  # air


@pytest.mark.parametrize(
    ("name", "syntax"),
    [
        ("MR_small_jpeg_ls_lossless.dcm", "1.2.840.10008.1.2.4.80"),
        ("MR_small_jp2klossless.dcm", "1.2.840.10008.1.2.4.90"),
        ("MR_small_RLE.dcm", "1.2.840.10008.1.2.5"),
    ],
)
def test_bundled_lossless_syntaxes_match_the_uncompressed_original(name, syntax):
    need("libjpeg")
    need("openjpeg")
    reference = read(bundled("MR_small.dcm"))
    dec = read(bundled(name))
    assert dec.meta["TransferSyntaxUID"] == syntax
    assert dec.intensity is Intensity.RAW_16BIT  # MR: no Hounsfield units
    np.testing.assert_array_equal(dec.array, reference.array)


def test_bundled_jpeg_lossless_sv1_matches_rle_of_the_same_image():
    need("libjpeg")
    dec = read(bundled("SC_rgb_jpeg_gdcm.dcm"))
    assert dec.meta["TransferSyntaxUID"] == "1.2.840.10008.1.2.4.70"  # JPEG Lossless, like COVID-CT-MD
    assert dec.array.shape == (100, 100, 3) and dec.array.dtype == np.uint8
    np.testing.assert_array_equal(dec.array, read(bundled("SC_rgb_rle.dcm")).array)


def test_truncated_dicom_is_a_read_error_naming_the_file():
    path = bundled("MR_truncated.dcm")
    with pytest.raises(ReadError) as info:
        read(path)
    assert path in str(info.value)


def test_cut_file_is_a_read_error(tmp_path, stored):
    path = ct_dicom(tmp_path / "cut me.dcm", stored)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 500])
    with pytest.raises(ReadError, match=r"cut me\.dcm"):
        read(path)


def test_object_without_pixels_says_so():
    with pytest.raises(ReadError, match="no pixel data"):
        read(bundled("rtplan.dcm"), FileFormat.DICOM)


def test_missing_decoder_names_the_package(tmp_path, stored, monkeypatch):
    from covidct.readers import dicom

    path = ct_dicom(tmp_path / "rle.dcm", stored, syntax="1.2.840.10008.1.2.5")
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.70"  # pretend: JPEG Lossless
    monkeypatch.setattr(dicom, "_missing_decoder", lambda ts: "pylibjpeg-libjpeg" if ts.endswith(".70") else None)
    ds.save_as(tmp_path / "jpegll.dcm")
    with pytest.raises(MissingLibrary) as info:
        read(tmp_path / "jpegll.dcm")
    msg = str(info.value)
    assert "jpegll.dcm" in msg and "JPEG Lossless" in msg
    assert "pylibjpeg-libjpeg" in msg and "pip install 'covidct[readers]'" in msg


@pytest.mark.parametrize(
    "name", ["CT_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "693_J2KI.dcm", "JPEG2000.dcm"]
)
def test_fast_header_parsing_agrees_with_pydicom(name):
    """Header values parsed straight from the raw bytes equal pydicom's own conversion."""
    import warnings

    from covidct.readers._common import plain
    from covidct.readers.dicom import HEADER_KEYWORDS

    meta = read_header(bundled(name), FileFormat.DICOM)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(bundled(name), stop_before_pixels=True)
        expected = {kw: plain(ds.get(kw)) for kw in HEADER_KEYWORDS if ds.get(kw) not in (None, "")}
    assert expected
    for kw, value in expected.items():
        if isinstance(value, list) and value and isinstance(value[0], str):
            value = [v.strip() for v in value]  # pydicom keeps padding inside multi-valued text
        assert meta[kw] == value, kw
