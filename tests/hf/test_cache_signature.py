"""The cache key follows the data folder: a changed file, table, split list or array prepares again;
files no pattern reads do not; preparing again by force works when the split sizes changed."""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layout"))
from cardkit import CLASS_LABEL, make_card, png

datasets = pytest.importorskip("datasets")

from covidct.hf.builder import builder_for  # noqa: E402
from covidct.hf.load import prepare  # noqa: E402

LAYOUT = {
    "parts": {"cls": {"regex": "covid|normal"}, "f": {"regex": "[a-z0-9]+"}},
    "files": {"image": {"pattern": "img/{cls}/{f}.png", "format": "png"}},
    "tables": {"meta": {"path": "meta.csv", "format": "csv", "column": "name", "key": "{f}"}},
    "labels": {"label": {"part": "cls"}},
    "fields": {"note": {"table": "meta", "column": "note"}},
    "splits": {"lists": {"train": ["train.txt"], "test": ["test.txt"]}, "key": "{f}"},
}


def _data(root: Path, names: dict[str, str]) -> Path:
    """``names``: file stem → class; the first goes to test, the rest to train; one note per file."""
    for i, (f, cls) in enumerate(names.items()):
        png(root / "img" / cls / f"{f}.png", value=i)
    _table(root, {f: f"note {f}" for f in names})
    stems = list(names)
    (root / "test.txt").write_text(stems[0] + "\n")
    (root / "train.txt").write_text("\n".join(stems[1:]) + "\n")
    return root


def _table(root: Path, notes: dict[str, str]) -> None:
    (root / "meta.csv").write_text("name,note\n" + "".join(f"{f},{n}\n" for f, n in notes.items()))


def _card() -> Any:
    return make_card(LAYOUT, [CLASS_LABEL])


