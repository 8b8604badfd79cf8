"""`covidct fixture` on a hostile card: every number of the card that sizes an allocation or a loop is
capped (said in one line, "fixture capped at ...") or refused with one message, never a traceback.

Each case runs the CLI in a subprocess with a hard timeout (a regression is a timeout or a
MemoryError traceback here, not a hung test run). Elapsed times are printed (`pytest -s`); no timing
is asserted beyond the hang guard. Measured figures are in the closing note of the change.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

HANG_GUARD_S = 60
CLI = "import sys; from covidct.cli import main; sys.exit(main(sys.argv[1:]))"

from test_paths import BASE  # noqa: E402  (the small valid card of the path tests)


def _card(**changes: Any) -> dict[str, Any]:
    d = copy.deepcopy(BASE)
    d["id"] = "hostile"
    cfg = d["configs"][0]
    for key, value in changes.items():
        where = cfg["layout"] if key in ("parts", "files", "tables", "labels_from", "exclude", "fields") else cfg
        if key == "labels_from":
            where["labels"] = value
        else:
            where[key] = value
    return d


def _fixture(tmp_path: Path, data: dict[str, Any], *args: str) -> tuple[int, str, Path]:
    card = tmp_path / "hostile.yaml"
    card.write_text(yaml.safe_dump(data, sort_keys=False, default_flow_style=True, width=200), encoding="utf-8")
    out = tmp_path / "out"
    t = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-c", CLI, "fixture", str(card), "--out", str(out), *args],
                              capture_output=True, text=True, timeout=HANG_GUARD_S, cwd=tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail(f"no limit stopped it: still running after {HANG_GUARD_S} s")
    print(f"{time.perf_counter() - t:.3f} s")
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text, text
    return proc.returncode, text, out


def _sizes(out: Path) -> list[tuple[int, int]]:
    from PIL import Image

    sizes = []
    for p in sorted(out.rglob("*.png")):
        with Image.open(p) as im:
            sizes.append(im.size)
    return sizes


@pytest.mark.parametrize("side", [16_000, 60_000, 100_000])  # 100,000: the most the model allows
def test_huge_image_size_is_capped(tmp_path: Path, side: int) -> None:
    data = _card(image={"formats": ["png"], "intensity": "windowed-8bit", "size": {"min": [side, side]}})
    rc, out, folder = _fixture(tmp_path, data)
    assert rc == 0, out
    assert f"fixture capped at 1024x1024 pixels per image (the card says {side}x{side})" in out
    sizes = _sizes(folder)
    assert sizes and all(s == (1024, 1024) for s in sizes)


def test_a_thin_huge_image_keeps_its_small_side(tmp_path: Path) -> None:
    data = _card(image={"formats": ["png"], "intensity": "windowed-8bit", "size": {"min": [60_000, 3]}})
    rc, out, folder = _fixture(tmp_path, data)
    assert rc == 0 and "fixture capped at 1024x3 pixels" in out, out
    assert set(_sizes(folder)) == {(1024, 3)}


def test_many_examples_are_capped(tmp_path: Path) -> None:
    rc, out, folder = _fixture(tmp_path, _card(), "--per-class", "1000000000")
    assert rc == 0, out
    assert "fixture capped at 200 examples (the card's 1 split(s) x 2 class(es) x 1,000,000,000 per class" in out
    assert len(list(folder.rglob("*.png"))) == 200


def test_many_examples_of_large_images_shrink_the_images(tmp_path: Path) -> None:
    """200 examples of 1024x1024 would be 200 M pixels: the images get smaller, the examples stay."""
    data = _card(image={"formats": ["png"], "intensity": "windowed-8bit", "size": {"min": [1024, 1024]}})
    rc, out, folder = _fixture(tmp_path, data, "--per-class", "100")
    assert rc == 0, out
    sizes = _sizes(folder)
    assert len(sizes) == 200 and sizes[0][0] * sizes[0][1] * 200 <= 16 << 20
    assert f"fixture capped at {sizes[0][0]}x{sizes[0][1]} pixels per image (the card says 1024x1024)" in out


def test_many_classes_are_capped_in_linear_time(tmp_path: Path) -> None:
    n = 7_000
    classes = [{"name": f"c{i}", "value": i} for i in range(n)]
    data = _card(parts={"cls": {"regex": "c[0-9]+"}, "image": {"regex": "[0-9]+"}})
    data["configs"][0]["labels"][0]["classes"] = classes
    rc, out, folder = _fixture(tmp_path, data)
    assert rc == 0, out
    assert f"200 examples (the card's 1 split(s) x {n:,} class(es) x 2 per class" in out
    assert len(list(folder.rglob("*.png"))) == 200


def test_many_classes_through_a_map(tmp_path: Path) -> None:
    """The raw value of each class is found in one pass over the map, not one pass per class."""
    n = 5_000
    data = _card(parts={"cls": {"regex": "r[0-9]+"}, "image": {"regex": "[0-9]+"}},
                 labels_from={"label": {"part": "cls", "map": {f"r{i}": f"c{i}" for i in range(n)}}})
    data["configs"][0]["labels"][0]["classes"] = [{"name": f"c{i}", "value": i} for i in range(n)]
    rc, out, _folder = _fixture(tmp_path, data)
    assert rc == 0 and "200 examples" in out, out


def test_many_mask_values(tmp_path: Path) -> None:
    values = [{"value": v, "name": f"v{v}"} for v in range(0, 60_000, 9)]
    data = _card(files={"image": {"pattern": "{cls}/{image}.png", "format": "png"},
                        "mask": {"pattern": "{cls}/{image}_mask.png", "format": "png"}},
                 image={"formats": ["png"], "intensity": "windowed-8bit", "size": {"min": [16, 16]}})
    data["configs"][0]["tasks"] = ["image-segmentation"]
    data["configs"][0]["labels"].append({"name": "mask", "kind": "mask", "granularity": "pixel",
                                         "source": ["radiologists"], "mask_values": values})
    rc, out, folder = _fixture(tmp_path, data)
    assert rc == 0, out
    assert len(list(folder.rglob("*_mask.png"))) == 4


# the largest counts RE2-checked part regexes allow (1,000 positions) still make names over 255 characters
@pytest.mark.parametrize("rx", ["[0-9]{1000}", "a{200}b{200}", "x{500}|y{500}"])
def test_part_values_longer_than_a_file_name_are_refused(tmp_path: Path, rx: str) -> None:
    data = _card(parts={"cls": {"regex": "a|b"}, "image": {"regex": rx}})
    rc, out, folder = _fixture(tmp_path, data)
    assert rc == 1 and "at most 255 characters" in out, out
    assert not folder.exists()  # refused before anything is written


def test_a_regex_class_spanning_unicode_is_cheap(tmp_path: Path) -> None:
    """A class of a million characters is not expanded per character drawn; the value it yields here (a
    backslash) is refused as a path before anything is written."""
    data = _card(parts={"cls": {"regex": "a|b"}, "image": {"regex": "[\\x21-\\U0010ffff]{1,40}"}})
    rc, out, folder = _fixture(tmp_path, data, "--per-class", "50")
    assert rc == 1 and "would be written outside" in out, out
    assert not folder.exists()


def test_a_huge_class_value_in_a_multi_label_array_is_refused(tmp_path: Path) -> None:
    data = _card(
        tables={"rows": {"path": "rows.csv", "format": "csv", "column": "name", "key": "{_name}"}},
        labels_from={"label": {"part": "cls"}, "findings": {"array": "findings"}},
    )
    data["configs"][0]["layout"]["arrays"] = {"findings": {"path": "findings.npy", "row_table": "rows"}}
    data["configs"][0]["tasks"] = ["image-classification"]
    data["configs"][0]["labels"].append({"name": "findings", "kind": "multi-label", "granularity": "image",
                                         "source": ["radiologists"],
                                         "classes": [{"name": "x", "value": 0}, {"name": "y", "value": 1_000_000}]})
    rc, out, folder = _fixture(tmp_path, data)
    assert rc == 1 and "would make 1,000,001 columns; a fixture writes at most 4,096" in out, out
    assert not folder.exists()


def test_a_huge_sheet_index_is_refused(tmp_path: Path) -> None:
    data = _card(tables={"meta": {"path": "meta.xlsx", "format": "xlsx", "column": "name", "key": "{_name}",
                                  "sheet": 1000}},  # the most the model allows
                 fields={"note": {"table": "meta", "column": "note"}})
    rc, out, folder = _fixture(tmp_path, data)
    assert rc == 1 and "sheet 1,000 " in out, out
    assert not folder.exists()


def test_a_table_with_thousands_of_columns_is_refused(tmp_path: Path) -> None:
    data = _card(tables={"meta": {"path": "meta.csv", "format": "csv", "column": "name", "key": "{_name}"}},
                 fields={f"f{i}": {"table": "meta", "column": f"col{i}"} for i in range(5000)})
    rc, out, folder = _fixture(tmp_path, data)
    assert rc == 1 and "reads 5,000 columns from it; a fixture writes at most 256" in out, out
    assert not folder.exists()


def test_many_exclude_globs_write_few_files(tmp_path: Path) -> None:
    data = _card(exclude=[f"junk{i}.txt" for i in range(200)])  # the most the model allows
    rc, out, folder = _fixture(tmp_path, data)
    assert rc == 0, out
    assert len(list(folder.rglob("junk*.txt"))) == 16


def test_twenty_thousand_exclude_globs_are_refused_by_the_model(tmp_path: Path) -> None:
    """Each glob is compiled (RE2) and checked: 20,000 took 4.9 s to validate; the list is bounded instead."""
    rc, out, folder = _fixture(tmp_path, _card(exclude=[f"junk{i}.txt" for i in range(20_000)]))
    assert rc == 1 and "exclude" in out and "at most 200" in out, out
    assert not folder.exists()


def test_a_fixed_size_that_would_exceed_the_pixel_budget_is_refused(tmp_path: Path) -> None:
    """DICOM slices of a fixed 1024x1024 (the loader's Array2D expects exactly that): not shrunk, refused."""
    data = _card(files={"image": {"pattern": "{cls}/{image}.dcm", "format": "dicom"}},
                 image={"formats": ["dicom"], "intensity": "hounsfield",
                        "size": {"min": [1024, 1024], "max": [1024, 1024]}})
    rc, out, folder = _fixture(tmp_path, data, "--per-class", "100")
    assert rc == 1 and "the size the card fixes" in out and "--per-class" in out, out
    assert not folder.exists()
    rc, out, _folder = _fixture(tmp_path, data)  # the default miniature fits
    assert rc == 0 and "capped" not in out, out


def test_a_deep_volume_is_capped(tmp_path: Path) -> None:
    data = _card(files={"image": {"pattern": "{cls}/{image}.nii.gz", "format": "nifti"}},
                 image={"formats": ["nifti"], "intensity": "hounsfield", "size": {"min": [64, 64, 100_000]}})
    data["configs"][0]["dimensionality"] = "3D"
    data["configs"][0]["example"] = "scan"
    rc, out, folder = _fixture(tmp_path, data)
    assert rc == 0, out
    import nibabel as nib

    shapes = {nib.load(p).shape for p in folder.rglob("*.nii.gz")}
    assert shapes == {(64, 64, 4)}
