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
    assert stream.num_shards == 9  # one per scan here (fewer scans than shards)
    assert rows == [r.path for r in make_plan(registry().get("covid-ct-md"), "slice", [folder]).records("train")]
