"""pydicom's bundled real CT files decode to Hounsfield units through a card layout."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

from conftest import need

CARD = """
id: pydicom-ct
name: pydicom CT test files
summary: Real CT slices bundled with pydicom.
description: Test card.
modality: [CT]
anatomy: [chest]
license: {id: MIT, redistribution: allowed}
access: {kind: open}
last_reviewed: 2026-01-01
configs:
  - name: default
    tasks: [image-classification]
    dimensionality: 2D
    example: slice
    image: {formats: [dicom], intensity: hounsfield}
    layout:
      parts:
        name: {regex: "[^/]+"}
      files:
        image: {pattern: "{name}.dcm", format: dicom}
      scan: {part: name}
"""


def test_bundled_ct_decodes_to_hu(tmp_path: Path) -> None:
    pydicom = need("pydicom")
    import numpy as np
    from pydicom.data import get_testdata_file

    from covidct.hf.builder import builder_for
    from covidct.hf.load import load_card_file, prepare

    data = tmp_path / "data"
    data.mkdir()
    shutil.copyfile(get_testdata_file("CT_small.dcm", download=False), data / "CT_small.dcm")
    (tmp_path / "card.yaml").write_text(CARD)
    card = load_card_file(tmp_path / "card.yaml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = prepare(builder_for(card, data_dir=data, cache_dir=tmp_path / "cache"))["train"]
    ex = ds.with_format("numpy")[0]
    dcm = pydicom.dcmread(data / "CT_small.dcm")
    want = dcm.pixel_array.astype(np.int32) * int(dcm.RescaleSlope) + int(dcm.RescaleIntercept)
    assert np.array_equal(ex["image"], want)
    assert "int16" in str(ds.features["image"])  # nested List: the card gives no fixed size
    # float32, compared as float32 (NumPy 1 would widen a Python float and see 0.661468 != float32(0.661468))
    assert np.array_equal(np.asarray(ex["spacing"]), np.asarray(dcm.PixelSpacing, dtype=np.float32))
    assert ex["spacing"].dtype == np.float32
    assert "Hounsfield" in ds.info.description
