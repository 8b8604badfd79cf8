"""NIfTI with nibabel: scl_slope/inter applied without loss, (z, y, x) order, spacing from zooms."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from conftest import need
from covidct.card.vocab import FileFormat, Intensity
from covidct.readers import ReadError, read, read_header, sniff

nib = need("nibabel")

XYZ = (np.arange(4 * 5 * 6, dtype=np.int32).reshape(4, 5, 6) * 37 % 3000).astype(np.uint16)  # (x, y, z)


def save(path, data, *, zooms=(0.7, 0.8, 2.5), unit="mm", slope=None, inter=None, version=1):
    cls = nib.Nifti1Image if version == 1 else nib.Nifti2Image
    img = cls(data, np.diag([*zooms[:3], 1.0]))
    img.header.set_zooms(zooms)
    img.header.set_xyzt_units(unit)
    if slope is not None:
        img.header.set_slope_inter(slope, inter)
    nib.save(img, path)
    return path


@pytest.mark.parametrize("name", ["ct.nii", "ct 50%.nii.gz"])
def test_hu_volume_in_zyx_order_with_spacing(tmp_path, name):
    hu = XYZ.astype(np.int16) - 1024
    path = save(tmp_path / name, hu)
    assert sniff(path) is FileFormat.NIFTI
    dec = read(path)
    assert dec.array.shape == (6, 5, 4)
    assert dec.array.dtype == np.int16 and dec.array.min() < 0
    np.testing.assert_array_equal(dec.array, hu.T)
    assert dec.array.flags["C_CONTIGUOUS"]
    assert dec.spacing == (2.5, 0.8, 0.7)
    assert dec.intensity is Intensity.RAW_16BIT
    assert dec.meta["axcodes"] == "RAS" and dec.meta["real_format"] == "nifti"


def test_integral_scaling_gives_signed_int16(tmp_path):
    dec = read(save(tmp_path / "s.nii.gz", XYZ, slope=1, inter=-1024))
    assert dec.array.dtype == np.int16
    np.testing.assert_array_equal(dec.array, XYZ.T.astype(np.int32) - 1024)
    assert dec.meta["scl_inter"] == -1024.0 and dec.meta["scaling_applied"] is True


def test_fractional_scaling_gives_float32(tmp_path):
    dec = read(save(tmp_path / "f.nii", XYZ, slope=0.5, inter=-0.25))
    assert dec.array.dtype == np.float32 and dec.intensity is Intensity.FLOAT
    np.testing.assert_allclose(dec.array, XYZ.T * 0.5 - 0.25)


def test_unknown_unit_gives_no_spacing_but_keeps_zooms(tmp_path):
    dec = read(save(tmp_path / "u.nii", XYZ, unit="unknown"))
    assert dec.spacing is None and dec.meta["zooms"] == [0.7, 0.8, 2.5]
    micron = read(save(tmp_path / "um.nii", XYZ, zooms=(700, 800, 2500), unit="micron"))
    assert micron.spacing == pytest.approx((2.5, 0.8, 0.7))


def test_nifti2_and_4d(tmp_path):
    data = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)  # (x, y, z, t)
    dec = read(save(tmp_path / "v2.nii", data, zooms=(1, 1, 1, 2.0), version=2))
    assert dec.meta["nifti_version"] == 2
    assert dec.array.shape == (5, 4, 3, 2)  # (t, z, y, x)
    assert dec.spacing is None  # time has no mm


def test_mask_volume_keeps_integers(tmp_path):
    labels = (XYZ % 3).astype(np.uint8)
    dec = read(save(tmp_path / "mask.nii.gz", labels), mask=True)
    assert dec.array.dtype == np.uint8 and dec.intensity is Intensity.UNKNOWN
    np.testing.assert_array_equal(dec.array, labels.T)


def test_header_only(tmp_path):
    meta = read_header(save(tmp_path / "h.nii.gz", XYZ), FileFormat.NIFTI)
    assert meta["shape"] == [6, 5, 4] and meta["spacing"] == (2.5, 0.8, 0.7)
    assert meta["dtype_on_disk"] == "uint16"


def test_file_object(tmp_path):
    path = save(tmp_path / "o.nii.gz", XYZ)
    with open(path, "rb") as fh:
        dec = read(fh, FileFormat.NIFTI)
    np.testing.assert_array_equal(dec.array, XYZ.T)


@pytest.mark.parametrize("name", ["cut.nii", "cut 1%.nii.gz"])
def test_truncated_volume_is_a_read_error_naming_it(tmp_path, name):
    path = save(tmp_path / name, np.tile(XYZ, (8, 8, 8)))
    raw = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
    cut = raw[: len(raw) // 2]
    path.write_bytes(gzip.compress(cut)[:-20] if name.endswith(".gz") else cut)
    with pytest.raises(ReadError) as info:
        read(path)
    assert str(path) in str(info.value)
