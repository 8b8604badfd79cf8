"""The real COVID-CT-MD sample (../shared/samples/covid-ct-md) loads through the registry card.

P002's slices come in SliceLocation order (descending: top of the chest first) and its slice-level
labels are the NPY row of Index.csv row 1, at the right positions; normal002 has no labels (unknown).
"""

from __future__ import annotations

import os
import random
import shutil
import warnings
from pathlib import Path
from typing import Any

import pytest

from conftest import need

pytestmark = pytest.mark.samples


@pytest.fixture(scope="module")
def ctmd(samples_dir: Path) -> Path:
    d = samples_dir / "covid-ct-md"
    if not (d / "COVID-19 subjects" / "P002").is_dir():
        pytest.fail(f"the COVID-CT-MD sample is incomplete at {d}")
    need("pydicom")
    need("pylibjpeg")
    return d


@pytest.fixture(scope="module")
def card() -> Any:
    from covidct.registry import registry

    return registry().get("covid-ct-md")


def _truth(ctmd: Path) -> tuple[list[Path], Any, Any, int]:
    """P002's files sorted by SliceLocation (descending), read with pydicom; its NPY rows."""
    import numpy as np
    import pandas as pd
    import pydicom

    files = sorted((ctmd / "COVID-19 subjects" / "P002").glob("*.dcm"))
    locs = {f: float(pydicom.dcmread(f, stop_before_pixels=True).SliceLocation) for f in files}
    ordered = sorted(files, key=lambda f: -locs[f])
    index = pd.read_csv(ctmd / "Index.csv", dtype=str)
    row = int(np.flatnonzero(index["Folder/ID"].str.strip() == "P002")[0])
    slices = np.load(ctmd / "Slice-level-labels-updated-1.npy")[row]
    lobes = np.load(ctmd / "Lobe-level-labels-updated-1.npy")[row]
    return ordered, slices, lobes, row


def _shuffled_copy(ctmd: Path, out: Path) -> Path:
    """The sample with P002's files renamed at random, so name order is not slice order."""
    out.mkdir(parents=True)
    for name in ("Index.csv", "Slice-level-labels-updated-1.npy", "Lobe-level-labels-updated-1.npy"):
        shutil.copyfile(ctmd / name, out / name)
    src = ctmd / "COVID-19 subjects" / "P002"
    dst = out / "COVID-19 subjects" / "P002"
    dst.mkdir(parents=True)
    files = sorted(src.glob("*.dcm"))
    names = [f"S{i:04d}.dcm" for i in range(len(files))]
    random.Random(7).shuffle(names)
    for f, n in zip(files, names, strict=True):
        try:
            os.link(f, dst / n)
        except OSError:
            shutil.copyfile(f, dst / n)
    return out


def test_p002_scan_in_slice_location_order_with_npy_labels(ctmd: Path, card: Any, tmp_path: Path) -> None:
    import numpy as np
    import pydicom

    from covidct.hf.builder import builder_for
    from covidct.hf.load import prepare

    ordered, slices, lobes, _row = _truth(ctmd)
    data = _shuffled_copy(ctmd, tmp_path / "data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = prepare(builder_for(card, "scan", data_dir=data, cache_dir=tmp_path / "cache"))["train"]
    assert len(ds) == 1
    ex = ds.with_format("numpy")[0]
    feats = ds.features
    vol = ex["image"]
    assert vol.shape == (len(ordered), 512, 512)
    assert feats["image"].dtype == "int16"
    # position j holds the j-th slice from the top: compare HU pixels with pydicom's, at several positions
    for j in (0, 24, 44, 66, 88, len(ordered) - 1):
        dcm = pydicom.dcmread(ordered[j])
        hu = dcm.pixel_array.astype(np.int32) * int(dcm.RescaleSlope) + int(dcm.RescaleIntercept)
        assert np.array_equal(vol[j], hu), f"slice {j} is not the {j}-th by SliceLocation"
    assert vol.min() < 0
    infection = [feats["infection"].feature.int2str(int(v)) for v in ex["infection"]]
    want = ["infection" if slices[j] else "no infection" for j in range(len(ordered))]
    names = feats["infection"].feature.names
    assert [names.index(w) for w in want] == [names.index(i) for i in infection]
    assert sum(1 for i in infection if i == "infection") == int(slices.sum()) == 68
    lobe_names = feats["lobes"].feature.feature.names
    lobe_label = next(lab for lab in card.config("scan").labels if lab.name == "lobes")
    by_value = {c.value: c.name for c in lobe_label.classes}
    got = [[lobe_names[int(k)] for k in row] for row in ex["lobes"]]
    assert got == [[by_value[k] for k in np.flatnonzero(lobes[j])] for j in range(len(ordered))]
    assert ex["patient_id"] == "P002"


def test_slice_examples_and_unlabelled_normal(ctmd: Path, card: Any, tmp_path: Path) -> None:
    from covidct.layout import make_plan

    _ordered, slices, _lobes, _row = _truth(ctmd)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = make_plan(card, "slice", [ctmd])
    recs = list(plan.records())
    p002 = [r for r in recs if r.patient == "P002"]
    assert sorted(r.slice_index for r in p002) == list(range(len(p002)))
    for r in p002:
        assert r.labels["infection"] == ("infection" if slices[r.slice_index] else "no infection")
    assert sum(r.labels["infection"] == "infection" for r in p002) == 68
    normal = [r for r in recs if r.patient == "normal002"]
    assert len(normal) == 4
    assert all(r.labels["infection"] is None and r.labels["lobes"] is None for r in normal)  # unknown, not 0
    assert {r.labels["diagnosis"] for r in normal} == {"Normal"}