def _load(card: Any, data: Path, cache: Path, config: str | None = None, **kw: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return prepare(builder_for(card, config, data_dir=data, cache_dir=cache), **kw)


def _rows(ds: Any) -> dict[str, list[tuple[str, str | None]]]:
    return {s: sorted(zip(ds[s]["path"], ds[s]["note"], strict=True)) for s in ds}


BASE = {"a": "covid", "b": "covid", "c": "normal"}


@pytest.fixture
def folder(tmp_path: Path) -> tuple[Any, Path, Path]:
    return _card(), _data(tmp_path / "data", BASE), tmp_path / "cache"


def _key(card: Any, data: Path, cache: Path) -> str:
    return builder_for(card, data_dir=data, cache_dir=cache).cache_dir


def test_regenerated_fixture_with_more_examples_is_prepared_again(tmp_path: Path) -> None:
    """The reported case: a fixture written again with more examples; the old rows came back."""
    from covidct.fixtures import synthesize
    from covidct.registry import registry

    card = registry().get("cncb")
    data = tmp_path / "data"
    synthesize(card, "classification", data, per_class=1)
    assert _load(card, data, tmp_path / "cache", "classification")["train"].num_rows == 3
    shutil.rmtree(data)
    m = synthesize(card, "classification", data, per_class=3)
    again = _load(card, data, tmp_path / "cache", "classification")
    assert again["train"].num_rows == m.count() == 9


def test_a_table_edit_is_seen(folder: tuple[Any, Path, Path]) -> None:
    card, data, cache = folder
    before = _rows(_load(card, data, cache))
    _table(data, {"a": "NEW", "b": "note b", "c": "note c"})
    after = _rows(_load(card, data, cache))
    assert ("img/covid/a.png", "NEW") in after["test"] and after != before


def test_a_deleted_image_is_seen(folder: tuple[Any, Path, Path]) -> None:
    card, data, cache = folder
    assert _load(card, data, cache)["train"].num_rows == 2
    (data / "img" / "covid" / "b.png").unlink()
    assert _load(card, data, cache)["train"].num_rows == 1


def test_an_added_image_the_pattern_matches_is_seen(folder: tuple[Any, Path, Path]) -> None:
    card, data, cache = folder
    assert _load(card, data, cache)["train"].num_rows == 2
    png(data / "img" / "normal" / "d.png")
    with (data / "train.txt").open("a") as fh:
        fh.write("d\n")
    assert _load(card, data, cache)["train"].num_rows == 3


def test_an_added_image_alone_changes_the_key(folder: tuple[Any, Path, Path]) -> None:
    """Without touching the split list: the new file is matched, so the key changes."""
    card, data, cache = folder
    k1 = _key(card, data, cache)
    png(data / "img" / "normal" / "d.png")
    assert _key(card, data, cache) != k1


def test_a_split_list_edit_is_seen(folder: tuple[Any, Path, Path]) -> None:
    card, data, cache = folder
    assert _load(card, data, cache)["test"].num_rows == 1
    (data / "test.txt").write_text("a\nb\n")
    (data / "train.txt").write_text("c\n")
    ds = _load(card, data, cache)
    assert ds["test"].num_rows == 2 and ds["train"].num_rows == 1


def test_a_rewrite_with_size_and_mtime_restored_is_seen(folder: tuple[Any, Path, Path]) -> None:
    """`cp -p` / `touch -r`: same size, same mtime, other bytes. ctime still moves."""
    card, data, cache = folder
    before = _rows(_load(card, data, cache))
    table = data / "meta.csv"
    st = table.stat()
    text = table.read_text()
    table.write_text(text.replace("note a", "NOTE A"))  # same length
    os.utime(table, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert table.stat().st_size == st.st_size and table.stat().st_mtime_ns == st.st_mtime_ns
    after = _rows(_load(card, data, cache))
    assert ("img/covid/a.png", "NOTE A") in after["test"] and after != before


def test_files_no_pattern_reads_leave_the_cache_alone(folder: tuple[Any, Path, Path]) -> None:
    card, data, cache = folder
    k1 = _key(card, data, cache)
    (data / "README.txt").write_text("notes of the curator\n")  # matches no pattern
    (data / "img" / "covid" / "thumbs.db").write_bytes(b"x")  # inside a walked folder, matches nothing
    os.utime(data / "img")  # folders' own times are not part of the key
    assert _key(card, data, cache) == k1


def test_the_same_data_reuses_the_cache(folder: tuple[Any, Path, Path]) -> None:
    card, data, cache = folder
    b1 = builder_for(card, data_dir=data, cache_dir=cache)
    prepare(b1)
    b2 = builder_for(card, data_dir=data, cache_dir=cache)
    assert b2.cache_dir == b1.cache_dir and os.path.isdir(b2.cache_dir)


def test_force_prepares_again_when_split_sizes_changed(folder: tuple[Any, Path, Path]) -> None:
    """Forcing a builder whose cache recorded other split sizes (datasets restores them as expectations)."""
    card, data, cache = folder
    b = builder_for(card, data_dir=data, cache_dir=cache)
    assert prepare(b)["train"].num_rows == 2
    png(data / "img" / "normal" / "d.png")
    with (data / "train.txt").open("a") as fh:
        fh.write("d\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = prepare(b, download_mode="force_redownload")
    assert ds["train"].num_rows == 3


def test_force_on_a_cache_whose_key_could_not_see_the_change(folder: tuple[Any, Path, Path],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A change the signature cannot see: a new builder on the same key restores the old info from the
    cache; `force_redownload` must still prepare the new data."""
    from covidct.layout.plan import FoundFiles

    monkeypatch.setattr(FoundFiles, "signature", lambda self: "blind")
    card, data, cache = folder
    assert _load(card, data, cache)["train"].num_rows == 2
    png(data / "img" / "normal" / "d.png")
    with (data / "train.txt").open("a") as fh:
        fh.write("d\n")
    assert _load(card, data, cache)["train"].num_rows == 2  # the key is blind: the cache is reused
    assert _load(card, data, cache, download_mode="force_redownload")["train"].num_rows == 3
    assert _load(card, data, cache)["train"].num_rows == 3


def test_cli_force_after_regenerating(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from covidct.cli import main

    data, cache = tmp_path / "data", tmp_path / "cache"
    assert main(["fixture", "cncb", "--config", "classification", "--out", str(data), "--per-class", "1"]) == 0
    assert main(["load", "cncb", "classification", "--data-dir", str(data), "--cache-dir", str(cache)]) == 0
    shutil.rmtree(data)
    assert main(["fixture", "cncb", "--config", "classification", "--out", str(data), "--per-class", "2"]) == 0
    capsys.readouterr()
    for extra in ([], ["--force"]):
        assert main(["load", "cncb", "classification", "--data-dir", str(data), "--cache-dir", str(cache),
                     *extra]) == 0
        out = capsys.readouterr().out
        assert "num_rows: 6" in out, out


def test_the_walk_behind_the_key_is_the_walk_the_plan_uses(folder: tuple[Any, Path, Path],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """One walk per load: the builder's walk (made for the key) is handed to the plan."""
    from covidct.layout import walk

    card, data, cache = folder
    calls = []
    real = walk.Walker.find

    def find(self: Any, roots: list[str]) -> Any:
        calls.append(roots)
        return real(self, roots)

    monkeypatch.setattr(walk.Walker, "find", find)
    _load(card, data, cache)
    assert len(calls) == 1


def test_earlier_states_of_the_data_are_removed(folder: tuple[Any, Path, Path]) -> None:
    """Each change of the data makes a new cache folder; the superseded one is deleted, not left to pile up."""
    card, data, cache = folder
    b1 = builder_for(card, data_dir=data, cache_dir=cache)
    prepare(b1)
    png(data / "img" / "normal" / "d.png")
    b2 = builder_for(card, data_dir=data, cache_dir=cache)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepare(b2)
    assert os.path.dirname(b1.cache_dir) == os.path.dirname(b2.cache_dir)  # same card, config and options
    assert os.path.isdir(b2.cache_dir) and not os.path.exists(b1.cache_dir)
    other = builder_for(card, data_dir=data, cache_dir=cache, split_by="example")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepare(other)  # other options: another folder, left alone by the first and leaving it alone
    assert os.path.isdir(b2.cache_dir) and os.path.isdir(other.cache_dir)


def test_a_missing_data_folder_reuses_what_was_prepared_from_it(tmp_path: Path) -> None:
    """``embed=True`` keeps the bytes in the cache, so the dataset outlives its data folder."""
    from covidct.layout.plan import LayoutWarning

    card, data, cache = _card(), _data(tmp_path / "data", BASE), tmp_path / "cache"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = prepare(builder_for(card, data_dir=data, cache_dir=cache, embed=True))
    shutil.rmtree(data)
    with pytest.warns(LayoutWarning, match="L510 the data folder .* is missing; using the dataset prepared"):
        b = builder_for(card, data_dir=data, cache_dir=cache, embed=True)
    again = prepare(b)
    assert again["train"].num_rows == ds["train"].num_rows == 2
    assert again["train"][0]["image"].size == (8, 8)
