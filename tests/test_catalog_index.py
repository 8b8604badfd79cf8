"""`covidct list` and `covidct.catalog()` at scale: printed and built from the index's catalog columns,
they say exactly what the cards say without an index, after a card changed, and when the cache
cannot be written; a warm `list` loads none of the heavy libraries; its table is pandas' table."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml

import covidct.cardindex as cardindex
import covidct.registry as registry_mod
from conftest import CARDS, REPO
from covidct.catalog_filter import filter_catalog
from covidct.catalog_rows import CATALOG_COLUMNS, COUNT_COLUMNS, FLAG_COLUMNS, LIST_COLUMNS, catalog_row
from covidct.cli import main
from covidct.registry import Registry
from covidct.texttable import table_text

SOME = ["cncb", "lndb", "covid-ct", "luna16", "lidc-idri", "chexpert", "covid-ctset"]
COPIES = 60  # more than the index reads one by one (50)
QUERIES = [[], ["--format", "ids"], ["--format", "json"], ["--format", "csv"], ["--modality", "CT"],
           ["--task", "segmentation", "--format", "ids"], ["--concept", "COVID-19"], ["--concept", "SCTID:840539006"],
           ["--layout", "verified", "--access", "open"], ["--anatomy", "lung", "--license", "other"],
           ["--modality", "no-such-modality"]]


def _registry(folder: Path) -> Path:
    """The real cards of SOME, and COPIES copies of them under other ids (``cncb-7``: its file sorts
    before ``cncb.yaml``, its id after ``cncb``) with other names (no lineage: it would point outside)."""
    folder.mkdir(parents=True)
    for i in range(COPIES + len(SOME)):
        stem = SOME[i % len(SOME)]
        text = (CARDS / f"{stem}.yaml").read_text(encoding="utf-8")
        if i < len(SOME):
            data = yaml.safe_load(text)
            if data.get("lineage"):
                data.pop("lineage")
                text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
            (folder / f"{stem}.yaml").write_text(text, encoding="utf-8")
            continue
        data = yaml.safe_load(text)
        data["id"] = f"{stem}-{i}"
        data["name"] = f"{data['name']} no. {i}"
        data["aliases"] = [f"{a} no. {i}" for a in data.get("aliases", [])]
        data.pop("lineage", None)
        (folder / f"{stem}-{i}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                                                  encoding="utf-8")
    return folder


def _fresh_process_state() -> None:
    """What a new covidct process would start with (registries are kept per folder within a process)."""
    registry_mod._registry.cache_clear()
    cardindex._warned.clear()


def _outputs(folder: Path, capsys: pytest.CaptureFixture[str], *opts: str) -> list[tuple[int, str, str]]:
    out = []
    for q in QUERIES:
        _fresh_process_state()
        status = main(["--cards", str(folder), *opts, "list", *q])
        got = capsys.readouterr()
        out.append((status, got.out, got.err))
    return out


def _old_list(df: pd.DataFrame, fmt: str) -> str:
    """What `covidct list` printed from the DataFrame before it printed from the index (its code then)."""
    if fmt == "ids":
        return "".join(f"{i}\n" for i in df["id"])
    cols = ["id", "modality", "tasks", "patients", "images", "license", "access", "layout"]
    view = df[cols].copy()
    for c in ("modality", "tasks", "layout"):
        view[c] = view[c].map(lambda v: ",".join(v))
    for c in ("patients", "images"):
        view[c] = [("" if pd.isna(v) else f"{int(v):,}") for v in view[c]]
    return view.to_string(index=False) + "\n"


def _old_catalog(cards: list) -> pd.DataFrame:  # type: ignore[type-arg]
    """How catalog() built its DataFrame before: one dict per card."""
    df = pd.DataFrame([catalog_row(c) for c in cards], columns=CATALOG_COLUMNS)
    for col in ("patients", "scans", "images"):
        df[col] = df[col].astype("Int64")
    return df.sort_values("id").reset_index(drop=True)


def test_list_and_catalog_from_the_index_are_those_without_it(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _registry(tmp_path / "cards")
    monkeypatch.setenv("COVIDCT_NO_INDEX", "")  # (undone after the test: --no-index sets it)

    def compare(changed: str) -> None:
        fresh = _outputs(folder, capsys, "--no-index")
        monkeypatch.setenv("COVIDCT_NO_INDEX", "")
        _fresh_process_state()
        fresh_df = Registry(folder).catalog()
        warm = _outputs(folder, capsys)  # (the first query makes the index warm where the change made it stale)
        assert _outputs(folder, capsys) == warm == fresh, changed
        _fresh_process_state()
        pd.testing.assert_frame_equal(Registry(folder).catalog(), fresh_df)
        cards = list(Registry(folder).cards().values())
        pd.testing.assert_frame_equal(fresh_df, _old_catalog(cards))  # as catalog() built it before
        for q, (status, out, _err) in zip(QUERIES, fresh, strict=True):
            fmt = q[q.index("--format") + 1] if "--format" in q else "table"
            if fmt in ("ids", "table") and status == 0 and out:
                flags = dict(zip(q[::2], q[1::2], strict=True))
                df = filter_catalog(fresh_df, **{k[2:]: [v] for k, v in flags.items() if k != "--format"})
                assert out == _old_list(df, fmt), (changed, q)

    compare("cold")
    assert len(fresh_catalog := Registry(folder).catalog()) == COPIES + len(SOME)
    assert fresh_catalog["id"].is_monotonic_increasing and "cncb-7" in set(fresh_catalog["id"])
    # one card changes (same size, so that only its content hash tells): its row, and only it, is new
    p = folder / "lndb.yaml"
    before = p.read_text(encoding="utf-8")
    after = before.replace("Lung Nodule Database", "Lung Nodule DATABASE", 1)
    assert after != before and len(after) == len(before)
    st = p.stat()
    p.write_text(after, encoding="utf-8")
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    compare("one card changed")
    assert "LNDb: A Lung Nodule DATABASE on Computed Tomography" in set(Registry(folder).catalog()["name"])


def test_list_without_a_writable_cache_is_the_same_with_one_warning(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _registry(tmp_path / "cards")
    expected = _outputs(folder, capsys)
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("COVIDCT_CACHE_DIR", str(tmp_path / "file" / "cache"))  # below a file: cannot be made
    got = _outputs(folder, capsys)
    for (status, out, err), (status0, out0, err0) in zip(got, expected, strict=True):
        assert (status, out) == (status0, out0)
        assert "Traceback" not in err and err.count("card index") == 1 and err.endswith(err0)
    _fresh_process_state()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = Registry(folder).catalog()
    assert len(caught) == 1 and len(df) == COPIES + len(SOME)


def test_a_damaged_catalog_column_is_one_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3

    folder = _registry(tmp_path / "cards")
    assert main(["--cards", str(folder), "list", "--format", "ids"]) == 0
    _fresh_process_state()
    index = Registry(folder).index()
    db = sqlite3.connect(index.path)
    db.execute("UPDATE cards SET c_modality = '[\"CT\"],[\"MR\"]' WHERE file = 'cncb.yaml'")  # two lists in one cell
    db.commit()
    db.close()
    capsys.readouterr()
    assert main(["--cards", str(folder), "list"]) == 1
    err = capsys.readouterr().err
    assert "damaged" in err and "--no-index" in err and "Traceback" not in err


def test_catalog_column_kinds_are_those_of_the_rows() -> None:
    rows = [catalog_row(c) for c in Registry(CARDS).cards().values()]
    assert list(rows[0]) == CATALOG_COLUMNS
    for name in CATALOG_COLUMNS:
        kinds = {type(r[name]) for r in rows}
        if name in LIST_COLUMNS:
            assert kinds == {list}, name
        elif name in FLAG_COLUMNS:
            assert kinds == {bool}, name
        elif name in COUNT_COLUMNS:
            assert kinds <= {int, type(None)}, name
        else:
            assert kinds <= {str, type(None)}, name


def test_the_text_table_is_pandas_to_string() -> None:
    rnd = random.Random(15)
    pieces = ["a", "Z", " ", "  lead", "trail  ", "\t", "\n", "\r", "é", "日本", "", "-", ",", "1,234", "x y", "..."]

    def text() -> str:
        return "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 4)))

    for _ in range(2000):  # (headers that begin with a space are printed differently by pandas 2.0 and 3.x)
        columns = {f"{text().lstrip(' ')}{j}": [text() for _ in range(rows)]
                   for rows in [rnd.randint(1, 5)] for j in range(rnd.randint(1, 4))}
        assert table_text(columns) == pd.DataFrame(columns).to_string(index=False), columns
    long = {"id": ["x" * 300], "layout": ["verified"]}  # wider than pandas' display.max_colwidth (50)
    assert table_text(long) == pd.DataFrame(long).to_string(index=False)


HEAVY = ["pandas", "numpy", "pyarrow", "pydantic", "yaml", "datasets", "re2", "covidct.card.model"]


def test_warm_list_imports_no_heavy_library(tmp_path: Path) -> None:
    folder = _registry(tmp_path / "cards")
    env = dict(os.environ, COVIDCT_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(REPO / "src"))
    env.pop("COVIDCT_NO_INDEX", None)
    code = ("import sys, io, json, contextlib; from covidct.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out: status = main(sys.argv[1:])\n"
            f"print(json.dumps([status, len(out.getvalue()), [m for m in {HEAVY!r} if m in sys.modules]]))")

    def run(*args: str) -> list:  # type: ignore[type-arg]
        r = subprocess.run([sys.executable, "-c", code, "--cards", str(folder), *args], env=env,
                           capture_output=True, text=True, timeout=300)
        assert "warning" not in r.stderr and "Traceback" not in r.stderr, r.stderr
        return json.loads(r.stdout)  # type: ignore[no-any-return]

    status, size, loaded = run("list")  # cold: validates every card
    assert status == 0 and size > 0 and "pydantic" in loaded
    for args in (["list"], ["list", "--format", "ids"], ["list", "--modality", "CT", "--concept", "COVID-19"],
                 ["list", "--layout", "no-such"]):
        status, size, loaded = run(*args)
        assert status == 0 and loaded == [], args
    status, size, loaded = run("show", "lndb")  # (the index was written within 2 s: its files are hashed again)
    assert status == 0 and loaded == []
    status, size, loaded = run("list", "--format", "json")  # a serialisation of the DataFrame: pandas
    assert status == 0 and "pandas" in loaded and "pydantic" not in loaded
