"""covidct.ray: the same rows in Ray Data (a local instance with 2 CPUs) as covidct.load_dataset gives in one process.

One Ray instance serves the module (starting one takes seconds) and the tests are few: under
``pytest -n 2`` at most each xdist worker that runs one of them starts its own.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from conftest import need
from covidct.fixtures import synthesize
from covidct.registry import registry

datasets = pytest.importorskip("datasets")
np = pytest.importorskip("numpy")

pytestmark = pytest.mark.slow

LOADABLE = [(cid, cfg.name) for cid, card in sorted(registry().cards().items()) for cfg in card.loadable_configs]


@pytest.fixture(scope="module")
def ray_local() -> Any:
    ray = need("ray")
    need("ray.data")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, object_store_memory=200 * 2**20, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield ray
    if started:
        ray.shutdown()


def _quiet_load(*args: Any, **kwargs: Any) -> Any:
    from covidct.hf.load import load_dataset

    datasets.disable_progress_bars()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a miniature's counts differ from the card's, by design
        return load_dataset(*args, **kwargs)


def _by_path(rows: Any) -> dict[str, dict[str, Any]]:
    out = {}
    for r in rows:
        assert r["path"] not in out, f"two rows with path {r['path']}"
        out[r["path"]] = r
    return out


def _same(want: Any, got: Any, where: str) -> None:
    """One value of a load_dataset row (decoded, Python format) against the Ray row's."""
    if hasattr(want, "mode"):  # a PIL image: Ray holds its pixels
        want = np.asarray(want)
        assert isinstance(got, np.ndarray) and got.dtype == want.dtype, f"{where}: {type(got)}"
    if isinstance(got, np.ndarray):
        assert want is not None and np.array_equal(np.asarray(want), got), f"{where}: values differ"
        assert got.shape == np.asarray(want).shape, where
    else:
        assert type(got) is type(want) and got == want, f"{where}: {want!r} != {got!r}"


def _rows_equal(want: dict[str, Any], got: dict[str, Any], features: Any, where: str) -> None:
    assert list(got) == list(features), where
    for name in features:
        _same(want[name], got[name], f"{where}: {name}")


def test_every_loadable_config_gives_the_same_rows_in_ray_as_in_one_process(ray_local: Any, tmp_path: Path) -> None:
    import covidct.ray

    for cid, config in LOADABLE:
        card = registry().get(cid)
        data = tmp_path / cid / config
        synthesize(card, config, data)
        want = _quiet_load(card, config, data_dir=data, cache_dir=tmp_path / "cache")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = covidct.ray.read_dataset(card, config, data_dir=data)
        assert list(got) == list(want), f"{cid}/{config}: splits"
        for split, ds in got.items():
            hf_rows = _by_path(want[split])
            ray_rows = _by_path(ds.iter_rows())
            assert sorted(ray_rows) == sorted(hf_rows), f"{cid}/{config} {split}: example paths"
            for path, row in hf_rows.items():
                _rows_equal(row, ray_rows[path], want[split].features, f"{cid}/{config} {split} {path}")
            # array features keep the card's dtype (int16 HU, uint8...), never widened
            for name, feat in want[split].features.items():
                dtype = getattr(feat, "dtype", None)
                if isinstance(feat, (datasets.Array2D, datasets.Array3D)):
                    assert all(r[name] is None or r[name].dtype == dtype for r in ray_rows.values()), name


def test_exported_parquet_reads_with_read_parquet_and_one_decoding_line(ray_local: Any, tmp_path: Path) -> None:
    """DICOM slices (Array2D) and a raster image with its mask (Image structs): the documented line gives
    read_dataset's rows. (Each read_parquet starts a Ray actor, seconds on a busy machine: few of them.)"""
    import covidct.ray
    from covidct.hf.export import export

    ray = ray_local
    for cid, config in [("covid-ct-md", "slice"), ("cncb", "lesion-seg")]:
        card = registry().get(cid)
        data = tmp_path / cid / "data"
        synthesize(card, config, data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            export(card, {config: data}, tmp_path / cid / "hub", configs=[config], synthetic=True)
            direct = covidct.ray.read_dataset(card, config, data_dir=data)
        folder = tmp_path / cid / "hub" / "covidct" / cid
        features = datasets.load_dataset_builder(str(folder), config).info.features
        want = {p: r for ds in direct.values() for p, r in _by_path(ds.iter_rows()).items()}

        # the documented one-liner, on the config's Parquet folder
        parquet = folder / "data" / config
        ds = ray.data.read_parquet(str(parquet)).map_batches(covidct.ray.decoder(parquet), batch_format="pyarrow")
        got = _by_path(ds.iter_rows())
        assert sorted(got) == sorted(want), cid
        for path, row in want.items():
            _rows_equal(row, got[path], features, f"{cid}/{config} {path}")
    # read_dataset on an exported folder (one split): the same rows
    exported = covidct.ray.read_dataset(folder, config)
    assert list(exported) == list(direct) == ["train"]
    rows = _by_path(exported["train"].iter_rows())
    assert sorted(rows) == sorted(want)
    for path, row in want.items():
        _rows_equal(row, rows[path], features, f"exported {path}")


def test_a_file_that_cannot_be_decoded_raises_covidcts_error_from_the_ray_task(ray_local: Any, tmp_path: Path) -> None:
    import covidct.ray
    from covidct.hf.builder import DataError
    from covidct.layout.walk import LayoutError

    card = registry().get("luna16")
    synthesize(card, "default", tmp_path / "data")
    raw = sorted((tmp_path / "data").rglob("*.raw"))[0]
    raw.write_bytes(raw.read_bytes()[:30])
    split = raw.parent.name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = covidct.ray.read_dataset(card, "default", data_dir=tmp_path / "data", split=split)
        with pytest.raises(DataError, match="has no split 'nope'; its splits: subset0"):
            covidct.ray.read_dataset(card, "default", data_dir=tmp_path / "data", split="nope")
    # the dataset raises its UDF's own error; the session's setting is left alone
    assert ray_local.data.DataContext.get_current().raise_original_map_exception is False
    with pytest.raises(DataError, match="rows_per_task must be a whole number of at least 1, not 0"):
        covidct.ray.read_dataset(card, "default", data_dir=tmp_path / "data", rows_per_task=0)
    # decoding happens in a Ray task; the error that reaches the driver is covidct's, with its message
    with pytest.raises(LayoutError, match=rf"{raw.stem}\.mhd: its data file {raw.name} has 30 bytes .* truncated"):
        list(ds.iter_rows())


def test_the_decoder_refuses_a_folder_of_several_configs(tmp_path: Path) -> None:
    """One decoder has one config's features: a folder mixing configs would decode rows with the wrong ones."""
    import covidct.ray
    from covidct.hf.builder import DataError
    from covidct.hf.export import export_fixture

    export_fixture(registry().get("cncb"), tmp_path)  # lesion-seg and classification
    folder = tmp_path / "covidct" / "cncb"
    with pytest.raises(DataError, match=r"holds Parquet files of different features .* read one config's folder"):
        covidct.ray.decoder(folder)
    assert "label" in covidct.ray.decoder(folder / "data" / "classification").features
