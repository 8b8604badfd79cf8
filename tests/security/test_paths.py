"""A hostile card cannot make covidct read or write outside the data, cache and output folders.

Two gates: the validator refuses unsafe paths in a card (C306), and the loader refuses them again at
the point of use, because a card can also arrive without validation (a Hub folder's card.json, a
loading script's embedded card, the Python API). Each loader test puts a file *outside* the data
folder that would make loading succeed if it were read, so "refused" cannot mean "read, then failed".
"""

from __future__ import annotations

import copy
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

BASE: dict[str, Any] = {
    "id": "paths",
    "name": "Path test",
    "summary": "Two classes of PNG slices.",
    "description": "Used by the path-safety tests.",
    "modality": ["CT"],
    "anatomy": ["chest"],
    "license": {"id": "CC-BY-4.0", "redistribution": "allowed", "source": ["home"]},
    "access": {"kind": "open", "source": ["home"]},
    "configs": [{
        "name": "default",
        "tasks": ["image-classification"],
        "dimensionality": "2D",
        "example": "image",
        "labels": [{"name": "label", "kind": "class", "granularity": "image", "source": ["radiologists"],
                    "classes": [{"name": "a", "value": 0}, {"name": "b", "value": 1}]}],
        "image": {"formats": ["png"], "intensity": "windowed-8bit"},
        "layout": {
            "parts": {"cls": {"regex": "a|b"}, "image": {"regex": "[0-9]+"}},
            "files": {"image": {"pattern": "{cls}/{image}.png", "format": "png"}},
            "labels": {"label": {"part": "cls"}},
        },
    }],
    "sources": [{"id": "home", "title": "Home", "url": "https://example.org/data"}],
    "last_reviewed": "2026-11-22",
}


def _data(**layout: Any) -> dict[str, Any]:
    d = copy.deepcopy(BASE)
    d["configs"][0]["layout"].update(layout)
    return d


def _png(path: Path, value: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((4, 4), value, np.uint8)).save(path)


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    """(data_dir with a/0.png, a/1.png, b/0.png, b/1.png; a folder beside it holding 'outside' files)."""
    data = tmp_path / "data"
    for cls in "ab":
        for i in range(2):
            _png(data / cls / f"{i}.png", i)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "train.txt").write_text("0.png\n1.png\n")
    (outside / "meta.csv").write_text("id,age\n0,50\n1,60\n")
    np.save(outside / "rows.npy", np.zeros((4, 2), np.uint8))
    for cls in "ab":
        for i in range(5):
            _png(outside / cls / f"{i + 10}.png")
    return data, outside


def _load(data: dict[str, Any], data_dir: Path, tmp_path: Path) -> Any:
    need("datasets")
    from covidct.hf.builder import builder_for
    from covidct.hf.load import prepare

    card = Card.model_validate(data)  # the model alone: no semantic checks, as for a Hub card.json
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return prepare(builder_for(card, "default", data_dir=data_dir, cache_dir=tmp_path / "cache"))


def _refused(data: dict[str, Any], data_dir: Path, tmp_path: Path, *words: str) -> str:
    from covidct.card.pattern import PatternError
    from covidct.layout.walk import LayoutError

    with pytest.raises((LayoutError, PatternError, ValueError)) as info:
        _load(data, data_dir, tmp_path)
    msg = str(info.value)
    for w in words:
        assert w in msg, msg
    assert "Traceback" not in msg
    return msg


def _validate(tmp_path: Path, data: dict[str, Any]) -> list[str]:
    path = tmp_path / "paths.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return [i.code for i in validate_file(path).issues if i.severity.value == "error"]


# ------------------------------------------------------------------------------------------ sanity


def test_the_base_card_loads(dirs: tuple[Path, Path], tmp_path: Path) -> None:
    data_dir, _ = dirs
    assert _validate(tmp_path, _data()) == []
    ds = _load(_data(), data_dir, tmp_path)
    assert sum(len(s) for s in ds.values()) == 4


# ------------------------------------------------------------------------------------------ the validator

