"""Nothing in covidct opens a file that is not a regular file: a FIFO, socket or device in a data folder
is skipped with a reason or refused with one message, and never blocks.

The review: ``covidct new --from-folder`` hung on a FIFO named ``a/1.png`` or ``data.zip``. Every entry
point that opens files is run here on real FIFOs (``os.mkfifo``), each in a subprocess with a timeout,
so a regression fails the test instead of hanging the run: the scaffold survey, the layout walk, label
tables, split lists, label arrays, the format sniffer and readers, MetaImage data files, cards and a
Hub folder's card.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from conftest import need

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
HANG_GUARD_S = 60
CLI = ["-c", "import sys; from covidct.cli import main; sys.exit(main(sys.argv[1:]))"]


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    t = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=HANG_GUARD_S,
                              cwd=cwd)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {HANG_GUARD_S} s: a FIFO was opened")
    print(f"{time.perf_counter() - t:.3f} s")
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _card() -> dict:
    from test_paths import BASE

    return json.loads(json.dumps(BASE))


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """data/{a,b}/{0,1}.png (real PNGs) plus a FIFO a/2.png that the image pattern matches."""
    from test_paths import _png

    d = tmp_path / "data"
    for cls in "ab":
        for i in range(2):
            _png(d / cls / f"{i}.png", i)
    os.mkfifo(d / "a" / "2.png")
    return d


def test_new_from_folder_skips_fifos_with_a_reason(tmp_path: Path, data: Path) -> None:
    """The review's case: a FIFO named a/1.png (here a/2.png beside real ones) and one named data.zip."""
    os.mkfifo(data / "data.zip")
    os.mkfifo(data / "b" / "1.png.tmp")
    out = tmp_path / "cards" / "fifo-set.yaml"
    proc = _run([*CLI, "--cards", str(tmp_path / "cards"), "new", "fifo-set", "--from-folder", str(data),
                 "--out", str(out)], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = out.read_text(encoding="utf-8")
    assert "Skipped: a/2.png (a FIFO (named pipe), not a regular file: not read)" in text
    assert "Skipped: data.zip (a FIFO" in text
    assert "data.zip" not in text.split("Skipped: data.zip")[0].split("downloads:")[-1]  # not offered as a download


def test_load_skips_a_fifo_the_image_pattern_matches(tmp_path: Path, data: Path) -> None:
    need("datasets")
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "paths.yaml").write_text(yaml.safe_dump(_card(), sort_keys=False), encoding="utf-8")
    proc = _run([*CLI, "--cards", str(cards), "load", "paths", "default", "--data-dir", str(data),
                 "--cache-dir", str(tmp_path / "cache")], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "num_rows: 4" in proc.stdout, proc.stdout
    assert "FIFO(s), socket(s) or device(s) were skipped" in proc.stderr and "a/2.png" in proc.stderr, proc.stderr


def test_every_other_reader_refuses_a_fifo_with_one_message(tmp_path: Path, data: Path) -> None:
    """One subprocess, one line per entry point: the exception type and its message."""
    need("SimpleITK")
    os.mkfifo(data / "meta.csv")
    os.mkfifo(data / "meta.xlsx")
    os.mkfifo(data / "train.txt")
    os.mkfifo(data / "rows.npy")
    os.mkfifo(data / "scan.raw")
    (data / "scan.mhd").write_text("ObjectType = Image\nNDims = 2\nDimSize = 2 2\nElementType = MET_UCHAR\n"
                                   "ElementDataFile = scan.raw\n")
    os.mkfifo(data / "card.yaml")
    hub = tmp_path / "hub" / "paths"
    hub.mkdir(parents=True)
    os.mkfifo(hub / "card.json")
    card = _card()
    lay = card["configs"][0]["layout"]
    cases = {
        "table-csv": {**lay, "tables": {"meta": {"path": "meta.csv", "format": "csv", "column": "id",
                                                 "key": "{image}"}}, "fields": {"age": {"table": "meta",
                                                                                         "column": "age"}}},
        "table-xlsx": {**lay, "tables": {"meta": {"path": "meta.xlsx", "format": "xlsx", "column": "id",
                                                  "key": "{image}"}}, "fields": {"age": {"table": "meta",
                                                                                          "column": "age"}}},
        "split-list": {**lay, "splits": {"lists": {"train": ["train.txt"]}, "key": "{_name}"}},
    }
    (tmp_path / "cases.json").write_text(json.dumps({"card": card, "cases": cases}), encoding="utf-8")
    script = textwrap.dedent(f"""
        import json, warnings
        from pathlib import Path
        warnings.simplefilter("ignore")
        from covidct.card.model import Card
        from covidct.layout.plan import make_plan
        from covidct.layout.walk import files_under
        from covidct import readers
        data = {str(data)!r}
        spec = json.loads(open({str(tmp_path / 'cases.json')!r}).read())

        def report(name, fn):
            try:
                fn()
                print(name, "OK")
            except Exception as exc:
                print(name, type(exc).__name__, str(exc).replace(chr(10), " "))

        for name, layout in spec["cases"].items():
            c = json.loads(json.dumps(spec["card"]))
            c["configs"][0]["layout"] = layout
            report(name, lambda c=c: list(make_plan(Card.model_validate(c), "default", [data]).records()))
        report("array", lambda: files_under([data], "rows.npy", "array 'rows':"))
        report("sniff", lambda: readers.sniff(data + "/a/2.png"))
        report("read-png", lambda: readers.read(data + "/a/2.png", "png"))
        report("read-dicom-header", lambda: readers.read_header(data + "/a/2.png", "dicom"))
        report("read-npy", lambda: readers.read(data + "/rows.npy", "npy"))
        report("read-npy-header", lambda: readers.read_header(data + "/rows.npy", "npy"))
        report("metaimage-data-file", lambda: readers.read(data + "/scan.mhd", "metaimage"))
        report("metaimage-raw", lambda: readers.read(data + "/scan.raw", "metaimage"))
        from covidct.card.validate import validate_file
        report("validate-card", lambda: print(*[i.format() for i in validate_file(data + "/card.yaml").issues]))
        from covidct.hf.load import load_card_file
        report("hub-card-json", lambda: load_card_file(Path({str(hub / 'card.json')!r})))
    """)
    proc = _run(["-c", script], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    print(proc.stdout)
    lines = {ln.split()[0]: ln for ln in proc.stdout.splitlines() if ln.split()}
    refused = ["table-csv", "table-xlsx", "split-list", "array", "sniff", "read-png", "read-dicom-header", "read-npy",
               "read-npy-header", "metaimage-data-file", "metaimage-raw", "hub-card-json"]
    for name in refused:
        assert name in lines and "a FIFO (named pipe), not a regular file" in lines[name], proc.stdout
        assert " OK" not in lines[name]
    assert "LayoutError" in lines["table-csv"] and "meta.csv" in lines["table-csv"]
    assert "ReadError" in lines["read-png"] and "CardError" in lines["hub-card-json"]
    assert ": Y110 cannot read: is a FIFO (named pipe)" in proc.stdout, proc.stdout
