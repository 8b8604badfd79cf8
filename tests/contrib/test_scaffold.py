"""`covidct new`: the scaffold follows the model, fails validation until every TODO is gone, and
`--from-folder` fills in what a local copy of the data shows."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from PIL import Image

from conftest import need
from covidct.card.model import Card
from covidct.card.validate import validate_file
from covidct.card.yamlload import load
from covidct.cli import main
from covidct.scaffold import SCHEMA_LINE, required_fields, scaffold_text, sniff


def _write_card(tmp_path: Path, text: str, card_id: str) -> Path:
    path = tmp_path / f"{card_id}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------ plain


def test_new_writes_the_card_with_schema_line_and_comments(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["--cards", str(tmp_path), "new", "demo-set"]) == 0
    text = (tmp_path / "demo-set.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == SCHEMA_LINE
    data = load(text).data
    assert set(required_fields(Card)) <= set(data)
    # every top-level key carries a comment right above it, taken from the model's description
    for i, line in enumerate(lines):
        if re.match(r"^[a-z_]+:", line):
            assert lines[i - 1].startswith("#"), f"no comment above {line!r}"
    assert "# Unique id, equal to the file name without `.yaml`" in text
    assert "Allowed: open, registration, request, competition, unavailable." in text


def test_scaffold_fails_validation_listing_each_todo(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = _write_card(tmp_path, scaffold_text("demo-set"), "demo-set")
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    lines = path.read_text().splitlines()
    todo_lines = {i + 1 for i, line in enumerate(lines) if "TODO" in line and not line.lstrip().startswith("#")}
    reported = {int(m.group(1)) for m in re.finditer(rf"{re.escape(str(path))}:(\d+):\d+: ", out)}
    assert reported == todo_lines  # every TODO is reported, and nothing else is wrong
    assert set(re.findall(r":\d+:\d+: (\w+) ", out)) == {"C313"}  # once each, as what is missing
    c313 = re.findall(r": C313 TODO left in `([^`]+)`", out)
    for where in ("name", "summary", "license.id", "access.kind", "configs.0.tasks.0", "sources.0.url"):
        assert where in c313


def _fill(node: Any, path: tuple = ()) -> Any:
    """Replace every TODO as a contributor would, with a valid value for its field."""
    values = {"name": "Demo set", "summary": "A demo.", "description": "Demo text.", "modality": "CT",
              "anatomy": "chest", "homepage": "https://example.org/demo", "url": "https://example.org/demo",
              "redistribution": "allowed", "source": "paper", "instructions": "Unzip into DATA_DIR.",
              "tasks": "image-classification", "dimensionality": "2D", "example": "image",
              "granularity": "image", "level": "images", "total": 3, "formats": "png", "bit_depth": 8,
              "intensity": "windowed-8bit", "doi": "10.1234/demo", "bibtex": "@misc{demo}", "title": "Paper"}
    if isinstance(node, dict):
        return {k: _fill(v, (*path, k)) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, (*path, i)) for i, v in enumerate(node)]
    if node == "TODO":
        key = next(p for p in reversed(path) if isinstance(p, str))
        if key == "name" and "mask_values" in path:
            return f"value {path[-2]}"
        if key == "kind":
            return "open" if "access" in path else "class"
        if key == "id":
            return "CC-BY-4.0"
        if key == "name" and "classes" in path:
            return "a"
        if key == "name" and "license" in path:
            return "Creative Commons Attribution 4.0"
        if key == "source" and "labels" in path:
            return "radiologists"
        return values[key]
    return node


def test_filling_every_todo_gives_a_valid_card(tmp_path: Path) -> None:
    data = _fill(yaml.safe_load(scaffold_text("demo-set")))
    path = _write_card(tmp_path, yaml.safe_dump(data, allow_unicode=True), "demo-set")
    result = validate_file(path)
    assert [i.format() for i in result.issues if i.severity.value == "error"] == []
    assert result.card is not None and result.card.id == "demo-set"


def test_existing_card_is_not_overwritten(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "demo.yaml").write_text("keep me")
    assert main(["--cards", str(tmp_path), "new", "demo"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "demo.yaml").read_text() == "keep me"
    assert main(["--cards", str(tmp_path), "new", "demo", "--force"]) == 0
    assert (tmp_path / "demo.yaml").read_text().startswith(SCHEMA_LINE)


@pytest.mark.parametrize("bad", ["Demo", "../evil", "a_b", "x" * 65, "x-", "a--b"])
def test_bad_ids_are_refused_with_a_message(tmp_path: Path, bad: str, capsys: pytest.CaptureFixture) -> None:
    assert main(["--cards", str(tmp_path), "new", bad]) == 1
    err = capsys.readouterr().err
    assert "not a valid card id" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------ from a folder


def _png(path: Path, arr: np.ndarray, fmt: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, format=fmt)


@pytest.fixture
def seg_folder(tmp_path: Path) -> Path:
    """CNCB-like: image/{scan}/{frame}.jpg with mask/{scan}/{frame}.png of values 0, 1, 3."""
    root = tmp_path / "seg"
    rng = np.random.default_rng(0)
    for scan in (1, 2, 10):
        for frame in range(3):
            _png(root / "image" / str(scan) / f"{frame}.jpg", rng.integers(0, 255, (40, 60), dtype=np.uint8))
            mask = np.zeros((40, 60), np.uint8)
            mask[:5], mask[5:9] = 1, 3
            _png(root / "mask" / str(scan) / f"{frame}.png", mask)
    (root / "README.txt").write_text("readme")
    return root


@pytest.fixture
def class_folder(tmp_path: Path) -> Path:
    """{split}/{label}/{image}.png with 16-bit PNGs and one JPEG that calls itself .png."""
    root = tmp_path / "cls"
    rng = np.random.default_rng(1)
    for split, n in (("train", 3), ("test", 2)):
        for cls in ("COVID", "non-COVID"):
            for i in range(n):
                _png(root / split / cls / f"img {i}%.png", rng.integers(0, 65535, (32, 48), dtype=np.uint16))
    _png(root / "train" / "COVID" / "liar.png", np.zeros((32, 48), np.uint8), fmt="JPEG")
    (root / "labels.csv").write_text("file,class\nimg 0%.png,COVID\n")
    return root


def _data(text: str) -> dict[str, Any]:
    return load(text).data


def test_from_folder_segmentation_layout(seg_folder: Path) -> None:
    text = scaffold_text("seg-demo", seg_folder)
    cfg = _data(text)["configs"][0]
    lay = cfg["layout"]
    assert lay["files"] == {"image": {"pattern": "image/{scan}/{slice}.jpg", "format": "jpeg"},
                            "mask": {"pattern": "mask/{scan}/{slice}.png", "format": "png"}}
    assert lay["parts"]["scan"] == {"regex": "[0-9]+", "type": "int"}
    assert cfg["tasks"] == ["image-segmentation"]
    mask = next(lab for lab in cfg["labels"] if lab["kind"] == "mask")
    assert [m["value"] for m in mask["mask_values"]] == [0, 1, 3]
    counts = {c["level"]: c["total"] for c in cfg["counts"]}
    assert counts == {"slices": 9, "scans": 3}
    img = cfg["image"]
    assert img["formats"] == ["jpeg"] and img["bit_depth"] == [8] and img["size"]["min"] == [60, 40]
    assert "#   image/1: 3" in text  # files per folder


def test_from_folder_classes_splits_bit_depth_and_lying_extensions(class_folder: Path) -> None:
    text = scaffold_text("cls-demo", class_folder)
    cfg = _data(text)["configs"][0]
    lay = cfg["layout"]
    assert lay["files"]["image"]["pattern"] == "{split}/{label}/{image}.png"
    assert lay["labels"] == {"label": {"part": "label"}}
    assert lay["splits"] == {"by": {"part": "split"}}
    assert [c["name"] for c in cfg["labels"][0]["classes"]] == ["COVID", "non-COVID"]
    assert cfg["image"]["formats"] == ["jpeg", "png"]  # sniffed: one .png holds JPEG bytes
    assert cfg["image"]["bit_depth"] == [8, 16]
    whole = next(c for c in cfg["counts"] if "split" not in c)
    assert whole["total"] == 11 and whole["by_class"] == {"COVID": 6, "non-COVID": 5}
    assert {c["split"]: c["total"] for c in cfg["counts"] if "split" in c} == {"test": 4, "train": 7}
    assert "labels.csv (columns: file,class)" in " ".join(text.split())


def test_sniff_goes_by_content_not_extension(tmp_path: Path) -> None:
    _png(tmp_path / "a.png", np.zeros((4, 4), np.uint8), fmt="JPEG")
    _png(tmp_path / "b.jpg", np.zeros((4, 4), np.uint8), fmt="PNG")
    _png(tmp_path / "c.png", np.zeros((4, 4), np.uint8), fmt="BMP")
    _png(tmp_path / "d.bin", np.zeros((4, 4), np.uint16), fmt="TIFF")
    np.save(tmp_path / "e.dat", np.zeros(3))
    (tmp_path / "f.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\0" * 100)
    got = {p.name: sniff(p) for p in sorted(tmp_path.iterdir())}
    assert got == {"a.png": "jpeg", "b.jpg": "png", "c.png": "bmp", "d.bin": "tiff", "e.dat.npy": "npy",
                   "f.dcm": "dicom"}


def test_hostile_file_names_stay_data(tmp_path: Path) -> None:
    """Names with quotes, newlines, braces and YAML syntax cannot add keys or break the card."""
    root = tmp_path / "odd"
    names = ['x"y', "a: {b: c}", "new\nline: injected", "{{brace}}", "#hash", "- dash"]
    for cls in names:
        for i in range(2):
            _png(root / cls / f"{i}.png", np.zeros((8, 8), np.uint8))
    text = scaffold_text("odd", root)
    data = _data(text)  # the safe loader would refuse duplicate keys or tags
    assert "injected" not in data and "line" not in data
    classes = [c["name"] for c in data["configs"][0]["labels"][0]["classes"]]
    assert sorted(classes) == sorted(names)
    for line in text.splitlines():
        assert not line.startswith("line: injected")


def test_symlinks_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _png(outside / "secret.png", np.zeros((8, 8), np.uint8))
    root = tmp_path / "data"
    _png(root / "a" / "0.png", np.zeros((8, 8), np.uint8))
    (root / "link").symlink_to(outside, target_is_directory=True)
    (root / "a" / "file-link.png").symlink_to(outside / "secret.png")
    text = scaffold_text("links", root)
    assert "secret" not in text.replace("file-link.png", "")
    assert "symbolic link, not followed" in text


def test_not_a_folder_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["--cards", str(tmp_path), "new", "x", "--from-folder", str(tmp_path / "nope")]) == 1
    assert "not a folder" in capsys.readouterr().err


def test_from_folder_on_real_dicom_sample(samples_dir: Path) -> None:
    cfg = _data(scaffold_text("md", samples_dir / "covid-ct-md"))["configs"][0]
    assert cfg["layout"]["files"]["image"] == {"pattern": "{label}/{patient}/{slice}.dcm", "format": "dicom"}
    img = cfg["image"]
    assert img["formats"] == ["dicom"] and img["bit_depth"] == [12]
    assert img["intensity"] == "stored-with-rescale"
    assert img["size"]["max"] == [512, 512]
    slices = next(c for c in cfg["counts"] if c["level"] == "slices")
    assert slices["by_class"]["COVID-19 subjects"] == 133


@pytest.mark.parametrize("folder", ["seg_folder", "class_folder"])
def test_the_guessed_layout_loads_the_folder(request: pytest.FixtureRequest, tmp_path: Path, folder: str) -> None:
    """What CONTRIBUTING promises: scaffold from a folder, fill the TODOs, and the card loads that folder."""
    need("datasets")
    from covidct.hf.builder import builder_for
    from covidct.hf.load import prepare

    root = request.getfixturevalue(folder)
    data = _fill(yaml.safe_load(scaffold_text("demo-set", root)))
    path = _write_card(tmp_path, yaml.safe_dump(data, allow_unicode=True), "demo-set")
    result = validate_file(path)
    assert [i.format() for i in result.issues if i.severity.value == "error"] == []
    card = result.card
    assert card is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = prepare(builder_for(card, "default", data_dir=root, cache_dir=tmp_path / "cache"))
    cfg = card.config("default")
    whole = next(c for c in cfg.counts if c.split is None)
    assert sum(len(s) for s in ds.values()) == whole.total
    for c in cfg.counts:
        if c.split is not None:
            assert len(ds[c.split]) == c.total
    if cfg.labels[0].kind.value == "class":
        names = ds[next(iter(ds))].features["label"].names
        assert names == [c.name for c in cfg.labels[0].classes]


def test_scaffold_sniffs_as_the_readers_do(tmp_path: Path) -> None:
    """`covidct new` and the loader ask the same format registry: a DICOM whose preamble holds a TIFF
    header is DICOM (not tiff), a NIfTI-2 file is NIfTI (not other), gzipped too."""
    need("nibabel")
    import gzip

    import nibabel as nib

    from covidct.readers import sniff as readers_sniff

    body = (b"\x08\x00\x16\x00UI\x04\x001.2\x00") * 8
    (tmp_path / "tiffy.dcm").write_bytes(b"II*\x00" + b"\0" * 124 + b"DICM" + body)
    (tmp_path / "tiffy.tif").write_bytes(b"MM\x00*" + b"\0" * 124 + b"DICM" + body)  # the suffix lies too
    img = nib.Nifti2Image(np.zeros((4, 4, 2), np.int16), np.eye(4))
    nib.save(img, tmp_path / "vol2.nii")
    (tmp_path / "vol2.nii.gz").write_bytes(gzip.compress((tmp_path / "vol2.nii").read_bytes()))
    got = {p.name: sniff(p) for p in sorted(tmp_path.iterdir())}
    assert got == {"tiffy.dcm": "dicom", "tiffy.tif": "dicom", "vol2.nii": "nifti", "vol2.nii.gz": "nifti"}
    assert got == {p.name: readers_sniff(p).value for p in sorted(tmp_path.iterdir())}


def test_every_writable_format_is_sniffed_alike_by_scaffold_and_readers(tmp_path: Path) -> None:
    """The class of the disagreement: each format's own writer makes a file, and both sniffers name that format."""
    from covidct.readers import sniff as readers_sniff
    from covidct.readers.formats import SliceFacts, WriteSpec, all_formats

    writable = [f for f in all_formats() if f.writer is not None]
    assert {f.value for f in writable} >= {"jpeg", "png", "bmp", "tiff", "dicom", "nifti", "metaimage", "nrrd", "npy"}
    for f in writable:
        if f.library:
            need(f.library)
        arr = np.arange(2 * 8 * 8, dtype=np.uint8).reshape(2, 8, 8)
        if f.slice_per_file:
            arr = arr[0]
        target = tmp_path / f"x-{f.value}{f.suffixes[0]}"
        f.write(arr, target, WriteSpec(name=target.name, slice=SliceFacts(0, 0, 0.0, 1, "p")))
        assert sniff(target) == f.value, target
        assert readers_sniff(target).value == f.value, target
