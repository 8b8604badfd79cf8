"""Every card config with a layout loads from its synthesized fixture, with the right features, counts and labels.

Parametrized over the registry, so a new card is covered as soon as it is added.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from covidct.fixtures import synthesize
from covidct.registry import registry

datasets = pytest.importorskip("datasets")

from covidct.hf.builder import builder_for  # noqa: E402
from covidct.hf.features import features_for, image_plan  # noqa: E402
from covidct.hf.load import prepare  # noqa: E402

CASES = [(cid, cfg.name) for cid, card in sorted(registry().cards().items()) for cfg in card.loadable_configs]


def _decode(feature: Any, value: Any) -> Any:
    """ClassLabel indices back to names, through lists and records (boxes, points)."""
    if value is None:
        return None
    if isinstance(feature, datasets.ClassLabel):
        return feature.int2str(value)
    if isinstance(feature, dict) and isinstance(value, dict):
        return {k: _decode(feature[k], v) for k, v in value.items()}
    inner = getattr(feature, "feature", None)
    if inner is not None and isinstance(value, list):
        return [_decode(inner, v) for v in value]
    return value


@pytest.mark.parametrize(("card_id", "config"), CASES, ids=[f"{c}/{n}" for c, n in CASES])
def test_card_loads_from_its_fixture(card_id: str, config: str, tmp_path: Any) -> None:
    datasets.disable_progress_bars()
    card = registry().get(card_id)
    cfg = card.config(config)
    manifest = synthesize(card, cfg, tmp_path / "data")
    assert manifest.examples, "the fixture has no example"
    for name, vf in cfg.layout.labels.items():
        if vf.columns is not None:  # boxes/points: the fixture has examples without records and with several
            sizes = {len(e.labels[name]) for e in manifest.examples}
            assert 0 in sizes and max(sizes) >= 2, f"label {name}: records per example {sorted(sizes)}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # counts of a miniature copy differ from the card's, by design
        ds = prepare(builder_for(card, config, data_dir=tmp_path / "data", cache_dir=tmp_path / "cache"))
    # splits and example counts
    assert list(ds) == manifest.splits
    assert {s: len(ds[s]) for s in ds} == {s: manifest.count(s) for s in manifest.splits}
    feats = features_for(card, cfg)
    masks = [r for r in cfg.layout.files if r != "image"]
    for split in ds:
        assert ds[split].features == feats
        heavy = ["image", *masks]
        rows = {r["path"]: r for r in ds[split].remove_columns(heavy).to_list()}
        for exp in manifest.examples:
            if exp.split != split:
                continue
            row = rows[exp.path]
            if exp.patient is not None:
                assert row["patient_id"] == exp.patient
            for name, want in exp.labels.items():
                assert _decode(feats[name], row[name]) == want, f"{exp.path}: label {name}"
        # the image decodes, losslessly typed
        first = ds[split].with_format("arrow")[0]
        assert first.column("image")[0].is_valid
        ip = image_plan(cfg)
        sample = ds[split][0]["image"]
        if ip.kind == "raster":
            if max(cfg.image.bit_depth or [8]) > 8 and cfg.layout.files["image"].format.value in ("png", "tiff"):
                assert sample.mode.startswith("I")
        else:
            import numpy as np

            arr = np.asarray(sample)
            assert arr.ndim == ip.ndim
            if cfg.image.intensity.value in ("hounsfield", "stored-with-rescale"):
                assert arr.min() < 0  # Hounsfield units stay signed
