"""`load_dataset(..., split_by=..., manifests=[...])`: a group of duplicates never crosses the new split."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from conftest import need

need("imagehash")
need("pyarrow")

from fpsynth import ct_slice, lung_window, save_png  # noqa: E402

from covidct.cli import main  # noqa: E402
from covidct.fingerprint.manifest import card_sources, fingerprint  # noqa: E402
from covidct.fingerprint.split import SplitLinkError, example_links  # noqa: E402
from covidct.layout.plan import LayoutWarning, make_plan  # noqa: E402
from covidct.registry import load_card  # noqa: E402


@pytest.fixture
def leaky(tmp_path: Path) -> tuple[Path, Path, list[tuple[str, str]]]:
    """covid-ct's fixture with distinct images, two of which are near copies of others; and its manifest."""
    from PIL import Image

    data = tmp_path / "covid-ct"
    assert main(["fixture", "covid-ct", "--out", str(data)]) == 0
    pngs = sorted(data.glob("CT_*/*.png"))
    for n, p in enumerate(pngs):
        save_png(p, lung_window(ct_slice(300 + n)))
    # a resized copy and a re-saved copy: other files, the same image
    a = np.asarray(Image.open(pngs[0]))
    Image.fromarray(a).resize((200, 200), Image.Resampling.LANCZOS).save(pngs[5])
    Image.fromarray(np.asarray(Image.open(pngs[1]))).save(pngs[8], compress_level=1)
    card = load_card("covid-ct")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayoutWarning)
        source = card_sources(card, card.config(None), data)
    manifest = tmp_path / "covid-ct.parquet"
    fingerprint(source, manifest, jobs=1, progress=False)
    rel = [str(p.relative_to(data)) for p in pngs]
    return data, manifest, [(rel[0], rel[5]), (rel[1], rel[8])]


def _split_of(data: Path, seed: int, links: list[tuple[str, str]]) -> dict[str, str]:
    card = load_card("covid-ct")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayoutWarning)
        plan = make_plan(card, None, [data])
    plan.resplit("example", 0.5, seed, links)
    return {r.key: r.split for r in plan.records()}


def test_duplicates_stay_on_one_side_of_a_new_split(leaky: tuple[Path, Path, list[tuple[str, str]]]) -> None:
    data, manifest, planted = leaky
    links = example_links([manifest], "covid-ct", "default")
    linked = {frozenset(p) for p in links}
    for a, b in planted:
        assert frozenset((a, b)) in linked
    separated_without = 0
    for seed in range(12):
        with_links = _split_of(data, seed, links)
        assert all(with_links[a] == with_links[b] for a, b in planted), seed
        without = _split_of(data, seed, [])
        separated_without += any(without[a] != without[b] for a, b in planted)
    assert separated_without > 0  # without the manifest, a random split does separate them


def test_links_need_a_manifest_of_the_config(leaky: tuple[Path, Path, list[tuple[str, str]]],
                                             tmp_path: Path) -> None:
    _data, manifest, _ = leaky
    with pytest.raises(SplitLinkError, match="covidct fingerprint cncb"):
        example_links([manifest], "cncb", "classification")


def test_load_dataset_with_manifests(leaky: tuple[Path, Path, list[tuple[str, str]]], tmp_path: Path) -> None:
    need("datasets")
    import covidct
    from covidct.hf.builder import DataError

    data, manifest, _planted = leaky
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = covidct.load_dataset("covid-ct", data_dir=data, split_by="example", test_size=0.5, seed=3,
                                  manifests=[manifest], cache_dir=tmp_path / "cache")
    replaced = [str(w.message) for w in caught if " L508 " in str(w.message)]  # the card has official splits
    assert replaced and "split_by='example' replaces them" in replaced[0], [str(w.message) for w in caught]
    assert set(ds) == {"train", "test"}
    assert sum(len(d) for d in ds.values()) == 12
    with pytest.raises(DataError, match="goes with split_by"):
        covidct.load_dataset("covid-ct", data_dir=data, manifests=[manifest], cache_dir=tmp_path / "cache")
    with pytest.raises(DataError, match="does not exist"):
        covidct.load_dataset("covid-ct", data_dir=data, split_by="patient", manifests=[tmp_path / "nope.parquet"],
                             cache_dir=tmp_path / "cache")