UNSAFE = ["../outside/{cls}/{image}.png", "/etc/{cls}/{image}.png", "a/../../{cls}/{image}.png",
          "./{cls}/{image}.png", "C:/data/{cls}/{image}.png", "a\\..\\{cls}/{image}.png", "a\x00/{cls}/{image}.png"]


@pytest.mark.parametrize("pattern", UNSAFE)
def test_validator_refuses_unsafe_file_patterns(tmp_path: Path, pattern: str) -> None:
    data = _data(files={"image": {"pattern": pattern, "format": "png"}})
    assert "C306" in _validate(tmp_path, data)


@pytest.mark.parametrize("where,value", [
    ("root", "../outside"), ("root", "/etc"),
    ("tables", {"meta": {"path": "../outside/meta.csv", "format": "csv", "column": "id", "key": "{image}"}}),
    ("arrays", {"rows": {"path": "/tmp/rows.npy", "row_table": "meta"}}),
    ("exclude", ["../**"]),
    ("splits", {"lists": {"train": ["../outside/train.txt"]}}),
])
def test_validator_refuses_unsafe_paths_everywhere(tmp_path: Path, where: str, value: Any) -> None:
    data = _data(**{where: value})
    if where == "arrays":
        data["configs"][0]["layout"]["tables"] = {
            "meta": {"path": "meta.csv", "format": "csv", "column": "id", "key": "{image}"}}
    assert "C306" in _validate(tmp_path, data)


# ------------------------------------------------------------------------------------------ the loader


@pytest.mark.parametrize("pattern", UNSAFE[:5])
def test_loader_refuses_unsafe_file_patterns(dirs: tuple[Path, Path], tmp_path: Path, pattern: str) -> None:
    data_dir, _ = dirs
    _refused(_data(files={"image": {"pattern": pattern, "format": "png"}}), data_dir, tmp_path)


@pytest.mark.parametrize("root", ["../outside", "/", "a/../../outside"])
def test_loader_refuses_a_root_outside_the_data_folder(dirs: tuple[Path, Path], tmp_path: Path, root: str) -> None:
    data_dir, _ = dirs
    _refused(_data(root=root, files={"image": {"pattern": "{cls}/{image}.png", "format": "png"}}), data_dir,
             tmp_path)


def test_loader_refuses_a_root_that_is_a_symlink_out(dirs: tuple[Path, Path], tmp_path: Path) -> None:
    data_dir, outside = dirs
    (data_dir / "link").symlink_to(outside, target_is_directory=True)
    _refused(_data(root="link"), data_dir, tmp_path, "outside the data folder")


def test_symlinked_folders_and_files_are_not_followed(dirs: tuple[Path, Path], tmp_path: Path) -> None:
    data_dir, outside = dirs
    (data_dir / "a" / "7.png").symlink_to(outside / "a" / "10.png")  # a file link
    (data_dir / "b" / "sub").symlink_to(outside / "b", target_is_directory=True)
    _png(data_dir / "c" / "9.png")
    try:
        ds = _load(_data(files={"image": {"pattern": "**/{image}.png", "format": "png"}},
                         labels={"label": {"value": "a"}}), data_dir, tmp_path)
    except Exception as exc:  # refusing the whole load is fine too, with a message naming the link
        assert "link" in str(exc)
        return
    n = sum(len(s) for s in ds.values())
    assert n == 5  # a/0, a/1, b/0, b/1, c/9: nothing from outside, neither link


@pytest.mark.parametrize("kind", ["tables", "splits"])
def test_loader_refuses_table_and_list_paths_outside(dirs: tuple[Path, Path], tmp_path: Path,
                                                           kind: str) -> None:
    data_dir, _ = dirs
    meta_out = {"meta": {"path": "../outside/meta.csv", "format": "csv", "column": "id", "key": "{image}"}}
    (data_dir / "meta.csv").write_text("id,age\n0,50\n1,60\n")
    if kind == "tables":
        data = _data(tables=meta_out, fields={"age": {"table": "meta", "column": "age"}})
    else:
        data = _data(splits={"lists": {"train": ["../outside/train.txt"]}, "key": "{_name}"})
    _refused(data, data_dir, tmp_path)


