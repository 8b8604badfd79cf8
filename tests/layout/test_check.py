"""`covidct check`: a names-only dry run of a layout, each report kind and the exit status."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from cardkit import CLASS_LABEL, make_card

from covidct.cli import main
from covidct.layout.check import CheckError, check, format_report, is_document, read_listing

LAYOUT = {
    "parts": {"cls": {"regex": "covid|normal"}, "pid": {"regex": "P[0-9]+"}, "f": {"regex": "[^/]+"}},
    "files": {
        "image": {"pattern": "images/{cls}/{pid}_{f}.png", "format": "png"},
        "mask": {"pattern": "masks/{cls}/{pid}_{f}.png", "format": "png", "required": False},
    },
    "labels": {"label": {"part": "cls"}},
    "patient": {"part": "pid"},
    "exclude": ["**/*.csv"],
}
# a valid card for the CLI (a `mask` role needs a mask label; the API tests above do not validate the card)
PLAIN = {**LAYOUT, "files": {"image": LAYOUT["files"]["image"]}}
COUNTS = [{"level": "images", "total": 3, "by_class": {"covid": 2, "normal": 1}},
          {"level": "patients", "total": 2}]
NAMES = ["images/covid/P1_a.png", "images/covid/P1_b.png", "images/normal/P2_a.png",
         "masks/covid/P1_a.png", "README.md", "images/.DS_Store", "notes.csv"]


def _card(counts=COUNTS, layout=LAYOUT):
    card = make_card(layout, [CLASS_LABEL])
    data = card.model_dump(mode="json", exclude_none=True)
    data["configs"][0]["counts"] = counts
    return type(card).model_validate(data)


def _listing(tmp_path: Path, names: list[str], gz: bool = False) -> Path:
    text = "".join(f"./{n}\n" for n in names)
    if gz:
        p = tmp_path / "listing.txt.gz"
        p.write_bytes(gzip.compress(text.encode()))
    else:
        p = tmp_path / "listing.txt"
        p.write_text(text)
    return p


def test_a_listing_that_fits_the_card_is_ok(tmp_path: Path) -> None:
    card = _card()
    r = check(card, card.configs[0], listing=_listing(tmp_path, NAMES, gz=True))
    assert r.ok, format_report(r)
    assert r.matched == {"image": 3, "mask": 1}
    assert r.documents == 2 and r.excluded == 1  # README.md, .DS_Store; notes.csv by `exclude`
    assert r.examples == {"all": 3, "train": 3}
    assert r.classes["all"] == {"covid": 2, "normal": 1}
    assert r.patients["all"] == 2
    assert all(c["equal"] for c in r.counts) and len(r.counts) == 2


def test_unmatched_data_files_are_grouped_by_reason_and_fail(tmp_path: Path) -> None:
    card = _card()
    names = [*NAMES, "images/pneumonia/P3_a.png", "images/pneumonia/P4_a.png", "images/covid/x/P5_a.png",
             "extra/P9_a.png"]
    r = check(card, card.configs[0], listing=_listing(tmp_path, names))
    assert not r.ok
    reasons = {u.reason: (u.count, u.examples) for u in r.unmatched}
    assert reasons["image pattern 'images/{cls}/{pid}_{f}.png': does not match '{cls}'"] == (
        2, ["images/pneumonia/P3_a.png", "images/pneumonia/P4_a.png"])
    assert reasons["image pattern 'images/{cls}/{pid}_{f}.png': has 3 path levels, the file has 4"][0] == 1
    assert reasons["outside 'images/', where the image pattern 'images/{cls}/{pid}_{f}.png' starts"][0] == 1
    assert r.unmatched_files == 4
    assert main(["--cards", str(_cards(tmp_path, _card(layout=PLAIN))), "check", "t", "--listing",
                 str(_listing(tmp_path, names[:3] + names[4:]))]) == 1


def test_count_differences_fail_and_name_the_class(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    card = _card(counts=[{"level": "images", "total": 4, "by_class": {"covid": 3, "normal": 1}}])
    r = check(card, card.configs[0], listing=_listing(tmp_path, NAMES))
    assert not r.ok and r.count_differences == 1
    text = format_report(r)
    assert "count images: card 4, data 3 DIFFERS" in text
    assert "covid: card 3, data 2 DIFFERS" in text


def test_counts_of_another_release_are_compared_only_when_asked(tmp_path: Path) -> None:
    card = _card(counts=[*COUNTS, {"level": "images", "total": 9, "release": "v1"}])
    listing = _listing(tmp_path, NAMES)
    assert check(card, card.configs[0], listing=listing).ok
    r = check(card, card.configs[0], listing=listing, release="v1")
    assert [(c["card"], c["data"], c["equal"]) for c in r.counts] == [(9, 3, False)]


def test_masks_with_no_image_are_unpaired_and_fail(tmp_path: Path) -> None:
    card = _card()
    r = check(card, card.configs[0], listing=_listing(tmp_path, [*NAMES, "masks/normal/P7_z.png"]))
    assert r.unpaired == {"mask": ["masks/normal/P7_z.png"]}
    assert not r.ok
    assert "UNPAIRED 1 mask file(s)" in format_report(r)


def test_a_folder_of_empty_files_is_checked_like_its_listing(tmp_path: Path) -> None:
    card = _card()
    data = tmp_path / "data"
    for n in NAMES:
        (data / n).parent.mkdir(parents=True, exist_ok=True)
        (data / n).write_bytes(b"")  # names only: nothing is decoded
    by_folder = check(card, card.configs[0], data_dir=data)
    by_listing = check(card, card.configs[0], listing=_listing(tmp_path, NAMES))
    assert by_folder.ok and by_folder.to_json() | {"against": ""} == by_listing.to_json() | {"against": ""}


def test_tables_come_from_the_data_dir_and_are_required(tmp_path: Path) -> None:
    layout = {
        "parts": {"f": {"regex": "[^/]+"}},
        "files": {"image": {"pattern": "img/{f}.png", "format": "png"}},
        "tables": {"t": {"path": "labels.csv", "format": "csv", "column": "file", "key": "{_name}"}},
        "labels": {"label": {"table": "t", "column": "diag"}},
        "splits": {"lists": {"train": ["train.txt"], "test": ["test.txt"]}, "key": "{_name}"},
    }
    card = _card(counts=[{"level": "images", "total": 2, "split": "test"}], layout=layout)
    names = ["img/a.png", "img/b.png", "img/c.png", "labels.csv", "train.txt", "test.txt"]
    listing = _listing(tmp_path, names)
    names_only = check(card, card.configs[0], listing=listing)  # tables listed, not given: names only
    assert names_only.ok and names_only.matched["image"] == 3 and not names_only.examples and not names_only.counts
    assert names_only.not_checked == ["labels, splits and counts: the layout reads labels.csv, train.txt, test.txt, "
                                      "not given (pass --data-dir with them)"]
    tables = tmp_path / "tables"
    tables.mkdir()
    (tables / "labels.csv").write_text("file,diag\na.png,covid\nb.png,normal\nc.png,covid\n")
    (tables / "train.txt").write_text("a.png\n")
    (tables / "test.txt").write_text("b.png\nc.png\n")
    r = check(card, card.configs[0], listing=listing, data_dir=tables)
    assert r.ok, format_report(r)
    assert r.matched["table t"] == 1 and r.named == 2  # the two split lists
    assert r.examples == {"all": 3, "train": 1, "test": 2}
    assert r.classes["test"] == {"covid": 1, "normal": 1}
    missing = check(card, card.configs[0], listing=_listing(tmp_path, names[:3]))  # the dataset lacks them
    assert missing.error and "labels.csv" in missing.error and not missing.ok


@pytest.mark.parametrize("path", ["{split}.csv", "*.csv"])
def test_a_table_with_parts_or_wildcards_listed_but_not_given_is_names_only(tmp_path: Path, path: str) -> None:
    """A table whose path has parts (CheXpert's `{release}/{split}.csv`) or wildcards is named only through the
    listing; listed but not given, it leaves labels and counts unchecked instead of failing the run."""
    layout = {
        "parts": {"split": {"regex": "train|valid"}, "f": {"regex": "[^/]+"}},
        "files": {"image": {"pattern": "{split}/{f}.png", "format": "png"}},
        "tables": {"t": {"path": path, "format": "csv", "column": "Path", "key": "{_path}"}},
        "labels": {"label": {"table": "t", "column": "diag"}},
    }
    card = _card(counts=[], layout=layout)
    listing = _listing(tmp_path, ["train/a.png", "train/b.png", "train.csv"])
    r = check(card, card.configs[0], listing=listing)
    assert r.error is None and r.ok, format_report(r)
    assert r.matched == {"image": 2, "table t": 1}
    assert r.not_checked == ["labels, splits and counts: the layout reads train.csv, not given "
                             "(pass --data-dir with them)"]
    missing = check(card, card.configs[0], listing=_listing(tmp_path, ["train/a.png"]))  # the dataset lacks it
    assert missing.error and "table 't'" in missing.error and not missing.ok


def test_slice_order_from_headers_is_not_guessed(tmp_path: Path) -> None:
    layout = {
        "parts": {"scan": {"regex": "[^/]+"}, "f": {"regex": "[^/]+"}},
        "files": {"image": {"pattern": "{scan}/{f}.dcm", "format": "dicom"}},
        "group": {"by": ["scan"], "order_by": "SliceLocation"},
    }
    card = make_card(layout, [], example="slice", image={"formats": ["dicom"], "intensity": "hounsfield"})
    r = check(card, card.configs[0], listing=_listing(tmp_path, ["s1/1.dcm", "s1/2.dcm", "s2/1.dcm"]))
    assert r.scans["all"] == 2
    assert r.not_checked == ["slice order by SliceLocation: read from the DICOM headers, not checked in a "
                             "names-only run"]


def test_listing_format_and_refusals(tmp_path: Path) -> None:
    p = tmp_path / "l.txt"
    p.write_text("./a/b.png\r\n\na\\c.png\nfolder/\n")
    assert read_listing(p) == ["a/b.png", "a/c.png"]
    p.write_text("ok.png\n../../etc/passwd\n")
    with pytest.raises(CheckError, match=r"l.txt:2: '../../etc/passwd' is not a path inside"):
        read_listing(p)
    (tmp_path / "bad.gz").write_bytes(b"not gzip")
    with pytest.raises(CheckError, match="cannot read it"):
        read_listing(tmp_path / "bad.gz")


def test_documents_are_not_data() -> None:
    assert all(map(is_document, ["README", "a/readme.txt", "LICENSE.md", "x/.DS_Store", "__MACOSX/a/b.png",
                                  "a/._b.png", "paper.pdf"]))
    assert not any(map(is_document, ["a/b.png", "b.dcm", "labels.csv", "IM0001", "readmission/1.png"]))


def _cards(tmp_path: Path, card) -> Path:
    import yaml

    folder = tmp_path / "cards"
    folder.mkdir(exist_ok=True)
    (folder / "t.yaml").write_text(yaml.safe_dump(card.model_dump(mode="json", exclude_none=True)))
    return folder


def test_cli_json_and_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cards = _cards(tmp_path, _card(layout=PLAIN))
    names = [n for n in NAMES if not n.startswith("masks/")]
    assert main(["--cards", str(cards), "check", "t", "--listing", str(_listing(tmp_path, names)),
                 "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is True and out["matched"] == {"image": 3} and out["unmatched_files"] == 0
    assert main(["--cards", str(cards), "check", "t"]) == 1
    assert "give --listing FILE or --data-dir DIR" in capsys.readouterr().err
    assert main(["--cards", str(cards), "check", "t", "--data-dir", str(tmp_path / "missing")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_a_gzip_bomb_listing_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    """2 MB of gzip that unpacks to 1 GiB of names (found by a hostile review: 15.6 s, 4.1 GB before)."""
    import zlib

    bomb = tmp_path / "bomb.txt.gz"
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"a/" * (1 << 20)
    with open(bomb, "wb") as fh:
        for _ in range(512):
            fh.write(comp.compress(chunk))
        fh.write(comp.flush())
    with pytest.raises(CheckError, match="more than 32 MiB of names"):
        read_listing(bomb)


def test_a_listing_that_is_a_fifo_is_refused(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "names.txt"
    os.mkfifo(fifo)
    with pytest.raises(CheckError, match="cannot read it"):
        read_listing(fifo)
