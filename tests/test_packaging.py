"""`pip install covidct` carries the registry: the sdist holds cards/, the wheel built from it (without
git, as pip builds it) holds them as package data, and an installed covidct lists, loads and builds
from an empty folder, while COVIDCT_CARDS and --cards still override.

Offline: the sdist and wheel are built with the setuptools installed here (no build isolation), and
installed into a fresh virtual environment with --no-deps --no-index; that environment sees this
one's packages through a .pth file (not the editable covidct: the wheel's own copy is imported).
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from conftest import CARDS, REPO, need_executable, unavailable
from covidct.cards_snapshot import card_files, snapshot

pytestmark = pytest.mark.slow

SETUPTOOLS_MIN = (77, 0, 1)  # build-system.requires in pyproject.toml


def _setuptools_ok() -> None:
    try:
        import setuptools
    except ImportError:
        unavailable("setuptools is not installed (pip install 'setuptools>=77.0.1')")
        raise
    version = tuple(int(x) for x in setuptools.__version__.split(".")[:3] if x.isdigit())
    if version < SETUPTOOLS_MIN:
        unavailable(f"setuptools {setuptools.__version__} cannot build covidct (needs >=77.0.1, the SPDX license)")


def _backend(call: str, src: Path, out: Path) -> tuple[str, str]:
    """setuptools.build_meta.<call>(out) run in ``src``: what pip does, minus isolation and network."""
    out.mkdir(parents=True, exist_ok=True)
    code = f"import sys, setuptools.build_meta as b; print(b.{call}(sys.argv[1]))"
    proc = subprocess.run([sys.executable, "-c", code, str(out)], cwd=src, capture_output=True, text=True,
                          timeout=600, env=_clean_env())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()[-1], proc.stdout + proc.stderr


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "COVIDCT_CARDS", "PYTHONHOME")}
    env["PYTHONNOUSERSITE"] = "1"
    env.update(extra)
    return env


def _source_copy(dst: Path) -> Path:
    """What a clone holds for building: the build files, src/ and cards/ (no build/ or egg-info)."""
    dst.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE"):
        if (REPO / name).is_file():
            shutil.copy2(REPO / name, dst / name)
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.lock", "_cards")
    shutil.copytree(REPO / "src", dst / "src", ignore=skip)
    shutil.copytree(CARDS, dst / "cards")
    return dst


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """sdist from a copy of the repository, then the wheel from the unpacked sdist (no git there)."""
    _setuptools_ok()
    tmp = tmp_path_factory.mktemp("pkg")
    src = _source_copy(tmp / "src")
    sdist_name, log = _backend("build_sdist", src, tmp / "dist")
    assert "project.license` as a TOML table is deprecated" not in log
    sdist = tmp / "dist" / sdist_name
    with tarfile.open(sdist) as tf:
        tf.extractall(tmp / "unpacked", filter="data")
    (unpacked,) = (tmp / "unpacked").iterdir()
    wheel_name, log = _backend("build_wheel", unpacked, tmp / "wheel")
    assert "deprecated" not in log.lower(), log
    return {"sdist": sdist, "unpacked": unpacked, "wheel": tmp / "wheel" / wheel_name, "tmp": tmp}


def test_sdist_and_wheel_carry_the_cards_they_were_built_from(built: dict[str, Path]) -> None:
    names = sorted(p.name for p in card_files(CARDS))
    assert len(names) >= 30
    assert sorted(p.name for p in card_files(built["unpacked"] / "cards")) == names
    assert not (built["unpacked"] / "src" / "covidct" / "_cards").exists()  # cards/ is the only source
    with zipfile.ZipFile(built["wheel"]) as zf:
        packaged = sorted(n.rsplit("/", 1)[1] for n in zf.namelist()
                          if n.startswith("covidct/_cards/") and n.endswith(".yaml"))
        assert packaged == names
        for n in names:
            assert zf.read(f"covidct/_cards/{n}") == (CARDS / n).read_bytes(), n
        record = json.loads(zf.read("covidct/_cards/SNAPSHOT.json"))
        meta = next(zf.read(n).decode() for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
    assert record == snapshot(CARDS)  # built from the sdist: no git, so no commit; the same content hash
    assert "License-Expression: Apache-2.0" in meta
    assert not [n for n in zipfile.ZipFile(built["wheel"]).namelist() if n.startswith(("tests/", "cards/"))]


def test_wheel_carries_the_site_templates_and_assets(built: dict[str, Path]) -> None:
    site = REPO / "src" / "covidct" / "site"
    data = sorted(p.relative_to(REPO / "src").as_posix() for d in ("templates", "assets")
                  for p in (site / d).rglob("*") if p.is_file())
    assert any(n.endswith(".html") for n in data)
    with zipfile.ZipFile(built["wheel"]) as zf:
        assert set(data) <= set(zf.namelist()), sorted(set(data) - set(zf.namelist()))


@pytest.fixture(scope="module")
def installed(built: dict[str, Path]) -> Path:
    """A fresh virtual environment holding the wheel; it sees this environment's dependencies."""
    venv = built["tmp"] / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300, env=_clean_env())
    py = venv / "bin" / "python"
    fresh_site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    # every site folder this environment reads (a venv with --system-site-packages reads two)
    here = dict.fromkeys([*site.getsitepackages(), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (Path(fresh_site) / "_covidct_test_deps.pth").write_text("".join(f"{p}\n" for p in here))
    proc = subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(built["wheel"])],
                          capture_output=True, text=True, timeout=300, env=_clean_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return venv


def _run(venv: Path, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    extra = {"HF_HOME": str(cwd / ".hf"), "HOME": str(cwd), **env}
    return subprocess.run([str(venv / "bin" / args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env=_clean_env(**extra))


def test_installed_wheel_lists_loads_and_builds_from_an_empty_folder(installed: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    where = _run(installed, "python", "-c", "import covidct, sys; print(covidct.__file__)", cwd=empty)
    assert where.returncode == 0 and where.stdout.startswith(str(installed)), where.stdout + where.stderr
    snap = snapshot(CARDS)
    version = _run(installed, "covidct", "--version", cwd=empty)
    assert version.returncode == 0, version.stderr
    assert f"cards: {snap['cards']} from the snapshot packaged with covidct (sha256:{str(snap['sha256'])[:12]})" \
        in version.stdout
    listed = _run(installed, "covidct", "list", cwd=empty)
    assert listed.returncode == 0, listed.stderr
    assert "cncb" in listed.stdout and "no cards folder" not in listed.stderr
    loaded = _run(installed, "python", "-c", "import covidct; print(covidct.load_card('cncb').id)", cwd=empty)
    assert loaded.returncode == 0 and loaded.stdout.strip() == "cncb", loaded.stderr
    built = _run(installed, "covidct", "build", "--out", "out", cwd=empty)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    assert f"validate: {snap['cards']} card(s), 0 error(s)" in built.stdout
    assert (empty / "out" / "site" / "datasets" / "cncb" / "index.html").is_file()
    assert (empty / "out" / "croissant" / "cncb.json").is_file()
    assert not (empty / "cards").exists()


def test_cards_override_the_packaged_snapshot(installed: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    shutil.copyfile(CARDS / "cncb.yaml", mine / "cncb.yaml")
    for how in ({"COVIDCT_CARDS": str(mine)}, {}):
        argv = ["covidct", "list"] if how else ["covidct", "--cards", str(mine), "list"]
        proc = _run(installed, *argv, cwd=tmp_path, **how)
        assert proc.returncode == 0, proc.stderr
        ids = {line.split()[0] for line in proc.stdout.splitlines()[1:] if line.strip()}
        assert "cncb" in proc.stdout and "covid-ct-md" not in proc.stdout, ids
        version = _run(installed, "covidct", *argv[1:-1], "--version", cwd=tmp_path, **how)
        assert f"cards: 1 from {mine}" in version.stdout


def test_a_new_card_goes_to_cards_not_into_the_package(installed: Path, tmp_path: Path) -> None:
    proc = _run(installed, "covidct", "new", "my-data", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "cards" / "my-data.yaml").is_file()
    assert not list(installed.rglob("_cards/my-data.yaml"))


def test_a_source_tree_reads_its_own_cards(monkeypatch: pytest.MonkeyPatch) -> None:
    """An editable install (or PYTHONPATH=src) uses the repository's cards/, not a packaged copy."""
    from covidct.registry import default_cards_dir

    monkeypatch.delenv("COVIDCT_CARDS", raising=False)
    assert default_cards_dir() == CARDS
    assert not (REPO / "src" / "covidct" / "_cards").exists()


def test_a_wheel_from_a_clean_clone_records_its_commit(tmp_path: Path) -> None:
    """Built from a git checkout whose cards/ is unchanged, the snapshot also names the commit."""
    _setuptools_ok()
    git = need_executable("git")
    if not (REPO / ".git").exists():
        unavailable("the repository is not a git checkout (e.g. an unpacked sdist)")
    clone = tmp_path / "clone"
    subprocess.run([git, "clone", "-q", str(REPO), str(clone)], check=True, timeout=300)
    head = subprocess.run([git, "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    wheel, _ = _backend("build_wheel", clone, tmp_path / "dist")
    with zipfile.ZipFile(tmp_path / "dist" / wheel) as zf:
        record = json.loads(zf.read("covidct/_cards/SNAPSHOT.json"))
    assert record == {**snapshot(clone / "cards"), "commit": head}
