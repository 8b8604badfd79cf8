"""Sharded generation (issue 15): ``num_proc`` prepares in parallel and writes the rows of one process, in order."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

datasets = pytest.importorskip("datasets")

from covidct.fixtures import synthesize  # noqa: E402
from covidct.hf.builder import builder_for  # noqa: E402
from covidct.hf.load import load_dataset, prepare  # noqa: E402
from covidct.layout.plan import make_plan  # noqa: E402
from covidct.layout.walk import LayoutError  # noqa: E402
from covidct.registry import registry  # noqa: E402

CASES = [  # (card, config, split_by): slices ordered by a DICOM tag, whole DICOM scans, PNG slices re-split by patient
    ("covid-ct-md", "slice", None),
    ("covid-ct-md", "scan", None),
    ("cncb", "classification", "patient"),
]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    out = {}
    for card_id, config, _ in CASES:
        folder = tmp_path_factory.mktemp(f"{card_id}-{config}")
        synthesize(registry().get(card_id), config, folder, per_class=3)
        out[card_id, config] = folder
    return out


def _load(card_id: str, config: str, folder: Path, cache: Path, split_by: str | None, num_proc: int | None) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a fixture's counts differ from the card's
        return load_dataset(card_id, config, data_dir=folder, cache_dir=cache, split_by=split_by, test_size=0.4,
                            num_proc=num_proc)


def _rows(ds: Any) -> dict[str, list[dict[str, Any]]]:
    return {split: ds[split].to_list() for split in ds}


@pytest.mark.parametrize(("card_id", "config", "split_by"), CASES)
def test_two_processes_write_the_rows_of_one(data: dict[tuple[str, str], Path], tmp_path: Path, card_id: str,
                                            config: str, split_by: str | None) -> None:
    folder = data[card_id, config]
    one = _load(card_id, config, folder, tmp_path / "one", split_by, None)
    two = _load(card_id, config, folder, tmp_path / "two", split_by, 2)
    assert list(one) == list(two)
    assert _rows(one) == _rows(two)  # every column, row for row, in the same order
    for split in two:  # and the work was shared: one file per process, not a fall back to one process
        assert len(two[split].cache_files) == 2, (split, two[split].cache_files)


def test_the_cache_of_a_parallel_preparation_is_reused(data: dict[tuple[str, str], Path], tmp_path: Path) -> None:
    folder = data["covid-ct-md", "slice"]
    first = _load("covid-ct-md", "slice", folder, tmp_path / "c", None, 2)
    again = _load("covid-ct-md", "slice", folder, tmp_path / "c", None, None)
    assert again["train"].cache_files == first["train"].cache_files
    (folder / "extra").mkdir(exist_ok=True)  # a change of the data prepares again (the signature), in shards too
    victim = sorted(folder.rglob("*.dcm"))[0]
    moved = victim.parent / "extra.dcm"
    try:
        victim.rename(moved)
        changed = _load("covid-ct-md", "slice", folder, tmp_path / "c", None, 2)
        assert changed["train"].cache_files != first["train"].cache_files
        assert "extra.dcm" in {Path(p).name for p in changed["train"]["path"]}
    finally:
        moved.rename(victim)
        (folder / "extra").rmdir()


@pytest.mark.parametrize(("card_id", "config", "split_by"), CASES)
def test_shards_are_whole_scans_that_add_up_to_one_pass(data: dict[tuple[str, str], Path], card_id: str,
                                                       config: str, split_by: str | None) -> None:
    card = registry().get(card_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = make_plan(card, config, [data[card_id, config]])
    if split_by:
        plan.resplit(split_by, 0.4, 0)
    for split in plan.splits:
        whole = [(r.key, r.split, r.slice_index) for r in plan.records(split)]
        for n in (1, 2, 3, 4, 7, 64):
            ranges = plan.shard_ranges(split, n)
            assert 1 <= len(ranges) <= n
            assert [a for a, _ in ranges][1:] == [b for _, b in ranges][:-1]  # contiguous, in order
            assert ranges[0][0] == 0 and ranges[-1][1] == len(plan.groups)
            shards = plan.shards(split, n)
            assert [s.groups for s in shards] == [plan.groups[a:b] for a, b in ranges]
            parts = [[(r.key, r.split, r.slice_index) for r in s.records(split)] for s in shards]
            assert [x for p in parts for x in p] == whole
            if len(plan.groups) >= n:
                assert all(parts), (n, ranges)  # no empty shard while there are scans to give
            scans = [{r.scan for r in s.records(split)} for s in shards]
            for i, a in enumerate(scans):  # a scan lies in one shard
                assert not any(a & b for b in scans[i + 1:])


def test_shards_are_balanced_by_files(tmp_path: Path) -> None:
    """8 scans of 3 slices and 1 of 12: the big scan gets a shard of its own, the others share evenly."""
    from covidct.layout.plan import Plan

    card = registry().get("covid-ct-md")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synthesize(card, "slice", tmp_path / "d", per_class=3)
        plan: Plan = make_plan(card, "slice", [tmp_path / "d"])
    sizes = [len(g.members) for g in plan.groups]
    assert sizes == [3] * 9
    plan.groups[4].members = plan.groups[4].members * 4  # a scan of 12 slices (the same files: only counted)
    assert plan.shard_ranges("train", 3) == [(0, 4), (4, 5), (5, 9)]  # 12 files each
    assert plan.shard_ranges("train", 2) == [(0, 4), (4, 9)]  # 12 and 24: the big scan is not cut


@pytest.mark.parametrize(("card_id", "config"), [("4d-lung", "default"), ("covid-ct-md", "slice")])
def test_a_shard_carries_only_its_own_part_of_the_plan(tmp_path: Path, card_id: str, config: str) -> None:
    """What a worker is sent grows with its part of the data: no shard carries the card (the worker has it), the
    header values of the other scans (4d-lung orders and filters by DICOM headers) nor the tables and caches of
    planning (covid-ct-md)."""
    import pickle

    from covidct.layout.plan import PlanPart

    card = registry().get(card_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synthesize(card, config, tmp_path / "d", per_class=6)
        plan = make_plan(card, config, [tmp_path / "d"])
    split = plan.splits[0]
    parts = plan.parts(split, 64)
    assert len(parts) == len(plan.groups) >= 12
    assert any(p.header_metas for p in parts) == (card_id == "4d-lung")
    empty = len(pickle.dumps(PlanPart(plan.roots, [], plan.splits, plan.reported_elsewhere, plan.data_signature, {})))
    data = len(pickle.dumps((plan.groups, plan.header_metas)))  # what all the parts hold together, and no card
    # each part's pickle spells out again the names one pickle of the whole writes once: hence 2x, not k x
    assert sum(len(pickle.dumps(p)) for p in parts) <= 2 * data + len(parts) * empty
    sent = [pickle.loads(pickle.dumps(p)).plan(card, plan.config) for p in parts]  # as a worker gets them
    assert [r for s in sent for r in s.records(split)] == list(plan.records(split))


def test_dill_passes_a_shard_whole(data: dict[tuple[str, str], Path]) -> None:
    """datasets sends gen_kwargs to its workers with dill, whose pickler is Python: it must not walk a shard's
    slices one object at a time (1.7 s at 6,000 slices, before the last worker could start)."""
    import io

    import dill

    from covidct.hf.builder import PickledShard

    def saves(obj: Any) -> int:
        count = 0

        class Counting(dill.Pickler):  # type: ignore[misc]
            def save(self, o: Any, save_persistent_id: bool = True) -> None:
                nonlocal count
                count += 1
                super().save(o, save_persistent_id)

        Counting(io.BytesIO()).dump(obj)
        return count

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = make_plan(registry().get("covid-ct-md"), "slice", [data["covid-ct-md", "slice"]])
    one, whole = PickledShard(plan.parts("train", 9)[0]), PickledShard(plan.parts("train", 1)[0])
    assert len(whole.data) > 5 * len(one.data)  # 27 slices pickled, not 3
    assert saves(one) == saves(whole)  # the same few objects for 3 slices or 27
    assert list(whole.plan(plan.card, plan.config).records("train")) == list(plan.records("train"))


def test_shard_count_is_a_multiple_of_the_processes() -> None:
    from covidct.hf.builder import _shard_count

    assert [_shard_count(p) for p in (None, 1, 2, 3, 4, 6, 8, 100)] == [64, 64, 64, 66, 64, 66, 64, 100]


def test_an_error_in_a_worker_is_the_same_message(tmp_path: Path) -> None:
    card = registry().get("covid-ct-md")
    synthesize(card, "scan", tmp_path / "d", per_class=3)
    last = sorted((tmp_path / "d").rglob("*.dcm"))[-1]
    last.write_bytes(last.read_bytes()[:400])  # a cut slice: the scan's slices cannot be ordered
    messages = []
    for num_proc in (None, 2):
        with pytest.raises(LayoutError) as err:
            _load("covid-ct-md", "scan", tmp_path / "d", tmp_path / f"c{num_proc}", None, num_proc)
        messages.append(str(err.value))
    assert messages[0] == messages[1] and "cannot be ordered" in messages[0]


def test_a_stream_has_shards_for_its_readers(data: dict[tuple[str, str], Path], tmp_path: Path) -> None:
    folder = data["covid-ct-md", "slice"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        builder = builder_for("covid-ct-md", "slice", data_dir=folder, cache_dir=tmp_path / "c")
        stream = prepare(builder, split="train", streaming=True)
        rows = [r["path"] for r in stream]
        want = [r.path for r in make_plan(registry().get("covid-ct-md"), "slice", [folder]).records("train")]
    assert stream.num_shards == 9  # one per scan here (fewer scans than shards)
    assert rows == want


# ------------------------------------------------------------------------------ exports for parallel readers

def test_default_shard_count_is_a_multiple_of_common_worker_counts() -> None:
    from covidct.hf.export import shard_count

    mb = 1 << 20
    assert shard_count(rows=411_529, size=200_000 * mb, max_shard_size=500 * mb) == 400  # 400 files of 500 MB
    assert shard_count(rows=411_529, size=201_000 * mb, max_shard_size=500 * mb) == 408  # not 403: a multiple of 8
    assert shard_count(rows=1_000, size=10 * mb, max_shard_size=500 * mb) == 8  # small, still 8 readers' worth
    assert [shard_count(rows=r, size=mb, max_shard_size=500 * mb) for r in (0, 1, 2, 3, 5, 7, 8)] == [1, 1, 2, 2, 4,
                                                                                                       4, 8]


def _export(tmp_path: Path, folder: Path, num_shards: int | None = None) -> Path:
    from covidct.hf.export import export

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export(registry().get("covid-ct-md"), {"slice": folder}, tmp_path / "hub", configs=["slice"],
               num_shards=num_shards, allow_unknown_license=True)
    return tmp_path / "hub" / "covidct" / "covid-ct-md"


def _stock(folder: Path, cache: Path, **kw: Any) -> Any:
    datasets.disable_progress_bars()
    return datasets.load_dataset(str(folder), "slice", cache_dir=str(cache), **kw)


@pytest.mark.parametrize("num_shards", [None, 6])
def test_exported_shards_split_evenly_between_nodes(data: dict[tuple[str, str], Path], tmp_path: Path,
                                                    num_shards: int | None) -> None:
    """27 rows: 8 files by default (a multiple of 8), 6 with --num-shards 6; 2 and 4 (or 2 and 3) nodes of a
    stream get equal shares, and the files in order hold the rows of the prepared dataset in order."""
    from datasets.distributed import split_dataset_by_node

    folder = _export(tmp_path, data["covid-ct-md", "slice"], num_shards)
    files = sorted((folder / "data" / "slice").glob("train-*.parquet"))
    n = num_shards or 8
    assert [f.name for f in files] == [f"train-{k:05d}-of-{n:05d}.parquet" for k in range(n)]
    stream = _stock(folder, tmp_path / "s", streaming=True)["train"]
    assert stream.num_shards == n
    for world in ((2, 4) if n == 8 else (2, 3)):
        shares = [[r["path"] for r in split_dataset_by_node(stream, rank=r, world_size=world)] for r in range(world)]
        assert max(map(len, shares)) - min(map(len, shares)) <= 1, (world, list(map(len, shares)))
        assert sorted(p for s in shares for p in s) == sorted(r["path"] for r in stream)
    exported = _stock(folder, tmp_path / "c")["train"]
    prepared = _load("covid-ct-md", "slice", data["covid-ct-md", "slice"], tmp_path / "p", None, None)["train"]
    assert exported["path"] == prepared["path"]  # the order of the rows is kept
    assert exported.features == prepared.features  # the features stored in the Parquet metadata survive


def test_row_groups_are_sized_for_image_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from covidct.hf import export as ex

    rows = [{"image": {"bytes": bytes([i]) * 1000, "path": None}, "n": i} for i in range(50)]
    src = [tmp_path / "a.parquet", tmp_path / "b.parquet"]
    meta = {b"huggingface": b'{"info": {}}'}
    pq.write_table(pa.Table.from_pylist(rows[:17]).replace_schema_metadata(meta), src[0], row_group_size=5)
    pq.write_table(pa.Table.from_pylist(rows[17:]).replace_schema_metadata(meta), src[1], row_group_size=7)
    avg = sum(pq.ParquetFile(p).metadata.row_group(i).total_byte_size for p in src
              for i in range(pq.ParquetFile(p).num_row_groups)) / 50  # bytes of a row in memory
    monkeypatch.setattr(ex, "ROW_GROUP_BYTES", int(4.5 * avg))  # 4 rows per group
    out = tmp_path / "out"
    out.mkdir()
    files = ex.write_shards(src, out, "train", 4, 1 << 30)
    assert [pq.ParquetFile(f).metadata.num_rows for f in files] == [13, 13, 12, 12]
    groups = [[pq.ParquetFile(f).metadata.row_group(i).num_rows for i in range(pq.ParquetFile(f).num_row_groups)]
              for f in files]
    assert groups == [[4, 4, 4, 1], [4, 4, 4, 1], [4, 4, 4], [4, 4, 4]]
    monkeypatch.setattr(ex, "ROW_GROUP_BYTES", int(avg / 3))  # a row larger than a group (a CT volume): one a group
    one = tmp_path / "one"
    one.mkdir()
    files_one = ex.write_shards(src, one, "train", 1, 1 << 30)
    assert [pq.ParquetFile(files_one[0]).metadata.row_group(i).num_rows for i in range(50)] == [1] * 50
    assert [r["n"] for f in files for r in pq.read_table(f).to_pylist()] == list(range(50))
    assert all(pq.read_schema(f).metadata == meta for f in files)
    few = tmp_path / "few"
    few.mkdir()  # more files than rows: the last are empty (each reader still gets a file) and valid
    files = ex.write_shards([src[0]], few, "test", 20, 1 << 30)
    assert [pq.ParquetFile(f).metadata.num_rows for f in files] == [1] * 17 + [0] * 3


def test_num_shards_out_of_range_is_one_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from covidct.cli import main

    assert main(["export", "covid-ct-md", "--fixture", "--config", "slice", "--out", str(tmp_path),
                 "--num-shards", "0"]) != 0
    err = capsys.readouterr().err
    assert "num_shards must be between 1 and 99,999, not 0" in err and "Traceback" not in err
