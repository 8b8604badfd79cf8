"""The format registry (covidct.readers.formats): every format of the card vocabulary has one entry, and
the facts other modules used to keep in their own tables are consistent there."""

from __future__ import annotations

from pathlib import Path

import pytest

from covidct.card.vocab import FileFormat
from covidct.readers.formats import all_formats, format_of, mime_for_name, sniff_bytes, suffix_guess


def test_every_vocabulary_format_has_exactly_one_entry() -> None:
    assert [f.fmt for f in all_formats()] == list(FileFormat)


@pytest.mark.parametrize("f", all_formats(), ids=lambda f: f.value)
def test_entries_are_consistent(f) -> None:
    assert "/" in f.mime
    assert all(s.startswith(".") and s == s.lower() for s in f.suffixes)
    if f.image:
        assert f.reader is not None and f.family and f.library, "an image format needs its reader"
    if f.raster or f.volume or f.slice_per_file:
        assert f.image
    if f.writer is not None:
        assert f.library, "a writer needs the library it writes with (fixtures check it is installed)"
    assert not (f.raster and f.volume)


def test_sniff_order_dicom_preamble_before_tiff_and_nifti2() -> None:
    head = b"II*\x00" + b"\0" * 124 + b"DICM" + b"\0" * 380
    assert sniff_bytes(head) is FileFormat.DICOM
    assert sniff_bytes(b"\x1c\x02\x00\x00n+2\x00" + b"\0" * 600) is FileFormat.NIFTI
    assert sniff_bytes(b"II*\x00" + b"\0" * 508) is FileFormat.TIFF
    assert sniff_bytes(b"a,b\n", "x.CSV") is FileFormat.CSV
    assert sniff_bytes(b"a,b\n", "x.bin") is FileFormat.OTHER


def test_mime_and_suffix_guess() -> None:
    assert mime_for_name("scan.nii.gz") == "application/x-nifti"
    assert mime_for_name("Labels.XLSX") == format_of("xlsx").mime
    assert mime_for_name("data.tar.gz") is None  # archives are not file formats
    assert suffix_guess("slice.dcm") is FileFormat.DICOM and suffix_guess("a.png") is None


def test_a_new_format_module_is_found_without_a_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import covidct.readers.formats as formats

    (tmp_path / "zz_probe.py").write_text(
        "from covidct.card.vocab import FileFormat\n"
        "from covidct.readers.formats._base import Format\n"
        "FORMATS = [Format(FileFormat.HDF5, 'application/x-probe')]\n", encoding="utf-8")
    monkeypatch.setattr(formats, "__path__", [*formats.__path__, str(tmp_path)])
    formats._registry.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="hdf5 is defined twice"):
            formats.all_formats()
    finally:
        monkeypatch.undo()
        formats._registry.cache_clear()
    assert format_of("hdf5").mime == "application/x-hdf5"
