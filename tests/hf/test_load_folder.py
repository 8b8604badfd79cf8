"""covidct.load_dataset accepts a folder holding a card (as a Hub folder with a loading script would)."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest

pytest.importorskip("datasets")

CARD = Path(__file__).resolve().parents[1] / "samples" / "test_pydicom_ct.py"


def test_folder_with_card_yaml(tmp_path: Path) -> None:
    import importlib.util

    from pydicom.data import get_testdata_file

    import covidct

    spec = importlib.util.spec_from_file_location("pydicom_card", CARD)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    folder = tmp_path / "hub" / "covidct" / "pydicom-ct"
    folder.mkdir(parents=True)
    (folder / "card.yaml").write_text(mod.CARD)
    data = tmp_path / "data"
    data.mkdir()
    shutil.copyfile(get_testdata_file("CT_small.dcm", download=False), data / "CT_small.dcm")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = covidct.load_dataset(str(folder), data_dir=data, cache_dir=tmp_path / "cache")
    assert list(ds) == ["train"] and ds["train"].num_rows == 1
    assert ds["train"][0]["path"] == "CT_small.dcm"


def test_split_by_patient_through_the_public_api(tmp_path: Path) -> None:
    import covidct
    from covidct.fixtures import synthesize
    from covidct.registry import registry

    card = registry().get("cncb")
    synthesize(card, "classification", tmp_path / "data", per_class=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = covidct.load_dataset("covidct/cncb", "classification", data_dir=tmp_path / "data",
                                  cache_dir=tmp_path / "cache", split_by="patient", test_size=0.3, seed=1)
    assert list(ds) == ["train", "test"]
    train, test = set(ds["train"]["patient_id"]), set(ds["test"]["patient_id"])
    assert train and test and not train & test
    assert ds["train"].num_rows + ds["test"].num_rows == 9
