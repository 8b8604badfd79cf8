"""Examples stored as rows of an HDF5 dataset (`files.image.dataset`), labels from other datasets of the file,
and the HDF5 files an attacker could write: links out of the file, data kept in other files, object types,
declared sizes far beyond the file."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
from cardkit import CLASS_LABEL, make_card

from conftest import need
from covidct.card.checks import check_card
from covidct.layout import LayoutError, make_plan

h5py = need("h5py")
np = need("numpy")

from covidct.readers import hdf5  # noqa: E402
from covidct.readers._common import ReadError  # noqa: E402


def _card(**labels: object):
    layout = {"files": {"image": {"pattern": "all_patches.hdf5", "format": "hdf5", "dataset": "ct_slices"}},
              "labels": labels or {"label": {"dataset": "slice_class"}}}
    return make_card(layout, [CLASS_LABEL], example="patch", image={"formats": ["hdf5"], "intensity": "hounsfield"})


def _write(path: Path, n: int = 5) -> None:
    # lung-nodule-malignancy's all_patches.hdf5: ct_slices (N, 64, 64) and slice_class (N, 1)
    with h5py.File(path, "w") as f:
        f["ct_slices"] = np.arange(n * 16, dtype=np.int16).reshape(n, 4, 4) - 1000
        f["slice_class"] = np.array([[i % 2] for i in range(n)], dtype=np.uint8)


def _plan(card, root: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_plan(card, None, [root])


def test_each_row_is_an_example_with_the_label_of_its_row(tmp_path: Path) -> None:
    _write(tmp_path / "all_patches.hdf5")
    recs = list(_plan(_card(), tmp_path).records())
    assert [(r.path, r.row, r.labels["label"]) for r in recs] == [
        ("all_patches.hdf5#0", 0, "covid"), ("all_patches.hdf5#1", 1, "normal"), ("all_patches.hdf5#2", 2, "covid"),
        ("all_patches.hdf5#3", 3, "normal"), ("all_patches.hdf5#4", 4, "covid")]
    row = hdf5.read_row(recs[3].files["image"][0], "ct_slices", 3)
    assert row.array.shape == (4, 4) and int(row.array[0, 0]) == 3 * 16 - 1000


def test_a_label_dataset_shorter_than_the_images_is_one_error(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "all_patches.hdf5", "w") as f:
        f["ct_slices"] = np.zeros((3, 4, 4), dtype=np.int16)
        f["slice_class"] = np.zeros((2, 1), dtype=np.uint8)
    with pytest.raises(LayoutError, match="has 2 rows; row 2 is missing"):
        list(_plan(_card(), tmp_path).records())


def test_misused_datasets_are_located_when_the_card_is_validated() -> None:
    bad = make_card({"files": {"image": {"pattern": "x.png", "format": "png", "dataset": "ct"}},
                     "labels": {"label": {"dataset": "cls"}}}, [CLASS_LABEL])
    assert [(f.code, f.path[-1]) for f in check_card(bad) if f.code == "C322"] == [("C322", "dataset")] * 2
    no_dataset = make_card({"files": {"image": {"pattern": "x.h5", "format": "hdf5"}}}, [CLASS_LABEL])
    assert "C322" in [f.code for f in check_card(no_dataset)]


def _hostile(tmp_path: Path, make) -> Path:
    path = tmp_path / "all_patches.hdf5"
    with h5py.File(path, "w") as f:
        make(f, tmp_path)
    return path


def _external_link(f, tmp):
    with h5py.File(tmp / "other.h5", "w") as o:
        o["secret"] = np.zeros((2, 4, 4), dtype=np.int16)
    f["ct_slices"] = h5py.ExternalLink(str(tmp / "other.h5"), "/secret")


def _soft_link(f, tmp):
    f["real"] = np.zeros((2, 4, 4), dtype=np.int16)
    f["ct_slices"] = h5py.SoftLink("/real")


def _external_storage(f, tmp):
    (tmp / "raw.bin").write_bytes(b"\0" * 64)
    f.create_dataset("ct_slices", shape=(2, 4, 4), dtype="<i2", external=[(str(tmp / "raw.bin"), 0, 64)])


def _virtual(f, tmp):
    with h5py.File(tmp / "src.h5", "w") as o:
        o["d"] = np.zeros((2, 4, 4), dtype=np.int16)
    layout = h5py.VirtualLayout(shape=(2, 4, 4), dtype="i2")
    layout[:] = h5py.VirtualSource(str(tmp / "src.h5"), "d", shape=(2, 4, 4))
    f.create_virtual_dataset("ct_slices", layout)


def _strings(f, tmp):
    f.create_dataset("ct_slices", data=np.array([b"a", b"b"], dtype=object), dtype=h5py.string_dtype())


def _compound(f, tmp):
    f["ct_slices"] = np.zeros(2, dtype=[("a", "i2"), ("b", "f4")])


def _group(f, tmp):
    f.create_group("ct_slices")


def _too_many_axes(f, tmp):
    f["ct_slices"] = np.zeros((1, 1, 1, 1, 1), dtype=np.uint8)


@pytest.mark.parametrize(("make", "message"), [
    (_external_link, "ExternalLink"), (_soft_link, "SoftLink"), (_external_storage, "other files"),
    (_virtual, "other files"), (_strings, "only plain numbers"), (_compound, "only plain numbers"),
    (_group, "a group, not a dataset"), (_too_many_axes, "1 to 4 axes")])
def test_hostile_hdf5_files_are_refused_before_any_data_is_read(tmp_path: Path, make, message: str) -> None:
    path = _hostile(tmp_path, make)
    with pytest.raises(ReadError, match=message):
        hdf5.read_row(path, "ct_slices", 0)
    with pytest.raises(LayoutError, match=message):
        list(_plan(_card(label={"value": "covid"}), tmp_path).records())


def test_declared_sizes_beyond_the_limits_are_refused_before_decoding(tmp_path: Path) -> None:
    # chunked and never written: a few kilobytes on disk that declare terabytes
    with h5py.File(tmp_path / "all_patches.hdf5", "w") as f:
        f.create_dataset("ct_slices", shape=(4, 200_000, 200_000), dtype="<i2", chunks=(1, 64, 64))
        f.create_dataset("slice_class", shape=(3_000_000_000, 1), dtype="u1", chunks=(1024, 1))
        f.create_dataset("many", shape=(hdf5.MAX_ROWS + 1, 2), dtype="u1", chunks=(1024, 2))
    assert os.path.getsize(tmp_path / "all_patches.hdf5") < 100_000
    with pytest.raises(ReadError, match="refused before decoding"):
        hdf5.read_row(tmp_path / "all_patches.hdf5", "ct_slices", 0)
    with pytest.raises(ReadError, match="refused before decoding"):
        hdf5.read_all(tmp_path / "all_patches.hdf5", "slice_class")
    with pytest.raises(LayoutError, match="refused before decoding"):
        list(_plan(_card(), tmp_path).records())
    many = make_card({"files": {"image": {"pattern": "all_patches.hdf5", "format": "hdf5", "dataset": "many"}}},
                     [CLASS_LABEL], example="patch", image={"formats": ["hdf5"], "intensity": "hounsfield"})
    with pytest.raises(LayoutError, match="examples from HDF5 rows are refused"):
        _plan(many, tmp_path)


def test_a_fifo_in_place_of_the_file_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "all_patches.hdf5")
    with pytest.raises(ReadError, match=r"not a regular file|FIFO"):
        hdf5.rows(tmp_path / "all_patches.hdf5", "ct_slices")


def test_show_and_the_site_say_the_examples_are_rows() -> None:
    from covidct.render.text import layout_lines

    card = _card(label={"dataset": "nodules/slice_class"})
    text = "\n".join(layout_lines(card.configs[0].layout, ""))
    assert "rows of dataset ct_slices" in text and "row of HDF5 dataset nodules/slice_class" in text
    need("jinja2")
    from covidct.site.sections import PageContext, dataset_markdown

    page = dataset_markdown(PageContext(card=card, cards={card.id: card}, page_url=lambda o: None))
    assert "one example per row of dataset ct_slices" in page
    assert "row of HDF5 dataset <code>nodules/slice_class</code>" in page