@pytest.mark.parametrize("kind", ["tables", "splits"])
def test_loader_refuses_paths_through_a_symlinked_folder(dirs: tuple[Path, Path], tmp_path: Path,
                                                         kind: str) -> None:
    data_dir, outside = dirs
    (data_dir / "meta.csv").write_text("id,age\n0,50\n1,60\n")
    (data_dir / "ext").symlink_to(outside, target_is_directory=True)
    if kind == "tables":
        data = _data(tables={"meta": {"path": "ext/meta.csv", "format": "csv", "column": "id", "key": "{image}"}},
                     fields={"age": {"table": "meta", "column": "age"}})
    else:
        data = _data(splits={"lists": {"train": ["ext/train.txt"]}, "key": "{_name}"})
    _refused(data, data_dir, tmp_path)


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlinked-folder"])
def test_loader_refuses_label_arrays_outside(tmp_path: Path, how: str) -> None:
    """NPY label arrays (COVID-CT-MD's slice labels): the real card's layout, the array moved out."""
    need("datasets")
    from covidct.fixtures import synthesize
    from covidct.registry import load_card

    card = load_card("covid-ct-md")
    cfg = next(c for c in card.configs if c.layout is not None and c.layout.arrays)
    data_dir = tmp_path / "data"
    synthesize(card, cfg.name, data_dir)
    outside = tmp_path / "outside"
    outside.mkdir()
    data = card.model_dump(mode="json", exclude_none=True)
    lay = next(c for c in data["configs"] if c["name"] == cfg.name)["layout"]
    for spec in lay["arrays"].values():
        src = data_dir / spec["path"]
        if src.exists():
            src.rename(outside / src.name)
        spec["path"] = {"dotdot": f"../outside/{src.name}", "absolute": str(outside / src.name),
                        "symlinked-folder": f"ext/{src.name}"}[how]
    if how == "symlinked-folder":
        (data_dir / "ext").symlink_to(outside, target_is_directory=True)
    from covidct.card.pattern import PatternError
    from covidct.hf.builder import builder_for
    from covidct.hf.load import prepare
    from covidct.layout.walk import LayoutError

    hostile = Card.model_validate(data)
    with pytest.raises((LayoutError, PatternError)) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepare(builder_for(hostile, cfg.name, data_dir=data_dir, cache_dir=tmp_path / "cache"))
    assert "array" in str(info.value)


# ------------------------------------------------------------------------------------------ fixtures


@pytest.mark.parametrize("regex,root", [(r"\.\.", ""), (r"\.\./\.\./escaped", ""), ("ABS", ""),
                                        (r"[.][.]", ""), ("x", "../.."), ("x", "ABS")])
def test_fixture_synthesizer_never_writes_outside_its_folder(tmp_path: Path, regex: str, root: str) -> None:
    need("covidct.fixtures")
    from covidct.fixtures import FixtureError, synthesize

    escaped = tmp_path / "escaped"  # an absolute path outside the output folder
    regex, root = (str(escaped) if v == "ABS" else v for v in (regex, root))
    data = _data(parts={"cls": {"regex": "a|b"}, "image": {"regex": "[0-9]+"}, "up": {"regex": regex}},
                 files={"image": {"pattern": "{up}/{cls}/{image}.png", "format": "png"}}, root=root)
    card = Card.model_validate(data)
    out = tmp_path / "deep" / "out"
    before = {p for p in tmp_path.rglob("*")}
    with pytest.raises(FixtureError, match=r"outside|absolute|`\.\.`"):
        synthesize(card, "default", out)
    after = {p for p in tmp_path.rglob("*")}
    outside = [p for p in after - before if out not in p.parents and p != out and p not in out.parents]
    assert outside == []
    assert not escaped.exists()


# ------------------------------------------------------------------------------------------ links on the way
# One containment function (covidct.fsutil.resolve_inside) resolves every component of every path the
# loader reads: a link in the middle of a pattern's literal prefix, at its first component, in a layout
# root, in a table or array path, or named by a header inside the data.


def _outside_tree(outside: Path) -> None:
    """outside/sub/{a,b}/{20,21,22}.png: the 6 files the review's load returned."""
    for cls in "ab":
        for i in range(3):
            _png(outside / "sub" / cls / f"{i + 20}.png")


