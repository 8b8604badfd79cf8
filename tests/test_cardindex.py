"""The index of a cards folder: only changed cards are validated again, and cached results are the
fresh ones (for the registry's cards and for hostile ones); a corrupt, foreign or outdated index is
rebuilt; `show` reads no other card."""

from __future__ import annotations

import os
import shutil
import sqlite3
import warnings
from pathlib import Path

import pytest

import covidct.card.validate as validate_mod
import covidct.cardindex as cardindex
from conftest import CARDS, REPO
from covidct.card.validate import validate_paths
from covidct.cardindex import CardIndex, IndexWarning
from covidct.cli import main
from covidct.registry import CardError, Registry, UnknownCard

GOLDEN = REPO / "tests" / "cards"
SOME = ["cncb", "lndb", "covid-ct", "luna16", "lidc-idri"]  # a closed set: lineage stays inside


def _cards(folder: Path, ids: list[str] = SOME) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for cid in ids:
        text = (CARDS / f"{cid}.yaml").read_text(encoding="utf-8")
        (folder / f"{cid}.yaml").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The stems of the card files validated (from their bytes) while the test runs."""
    seen: list[str] = []
    original = validate_mod.validate_bytes

    def spy(data: bytes, display: str, stem: str, **kw: object):  # type: ignore[no-untyped-def]
        seen.append(stem)
        return original(data, display, stem, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(validate_mod, "validate_bytes", spy)
    return seen


def _shown(results: list) -> list[str]:  # type: ignore[type-arg]
    return [i.format() for r in results for i in r.issues]


def test_one_changed_card_is_the_only_one_validated_again(tmp_path: Path, counted: list[str]) -> None:
    folder = _cards(tmp_path / "cards")
    idx = CardIndex(folder, cache_dir=tmp_path / "cache")
    assert len(idx.refresh()) == len(SOME) and sorted(counted) == sorted(SOME)
    counted.clear()
    again = CardIndex(folder, cache_dir=tmp_path / "cache")  # another process: from the stored index
    assert [r.file for r in again.refresh()] == sorted(f"{c}.yaml" for c in SOME)
    assert counted == []
    p = folder / "luna16.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("summary:", "# changed\nsummary:", 1), encoding="utf-8")
    os.utime(folder / "cncb.yaml")  # touched, same bytes: hashed, not validated
    CardIndex(folder, cache_dir=tmp_path / "cache").refresh()
    assert counted == ["luna16"]


def test_unchanged_old_files_are_not_even_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _cards(tmp_path / "cards")
    monkeypatch.setattr(cardindex, "RACY_NS", 0)  # the files were written just now; pretend long ago
    CardIndex(folder, cache_dir=tmp_path / "cache").refresh()
    opened: list[str] = []
    import covidct.fsutil as fsutil

    original = fsutil.open_regular
    monkeypatch.setattr(fsutil, "open_regular", lambda p, what="file": opened.append(str(p)) or original(p, what))
    CardIndex(folder, cache_dir=tmp_path / "cache").refresh()
    assert opened == []


def test_cached_and_fresh_validation_print_the_same_for_registry_and_hostile_cards(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "cards"
    shutil.copytree(CARDS, folder, ignore=shutil.ignore_patterns("targets"))
    for p in GOLDEN.glob("*.yaml"):  # every broken card of the golden tests, in the same folder
        shutil.copy(p, folder / ("golden-" + p.name if (folder / p.name).exists() else p.name))
    twin = (CARDS / "cncb.yaml").read_text(encoding="utf-8").replace("id: cncb", "id: twin")
    (folder / "twin.yaml").write_text(twin, encoding="utf-8")  # reuses cncb's aliases: C308, cross-card
    (folder / "not-utf8.yaml").write_bytes(b"id: not-utf8\nname: \xff\xfe\n")
    (folder / "too-big.yaml").write_bytes(b"id: too-big\n" + b"#" * (1 << 20))
    (folder / "a-folder.yaml").mkdir()
    os.mkfifo(folder / "a-fifo.yaml")
    (folder / "a-link.yaml").symlink_to(folder / "cncb.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COVIDCT_CACHE_DIR", str(tmp_path / "cache"))

    def run(*args: str) -> tuple[int, str]:
        status = main(["--cards", "cards", *args, "validate", "cards"])
        out = capsys.readouterr()
        return status, out.out + out.err

    monkeypatch.setenv("COVIDCT_NO_INDEX", "")  # so that the value --no-index sets is undone after the test
    fresh = run("--no-index")
    monkeypatch.setenv("COVIDCT_NO_INDEX", "")
    assert not (tmp_path / "cache").exists()  # no index was written
    cold = run()
    warm = run()
    assert fresh[0] == 1 and "Y102" in fresh[1] and "Y103" in fresh[1] and "C308" in fresh[1]
    assert fresh == cold == warm
    # and through the API, for one file of the registry and the context of the others
    idx = CardIndex(folder, cache_dir=tmp_path / "cache")
    one = [folder / "bad-code.yaml", folder / "cncb.yaml"]
    assert _shown(validate_paths(one, registry_dir=folder, index=idx)) == _shown(
        validate_paths(one, registry_dir=folder))


def test_registry_from_the_index_equals_the_fresh_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COVIDCT_CACHE_DIR", str(tmp_path / "cache"))
    Registry(CARDS).catalog()  # warm the index
    warm = Registry(CARDS)
    warm.index()
    monkeypatch.setenv("COVIDCT_NO_INDEX", "1")
    fresh = Registry(CARDS)
    assert warm.index().persist and not fresh.index().persist
    import pandas as pd

    pd.testing.assert_frame_equal(warm.catalog(), fresh.catalog())
    assert warm.cards() == fresh.cards()
    from covidct.render.text import card_text

    _path, rec = warm.locate("cncb")
    assert warm.show_text(rec) == card_text(fresh.get("cncb"))
    assert _shown(warm.results()) == _shown(fresh.results())


def test_deleted_and_renamed_cards(tmp_path: Path) -> None:
    folder = _cards(tmp_path / "cards")
    reg = Registry(folder)
    assert set(reg.cards()) == set(SOME)
    (folder / "lndb.yaml").unlink()
    assert "lndb" not in set(Registry(folder).catalog()["id"])
    (folder / "luna16.yaml").rename(folder / "luna.yaml")
    with pytest.raises(CardError, match="C301"):  # the renamed card's id no longer matches its file name
        Registry(folder).cards()
    with pytest.raises(UnknownCard):
        Registry(folder).get("lndb")
    (folder / "luna.yaml").rename(folder / "luna16.yaml")
    assert set(Registry(folder).cards()) == set(SOME) - {"lndb"}


def test_show_by_id_reads_only_that_card_and_needs_only_it_valid(tmp_path: Path, counted: list[str]) -> None:
    folder = _cards(tmp_path / "cards")
    (folder / "broken.yaml").write_text("id: broken\nname: [\n", encoding="utf-8")
    reg = Registry(folder)
    assert reg.get("cncb").id == "cncb"  # cold: only cncb.yaml is validated
    assert counted == ["cncb"]
    with pytest.raises(CardError, match="Y101"):
        reg.get("broken")
    with pytest.raises(CardError, match=r"broken\.yaml"):  # the whole registry still has to be valid
        reg.catalog()
    counted.clear()
    assert reg.get("CC-CCII").id == "cncb"  # an alias: every card's names are looked at (from the index)
    assert counted == []


def test_show_refuses_names_that_are_no_file_of_the_folder(tmp_path: Path) -> None:
    folder = _cards(tmp_path / "cards")
    (tmp_path / "outside.yaml").write_text((CARDS / "cncb.yaml").read_text(encoding="utf-8").replace(
        "id: cncb", "id: outside"), encoding="utf-8")
    for ref in ("../outside", "covidct/../outside", "", "_x", "/etc/passwd"):
        with pytest.raises(UnknownCard):
            Registry(folder).get(ref)


def test_corrupt_or_foreign_index_is_rebuilt_with_one_warning(tmp_path: Path, counted: list[str]) -> None:
    folder = _cards(tmp_path / "cards")
    idx = CardIndex(folder, cache_dir=tmp_path / "cache")
    idx.refresh()
    good = idx.path.read_bytes()
    for bad in (b"not a database at all" * 100, good[:1024] + b"\0garbage" * 512, good[:100]):
        idx.path.write_bytes(bad)
        counted.clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cardindex._warned.clear()
            records = CardIndex(folder, cache_dir=tmp_path / "cache").refresh()
        assert len(records) == len(SOME) and all(r.valid for r in records)
        assert len([w for w in caught if issubclass(w.category, IndexWarning)]) <= 1
        assert sorted(counted) == sorted(SOME)
        counted.clear()
        CardIndex(folder, cache_dir=tmp_path / "cache").refresh()  # rebuilt: usable again
        assert counted == []
    # a database of some other program at that path
    idx.path.unlink()
    db = sqlite3.connect(idx.path)
    db.execute("CREATE TABLE cards (x)")
    db.execute("CREATE TABLE meta (k, v)")
    db.execute("INSERT INTO meta VALUES ('format', 'something else')")
    db.commit()
    db.close()
    assert len(CardIndex(folder, cache_dir=tmp_path / "cache").refresh()) == len(SOME)


def test_an_index_of_another_covidct_is_not_trusted(tmp_path: Path, counted: list[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _cards(tmp_path / "cards")
    CardIndex(folder, cache_dir=tmp_path / "cache").refresh()
    counted.clear()
    monkeypatch.setattr(cardindex, "__version__", "0.0.0-other")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an outdated index is expected: no warning
        CardIndex(folder, cache_dir=tmp_path / "cache").refresh()
    assert sorted(counted) == sorted(SOME)


def test_the_index_is_kept_outside_the_cards_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _cards(tmp_path / "cards")
    monkeypatch.setenv("COVIDCT_CACHE_DIR", str(tmp_path / "cache"))
    before = sorted(os.listdir(folder))
    Registry(folder).catalog()
    assert sorted(os.listdir(folder)) == before
    assert list((tmp_path / "cache" / "index").glob("*.sqlite3"))


def test_an_unusable_cache_folder_means_no_index_not_a_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _cards(tmp_path / "cards")
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("COVIDCT_CACHE_DIR", str(tmp_path / "file" / "cache"))  # below a file: cannot be made
    cardindex._warned.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert set(Registry(folder).cards()) == set(SOME)
    assert len(caught) == 1 and issubclass(caught[0].category, IndexWarning)


def test_two_processes_share_one_index(tmp_path: Path) -> None:
    import subprocess
    import sys

    folder = _cards(tmp_path / "cards", [*SOME, "covid-ct-md", "covid-ctset", "flyai-covid"])
    env = dict(os.environ, COVIDCT_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(REPO / "src"))
    code = "from covidct.registry import Registry; import sys; print(len(Registry(sys.argv[1]).catalog()))"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(folder)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [o[0].strip() for o in outs] == ["8"] * 3 and all(o[1] == "" for o in outs)
    assert len(CardIndex(folder, cache_dir=tmp_path / "cache").refresh()) == 8


def test_registry_and_validate_share_the_index_but_judge_unpinned_downloads_as_before(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _cards(tmp_path / "cards", ["covid-ct"])
    text = (CARDS / "covid-ctset.yaml").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines(keepends=True) if not ln.strip().startswith("sha256:")]
    assert len(lines) < len(text.splitlines())
    (folder / "covid-ctset.yaml").write_text("".join(lines), encoding="utf-8")  # download URLs without sha256
    monkeypatch.setenv("COVIDCT_CACHE_DIR", str(tmp_path / "cache"))
    for _ in range(2):  # cold, then warm: the same judgements
        assert "covid-ctset" in Registry(folder).cards()  # outside `validate`: a warning (W406), as before the index
        assert any(i.code == "W406" for r in Registry(folder).results() for i in r.issues)
        assert main(["--cards", str(folder), "validate", "-q"]) == 1  # the registry's validation: C316
        assert "C316" in capsys.readouterr().out


def test_validate_after_one_changed_card_validates_that_card_only(
        tmp_path: Path, counted: list[str], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _cards(tmp_path / "cards")
    monkeypatch.setenv("COVIDCT_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["--cards", str(folder), "validate"]) == 0
    first = capsys.readouterr()
    p = folder / "lndb.yaml"
    p.write_text(p.read_text(encoding="utf-8") + "# an edit\n", encoding="utf-8")
    counted.clear()
    assert main(["--cards", str(folder), "validate"]) == 0
    assert counted == ["lndb"]  # and the registry-wide checks, over the stored summaries
    assert capsys.readouterr() == first
    twin = (folder / "covid-ct.yaml").read_text(encoding="utf-8").replace("id: covid-ct", "id: twin")
    (folder / "twin.yaml").write_text(twin, encoding="utf-8")  # a new card reusing covid-ct's aliases
    counted.clear()
    assert main(["--cards", str(folder), "validate", "-q"]) == 1
    assert counted == ["twin"] and "C308" in capsys.readouterr().out


def test_warm_show_and_list_load_neither_the_card_model_nor_other_cards(tmp_path: Path) -> None:
    import subprocess
    import sys

    folder = _cards(tmp_path / "cards")
    env = dict(os.environ, COVIDCT_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(REPO / "src"))
    code = ("import sys, io, contextlib; from covidct.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()): status = main(sys.argv[1:])\n"
            "print(status, 'pydantic' in sys.modules, 'covidct.card.model' in sys.modules)")

    def run(*args: str) -> str:
        r = subprocess.run([sys.executable, "-c", code, "--cards", str(folder), *args], env=env,
                           capture_output=True, text=True, timeout=300)
        assert "warning" not in r.stderr and "Traceback" not in r.stderr
        return r.stdout.strip()

    assert run("show", "lndb") == "0 True True"  # cold: validates lndb.yaml (and only it)
    assert run("list") == "0 True True"  # cold: validates every card
    assert run("show", "lndb") == "0 False False"
    assert run("show", "lung nodule database") == "0 False False"  # an alias, through the stored summaries
    assert run("list") == "0 False False"
