"""COVID-CTset's real label tables (../shared/samples/covid-ctset) join synthesized 16-bit TIFFs of the same names.

The registry card's `folds` config is used as is: all.csv gives the class, Patient_details.csv the
patient's sex and age, fold CSVs (made here from real all.csv rows) the splits. Pixel values above 255
must survive.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.samples


def test_real_tables_join_16bit_tiffs(samples_dir: Path, tmp_path: Path) -> None:
    import numpy as np
    import pandas as pd
    import tifffile

    from covidct.hf.builder import builder_for
    from covidct.hf.load import prepare
    from covidct.registry import registry

    src = samples_dir / "covid-ctset"
    card = registry().get("covid-ctset")
    data = tmp_path / "data"
    data.mkdir()
    shutil.copyfile(src / "all.csv", data / "all.csv")
    shutil.copyfile(src / "Patient_details.csv", data / "Patient_details.csv")
    allcsv = pd.read_csv(src / "all.csv", dtype=str)
    details = pd.read_csv(src / "Patient_details.csv", dtype=str).set_index("Patient ID")
    picked = pd.concat([allcsv[allcsv["class"] == c].iloc[::997].head(5) for c in ("covid", "normal")])
    pixels: dict[str, Any] = {}
    for i, name in enumerate(picked["filename"]):
        arr = (np.arange(512 * 512, dtype=np.uint32).reshape(512, 512) * 7 + i * 13) % 4900
        arr = arr.astype(np.uint16)
        tifffile.imwrite(data / name, arr)
        pixels[name] = arr
    (data / "CSV").mkdir()
    train, test = picked.iloc[::2], picked.iloc[1::2]
    train.to_csv(data / "CSV" / "train1.csv", index=False)
    test.to_csv(data / "CSV" / "test1.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = prepare(builder_for(card, "folds", data_dir=data, cache_dir=tmp_path / "cache"))
    assert list(ds) == ["fold1_train", "fold1_test"]
    assert (len(ds["fold1_train"]), len(ds["fold1_test"])) == (len(train), len(test))
    cfg = card.config("folds")
    label_map = cfg.layout.labels["label"].map
    for split, part in (("fold1_train", train), ("fold1_test", test)):
        d = ds[split]
        expected = dict(zip(part["filename"], part["class"], strict=True))
        for ex in d:
            name = ex["path"]
            assert d.features["label"].int2str(ex["label"]) == label_map[expected[name]]
            patient = name.split("_")[1]
            assert ex["patient_id"] == patient
            assert ex["sex"] == details.loc[patient, "SEX"]
            assert ex["age"] == details.loc[patient, "AGE"]
            im = ex["image"]
            assert im.mode.startswith("I;16")
            arr = np.asarray(im)
            assert arr.max() > 255
            assert np.array_equal(arr.astype(np.uint16), pixels[name])