@pytest.mark.parametrize("prefix", ["img", "deep/img"])
def test_a_link_in_the_middle_of_a_pattern_prefix_is_not_followed(dirs: tuple[Path, Path], tmp_path: Path,
                                                                 prefix: str) -> None:
    """The review's case: data/img -> ../outside, pattern img/sub/{cls}/{image}.png returned 6 examples
    read from outside. Only the prefix's last component (img/sub) used to be checked."""
    data_dir, outside = dirs
    _outside_tree(outside)
    link = data_dir / prefix
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside, target_is_directory=True)
    data = _data(files={"image": {"pattern": f"{prefix}/sub/{{cls}}/{{image}}.png", "format": "png"}})
    msg = _refused(data, data_dir, tmp_path, "resolves outside the data folder")
    assert f"{prefix}/sub" in msg


def test_a_prefix_link_among_good_files_is_reported_and_nothing_outside_is_read(dirs: tuple[Path, Path],
                                                                               tmp_path: Path) -> None:
    data_dir, outside = dirs
    _outside_tree(outside)
    (data_dir / "img").symlink_to(outside, target_is_directory=True)
    data = _data(files={"image": {"pattern": "{cls}/{image}.png", "format": "png"},
                        "mask": {"pattern": "img/sub/{cls}/{image}.png", "format": "png", "required": False}})
    data["configs"][0]["labels"].append({"name": "mask", "kind": "mask", "granularity": "pixel",
                                         "source": ["radiologists"], "mask_values": [{"value": 0, "name": "bg"}]})
    data["configs"][0]["tasks"].append("image-segmentation")
    need("datasets")
    from covidct.layout.plan import LayoutWarning, make_plan

    with pytest.warns(LayoutWarning, match="img/sub .resolves outside the data folder"):
        plan = make_plan(Card.model_validate(data), "default", [data_dir])
    files = [f for r in plan.records() for fs in r.files.values() for f in fs]
    assert len(files) == 4 and all(str(outside) not in f for f in files), files


def test_a_data_folder_that_is_a_link_is_the_users_choice(dirs: tuple[Path, Path], tmp_path: Path) -> None:
    data_dir, _ = dirs
    (tmp_path / "mine").symlink_to(data_dir, target_is_directory=True)
    ds = _load(_data(), tmp_path / "mine", tmp_path)
    assert sum(len(s) for s in ds.values()) == 4


def test_paths_given_by_tables_and_lists_are_keys_never_files(dirs: tuple[Path, Path], tmp_path: Path) -> None:
    """A label table or split list holding ``..``, absolute or Windows-style paths out of the folder: they
    are compared with the paths of walked files, never opened, so they can only fail to match."""
    data_dir, outside = dirs
    hostile = ["../outside/a/10.png", str(outside / "a" / "11.png"), "..\\outside\\a\\12.png",
               "a/../../outside/a/13.png"]
    (data_dir / "meta.csv").write_text("path,age\n" + "".join(f"{p},99\n" for p in hostile) + "a/0.png,50\n")
    (data_dir / "train.txt").write_text("\n".join([*hostile, "a/0.png", "b/1.png"]) + "\n")
    data = _data(tables={"meta": {"path": "meta.csv", "format": "csv", "column": "path", "key": "{_path}"}},
                 fields={"age": {"table": "meta", "column": "age"}},
                 splits={"lists": {"train": ["train.txt"]}, "key": "{_path}"})
    ds = _load(data, data_dir, tmp_path)
    rows = [r for s in ds.values() for r in s]
    assert sorted(r["path"] for r in rows) == ["a/0.png", "b/1.png"]
    assert {r["path"]: r["age"] for r in rows} == {"a/0.png": "50", "b/1.png": None}


