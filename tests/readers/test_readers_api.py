"""The readers API: sniffing by content, dispatch, declared-vs-real formats, slice ordering, errors."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pytest
from PIL import Image

from covidct.card.vocab import FileFormat, SortKey
from covidct.readers import Decoded, MissingLibrary, ReadError, family, read, read_header, slice_order, sniff, sort_key


def write(path, data: bytes):
    path.write_bytes(data)
    return path


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "fmt"),
    [
        ("a.bin", b"\xff\xd8\xff\xe0" + b"\x00" * 20, FileFormat.JPEG),
        ("a.jpg", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, FileFormat.PNG),
        ("a.png", b"BM" + b"\x00" * 40, FileFormat.BMP),
        ("a.png", b"II*\x00" + b"\x00" * 20, FileFormat.TIFF),
        ("a.png", b"MM\x00*" + b"\x00" * 20, FileFormat.TIFF),
        ("a.img", b"\x00" * 128 + b"DICM" + b"\x00" * 20, FileFormat.DICOM),
        ("CT.dcm", b"II*\x00" + b"\x00" * 124 + b"DICM", FileFormat.DICOM),  # TIFF-like preamble
        ("x", (348).to_bytes(4, "little") + b"\x00" * 340 + b"n+1\x00" + b"\x00" * 8, FileFormat.NIFTI),
        ("x", (540).to_bytes(4, "little") + b"n+2\x00" + b"\x00" * 600, FileFormat.NIFTI),
        ("x.mhd", b"ObjectType = Image\nNDims = 3\n", FileFormat.METAIMAGE),
        ("x.txt", b"NDims = 2\nDimSize = 4 4\n", FileFormat.METAIMAGE),
        ("x", b"NRRD0004\ntype: short\n", FileFormat.NRRD),
        ("x", b"\x93NUMPY\x01\x00", FileFormat.NPY),
        ("x", b"\x89HDF\r\n\x1a\n", FileFormat.HDF5),
        ("Train.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", FileFormat.XLS),
        ("labels.xlsx", b"PK\x03\x04" + b"\x00" * 10, FileFormat.XLSX),
        ("labels.csv", b"name,label\n", FileFormat.CSV),
        ("x.dat", b"\x01\x02\x03", FileFormat.OTHER),
        ("empty.png", b"", FileFormat.OTHER),
    ],
)
def test_sniff_by_content(tmp_path, name, data, fmt):
    assert sniff(write(tmp_path / name, data)) is fmt


def test_sniff_gzipped_nifti_and_analyze_pair(tmp_path):
    header = (348).to_bytes(4, "little") + b"\x00" * 340 + b"n+1\x00" + b"\x00" * 8
    assert sniff(write(tmp_path / "v.nii.gz", gzip.compress(header))) is FileFormat.NIFTI
    write(tmp_path / "pair.hdr", (348).to_bytes(4, "little") + b"\x00" * 344)
    assert sniff(tmp_path / "pair.hdr") is FileFormat.NIFTI
    assert sniff(write(tmp_path / "pair.img", b"\x00" * 64)) is FileFormat.NIFTI


def test_sniff_raw_next_to_its_header(tmp_path):
    write(tmp_path / "scan.mhd", b"ObjectType = Image\n")
    assert sniff(write(tmp_path / "scan.raw", b"\x00" * 8)) is FileFormat.METAIMAGE
    assert sniff(write(tmp_path / "lonely.raw", b"\x00" * 8)) is FileFormat.OTHER


def test_sniff_missing_file_and_folder(tmp_path):
    with pytest.raises(ReadError, match="no such file"):
        sniff(tmp_path / "nope.png")
    with pytest.raises(ReadError, match="folder"):
        sniff(tmp_path)


def test_families():
    assert family("jpeg") == family(FileFormat.BMP) == "raster"
    assert family(FileFormat.NRRD) == "metaimage"
    assert family(FileFormat.CSV) is None


def test_read_returns_decoded_and_records_a_declared_lie(tmp_path):
    path = write(tmp_path / "scan.dcm", png_bytes())  # a PNG declared DICOM
    dec = read(path, "dicom")
    assert isinstance(dec, Decoded)
    assert dec.meta["real_format"] == "png" and dec.meta["declared_format"] == "dicom"
    assert read_header(path, "dicom")["declared_format"] == "dicom"
    assert "declared_format" not in read(path).meta


def test_declared_lie_in_a_file_object():
    buf = io.BytesIO(png_bytes())
    dec = read(buf, FileFormat.DICOM)
    assert dec.meta["real_format"] == "png" and dec.array.shape == (2, 2)


def test_unknown_or_non_image_formats(tmp_path):
    path = write(tmp_path / "labels.csv", b"a,b\n1,2\n")
    with pytest.raises(ReadError, match="no image"):
        read(path)
    with pytest.raises(ReadError, match="unknown format 'gif'"):
        read(path, "gif")
    with pytest.raises(ReadError, match=r"labels\.csv"):
        read(path, "png")


def test_missing_library_says_what_to_install(tmp_path, monkeypatch):
    import sys

    import covidct.readers as readers

    path = write(tmp_path / "v.nii", b"\x00" * 400)
    monkeypatch.setitem(sys.modules, "nibabel", None)  # import nibabel now fails
    monkeypatch.delitem(sys.modules, "covidct.readers.nifti", raising=False)  # so the reader is imported again
    monkeypatch.delattr(readers, "nifti", raising=False)
    with pytest.raises(MissingLibrary) as info:
        read(path, FileFormat.NIFTI)
    assert isinstance(info.value, ReadError) and str(path) in str(info.value)
    assert "nibabel" in str(info.value) and "pip install 'covidct[readers]'" in str(info.value)


def test_error_message_has_path_problem_and_hint():
    err = ReadError("/data/x y%.dcm", "JPEG Lossless DICOM needs pylibjpeg-libjpeg", "pip install 'covidct[readers]'")
    assert str(err) == (
        "/data/x y%.dcm: JPEG Lossless DICOM needs pylibjpeg-libjpeg; pip install 'covidct[readers]'"
    )
    assert err.path == "/data/x y%.dcm" and err.hint.startswith("pip")


AXIAL = [1, 0, 0, 0, 1, 0]


def test_sort_key_chain():
    full = {"SliceLocation": -10.0, "ImagePositionPatient": [0, 0, -12.0], "ImageOrientationPatient": AXIAL,
            "InstanceNumber": 3}  # fmt: skip
    assert sort_key(full, SortKey.SLICE_LOCATION) == -10.0
    assert sort_key(full, "ImagePositionPatient") == -12.0
    assert sort_key(full, SortKey.INSTANCE_NUMBER) == 3
    no_location = {"ImagePositionPatient": [0, 0, -12.0], "InstanceNumber": 3}
    assert sort_key(no_location, SortKey.SLICE_LOCATION) == -12.0  # fallback: ImagePositionPatient[2]
    assert sort_key({"InstanceNumber": 3}, SortKey.SLICE_LOCATION) == 3
    with pytest.raises(ReadError, match="InstanceNumber"):
        sort_key({"SOPInstanceUID": "1.2"}, SortKey.INSTANCE_NUMBER)


def test_position_follows_the_slice_normal_for_sagittal_slices():
    sagittal = [0, 1, 0, 0, 0, -1]  # rows along y, columns along -z: normal is -x
    metas = [{"ImagePositionPatient": [x, 5.0, 7.0], "ImageOrientationPatient": sagittal} for x in (3.0, 1.0, 2.0)]
    assert [sort_key(m, SortKey.IMAGE_POSITION_Z) for m in metas] == [-3.0, -1.0, -2.0]


def test_slice_order_uses_one_attribute_for_the_whole_scan():
    # slice 1 lacks SliceLocation: mixing would put it by its z among locations of another origin
    metas = [
        {"SliceLocation": 100.0, "ImagePositionPatient": [0, 0, 0.0]},
        {"ImagePositionPatient": [0, 0, 5.0]},
        {"SliceLocation": 90.0, "ImagePositionPatient": [0, 0, -10.0]},
    ]
    assert slice_order(metas, SortKey.SLICE_LOCATION) == [2, 0, 1]  # by position, for all
    assert slice_order(metas, SortKey.SLICE_LOCATION, descending=True) == [1, 0, 2]
    with pytest.raises(ReadError, match="every slice"):
        slice_order([{"SliceLocation": 1.0}, {}], SortKey.SLICE_LOCATION)


def test_slice_order_ties_keep_input_order():
    metas = [{"InstanceNumber": n} for n in (2, 1, 2, 1)]
    assert slice_order(metas, SortKey.INSTANCE_NUMBER) == [1, 3, 0, 2]
    assert slice_order(metas, SortKey.INSTANCE_NUMBER, descending=True) == [0, 2, 1, 3]
