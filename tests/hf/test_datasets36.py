"""The generated loading scripts work with datasets 3.6 (the last version with scripts) through
``datasets.load_dataset(path, CONFIG, data_dir=..., trust_remote_code=True)``, on synthesized fixtures,
and datasets 3.6 reads an exported Parquet folder with no script at all.

datasets 3.6 cannot share an environment with datasets 5.x, so it lives in its own virtual environment,
made by .ci/run (or by hand):

    python -m venv .venv-ds36
    .venv-ds36/bin/pip install "datasets==3.6.0" pillow pydicom nibabel -e .

``$COVIDCT_DS36_PYTHON`` may point at another interpreter with datasets 3.x and covidct installed.
Every row that datasets 3.6 returns is compared, value for value, with ``covidct.load_dataset`` under 5.x.
"""

from __future__ import annotations

import json
import os
import subprocess
import warnings
from pathlib import Path
from typing import Any

import pytest
from _hubtools import fixtures, load_quiet, stock_load
from ds36_probe import digest

from conftest import REPO, unavailable
from covidct.card.vocab import FileFormat
from covidct.hf.export import export
from covidct.hf.scripts import write_script_folder
from covidct.registry import registry

PROBE = Path(__file__).with_name("ds36_probe.py")


def _python() -> str:
    exe = os.environ.get("COVIDCT_DS36_PYTHON") or str(REPO / ".venv-ds36" / "bin" / "python")
    if not Path(exe).is_file():
        unavailable(f"no datasets 3.6 environment at {exe} (see this file's docstring; .ci/run makes it)")
    return exe


def _cases() -> list[tuple[str, str]]:
    """cncb's two configs, plus the first card config of each other image family (DICOM, NIfTI)."""
    cases = [("cncb", "lesion-seg"), ("cncb", "classification")]
    for family in (FileFormat.DICOM, FileFormat.NIFTI):
        for cid, card in sorted(registry().cards().items()):
            cfg = next((c for c in card.configs if c.layout and c.layout.files["image"].format == family), None)
            if cfg is not None:
                cases.append((cid, cfg.name))
                break
    # boxes/points records: datasets 3.x needs [{...}] features (its Sequence({...}) is a dict of lists)
    raster = (FileFormat.PNG, FileFormat.JPEG, FileFormat.DICOM)
    for cid, card in sorted(registry().cards().items()):
        cfg = next((c for c in card.configs if c.layout and c.layout.files["image"].format in raster
                    and any(vf.columns for vf in c.layout.labels.values())), None)
        if cfg is not None:
            cases.append((cid, cfg.name))
            break
    return cases


@pytest.fixture(scope="module")
def ds36(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run every case once in the datasets 3.6 environment; return its digests and ours."""
    exe = _python()
    tmp = tmp_path_factory.mktemp("ds36")
    version = subprocess.run([exe, "-c", "import datasets; print(datasets.__version__)"], capture_output=True,
                             text=True, timeout=120)
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("3."), f"{exe} has datasets {version.stdout.strip()}, not 3.x"
    jobs, want = [], {}
    for cid, config in _cases():
        card = registry().get(cid)
        data = fixtures(card, tmp / "data" / cid, [config])[config]
        folder = tmp / "scripts" / "covidct" / cid
        if not folder.exists():
            write_script_folder(card, folder)
        key = f"script:{cid}/{config}"
        jobs.append({"key": key, "path": str(folder), "config": config, "data_dir": str(data), "script": True})
        want[key] = digest(load_quiet(cid, config, data_dir=data, cache_dir=tmp / "c5"))
    # a script-free Parquet folder: datasets 3.6 reads it natively (configs + dataset_info in README.md)
    card = registry().get("cncb")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export(card, {"classification": tmp / "data" / "cncb" / "classification"}, tmp / "hub",
               configs=["classification"])
    jobs.append({"key": "parquet:cncb/classification", "path": str(tmp / "hub" / "covidct" / "cncb"),
                 "config": "classification", "data_dir": None, "script": False})
    want["parquet:cncb/classification"] = digest(
        stock_load(str(tmp / "hub" / "covidct" / "cncb"), "classification", cache_dir=str(tmp / "c5s"))
    )
    env = {**os.environ, "HF_HOME": str(tmp / "hf"), "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1",
           "PROBE_CACHE": str(tmp / "c36"), "PYTHONWARNINGS": "ignore"}
    env.pop("PYTHONPATH", None)  # only what the 3.6 environment itself has installed
    proc = subprocess.run([exe, str(PROBE)], input=json.dumps(jobs), capture_output=True, text=True, cwd=tmp,
                          env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout)
    return {"got": got, "want": want, "keys": [j["key"] for j in jobs]}


def test_it_is_datasets_3(ds36: dict[str, Any]) -> None:
    assert ds36["got"]["__version__"].startswith("3.")


@pytest.mark.parametrize("case", [f"{c}/{n}" for c, n in _cases()])
def test_loading_script_under_datasets36_gives_the_same_rows(ds36: dict[str, Any], case: str) -> None:
    key = f"script:{case}"
    got = ds36["got"][key]
    assert not isinstance(got, str), got  # "FAIL ..." with the error from datasets 3.6
    assert got == ds36["want"][key]


def test_datasets36_reads_the_parquet_export_without_a_script(ds36: dict[str, Any]) -> None:
    got = ds36["got"]["parquet:cncb/classification"]
    assert not isinstance(got, str), got
    assert got == ds36["want"]["parquet:cncb/classification"]