@pytest.mark.parametrize("how", ["dotdot", "absolute", "link"])
def test_a_header_in_the_data_cannot_name_a_data_file_outside(tmp_path: Path, how: str) -> None:
    """MetaImage's ElementDataFile (and NRRD's data file, an Analyze .img) are paths too: a .mhd in a
    downloaded dataset must not make ITK read a file outside the data folder as pixels."""
    need("SimpleITK")
    from covidct import readers

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.raw").write_bytes(bytes(range(16)))
    name = {"dotdot": "../outside/secret.raw", "absolute": str(outside / "secret.raw"), "link": "secret.raw"}[how]
    if how == "link":
        (data_dir / "secret.raw").symlink_to(outside / "secret.raw")
    (data_dir / "scan.mhd").write_text("ObjectType = Image\nNDims = 2\nDimSize = 4 4\nElementType = MET_UCHAR\n"
                                       f"ElementDataFile = {name}\n")
    with pytest.raises(readers.ReadError, match="resolves outside"):
        readers.read(data_dir / "scan.mhd", "metaimage")
    with pytest.raises(readers.ReadError, match="resolves outside"):
        readers.read_header(data_dir / "scan.mhd")
    if how != "link":
        (data_dir / "scan.raw").write_bytes(bytes(16))  # the .raw given instead of its header: the same check
        with pytest.raises(readers.ReadError, match="resolves outside"):
            readers.read(data_dir / "scan.raw", "metaimage")
    (data_dir / "scan.nhdr").write_text(f"NRRD0004\ntype: uchar\ndimension: 2\nsizes: 4 4\nencoding: raw\n"
                                        f"data file: {name}\n")
    with pytest.raises(readers.ReadError, match="resolves outside"):
        readers.read(data_dir / "scan.nhdr", "nrrd")


def test_a_nifti_pair_cannot_reach_outside(tmp_path: Path) -> None:
    """A .hdr/.img pair: nibabel opens the .img beside the .hdr it is given, link or not."""
    nib = need("nibabel")
    from covidct import readers

    data_dir = tmp_path / "data"
    outside = tmp_path / "outside"
    data_dir.mkdir()
    outside.mkdir()
    img = nib.Nifti1Pair(np.arange(16, dtype=np.uint8).reshape(4, 4, 1), np.eye(4))
    nib.save(img, str(outside / "scan.hdr"))
    (data_dir / "scan.hdr").write_bytes((outside / "scan.hdr").read_bytes())
    (data_dir / "scan.img").symlink_to(outside / "scan.img")
    with pytest.raises(readers.ReadError, match="resolves outside"):
        readers.read(data_dir / "scan.hdr", "nifti")
    (data_dir / "scan.img").unlink()
    (data_dir / "scan.img").write_bytes((outside / "scan.img").read_bytes())
    assert readers.read(data_dir / "scan.hdr", "nifti").array.size == 16  # a real pair still reads


def test_an_ome_tiff_cannot_pull_in_a_file_outside(tmp_path: Path) -> None:
    """OME-TIFF series may span files named in the OME-XML (FileName="../outside/secret.tif"); tifffile
    reads them. covidct reads the file it was given, never the files it names."""
    tifffile = need("tifffile")
    from covidct import readers

    data_dir = tmp_path / "data"
    outside = tmp_path / "outside"
    data_dir.mkdir()
    outside.mkdir()
    tifffile.imwrite(outside / "secret.tif", np.full((4, 4), 42, np.uint8))
    uuid = "urn:uuid:{}-1111-1111-1111-111111111111"
    xml = ('<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06" '
           f'UUID="{uuid.format("11111111")}"><Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYZCT" '
           'Type="uint8" SizeX="4" SizeY="4" SizeZ="2" SizeC="1" SizeT="1"><Channel ID="Channel:0:0" '
           'SamplesPerPixel="1"/><TiffData IFD="0" PlaneCount="1" FirstZ="0"><UUID FileName="a.tif">'
           f'{uuid.format("11111111")}</UUID></TiffData><TiffData IFD="0" PlaneCount="1" FirstZ="1"><UUID '
           f'FileName="../outside/secret.tif">{uuid.format("22222222")}</UUID></TiffData></Pixels></Image></OME>')
    tifffile.imwrite(data_dir / "a.tif", np.zeros((4, 4), np.uint8), description=xml, metadata=None)
    with tifffile.TiffFile(data_dir / "a.tif") as tf:  # the attack works on tifffile itself
        assert tf.series[0].asarray().max() == 42
    arr = readers.read(data_dir / "a.tif", "tiff").array
    assert arr.max() == 0 and arr.shape == (4, 4)
