"""Croissant JSON-LD: mlcroissant (offline) accepts every card's file without errors.

Parametrized over the registry, so a new card is covered as soon as it is added.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from cardtools import HOSTILE, card_with, hostile_card
from conftest import need
from covidct.cli import main
from covidct.export.croissant import CONTEXT, croissant_for, croissant_json, validate
from covidct.registry import registry

CARD_IDS = sorted(registry().cards())


@pytest.mark.parametrize("card_id", CARD_IDS)
def test_every_card_is_valid_croissant(card_id: str) -> None:
    need("mlcroissant")
    card = registry().get(card_id)
    doc = croissant_for(card)
    assert json.loads(croissant_json(card)) == doc  # plain JSON data
    errors, _warnings = validate(doc)
    assert errors == [], "\n".join(errors)
    assert doc["conformsTo"] == "http://mlcommons.org/croissant/1.1"
    # checksummed file objects for every download that has a checksum
    objects = {d["name"]: d for d in doc.get("distribution", []) if d["@type"] == "cr:FileObject"}
    for dl in card.downloads:
        if dl.md5 or dl.sha256:
            assert objects[dl.name].get("md5") == dl.md5 or objects[dl.name].get("sha256") == dl.sha256
    # one record set per loadable config, named after it
    names = {rs["name"] for rs in doc.get("recordSet", [])}
    for cfg in card.configs:
        if cfg.layout is not None:
            assert cfg.name in names


def test_context_is_the_standard_croissant_1_1_context() -> None:
    need("mlcroissant")
    from mlcroissant._src.core.context import Context, CroissantVersion
    from mlcroissant._src.core.rdf import make_context

    ctx = Context()
    ctx.conforms_to = CroissantVersion.V_1_1
    assert make_context(ctx) == CONTEXT
    validate(croissant_for(registry().get("cncb")))  # mlcroissant adds "@base" to the document it reads...
    assert "@base" not in CONTEXT and croissant_for(registry().get("cncb"))["@context"] == CONTEXT  # ...not ours


def test_record_sets_mirror_the_features() -> None:
    """Each feature of the builder is a Croissant field, or is named in the record set's description."""
    need("datasets")
    from covidct.hf.features import features_for

    for card in registry().cards().values():
        doc = croissant_for(card)
        sets = {rs["@id"]: rs for rs in doc.get("recordSet", [])}
        for cfg in card.configs:
            if cfg.layout is None:
                continue
            rs = sets[cfg.name]
            fields = {f["name"] for f in rs["field"]}
            for side in (s for k, s in sets.items() if k.startswith(f"{cfg.name}.") and k.endswith("-by-image")):
                fields |= {f["name"] for f in side["field"]}
            for name in features_for(card, cfg):
                assert name in fields or f"`{name}`" in rs["description"], f"{card.id}/{cfg.name}: {name}"
            extra = {f for f in fields if not f.startswith("_key_")} - set(features_for(card, cfg)) - {"split"}
            assert not extra, f"{card.id}/{cfg.name}: fields that are not features: {extra}"


def test_labels_become_enumerations_with_inline_classes() -> None:
    doc = croissant_for(registry().get("cncb"))
    sets = {rs["@id"]: rs for rs in doc["recordSet"]}
    classes = sets["classification.label-classes"]
    assert classes["dataType"] == "sc:Enumeration"
    assert [r["classification.label-classes/name"] for r in classes["data"]] == ["NCP", "CP", "Normal"]
    label = next(f for f in sets["classification"]["field"] if f["name"] == "label")
    assert label["references"] == {"field": {"@id": "classification.label-classes/name"}}


def test_image_and_mask_are_joined_on_their_shared_parts(tmp_path: Path) -> None:
    """mlcroissant itself pairs the images and masks of a synthesized fixture through our join."""
    need("mlcroissant")
    import mlcroissant as mlc

    from covidct.fixtures import synthesize

    card = registry().get("cncb")
    manifest = synthesize(card, card.config("lesion-seg"), tmp_path)
    doc = croissant_for(card)
    # describe the local fixture: file sets relative to the JSON-LD file, no archive to download
    doc["distribution"] = [d for d in doc["distribution"] if d["@type"] == "cr:FileSet"]
    for d in doc["distribution"]:
        d.pop("containedIn", None)
    (tmp_path / "croissant.json").write_text(json.dumps(doc), encoding="utf-8")
    records = list(mlc.Dataset(jsonld=str(tmp_path / "croissant.json")).records("lesion-seg"))
    assert len(records) == manifest.count()
    for r in records:
        assert r["lesion-seg/mask"] is not None and r["lesion-seg/image"] is not None
    keys = sorted(r["lesion-seg/_key_mask"].decode() for r in records)
    assert keys == sorted(e.path.removeprefix("image/").removesuffix(".jpg") for e in manifest.examples)


def test_hostile_card_text_stays_data() -> None:
    need("mlcroissant")
    card = hostile_card()
    text = croissant_json(card)
    doc = json.loads(text)
    assert HOSTILE in doc["description"]  # verbatim, as a JSON string
    errors, _ = validate(doc)
    assert errors == []


def test_download_without_checksum_is_not_a_file_object() -> None:
    card = card_with(downloads=[{"name": "x.zip", "url": "https://example.org/x.zip", "archive": "zip"}])
    doc = croissant_for(card)
    assert not [d for d in doc.get("distribution", []) if d["@type"] == "cr:FileObject"]


def test_cli_writes_and_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    need("mlcroissant")
    out = tmp_path / "cncb.json"
    assert main(["croissant", "cncb", "--out", str(out), "--validate"]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["name"] == registry().get("cncb").name
    assert "is valid Croissant" in capsys.readouterr().err


def _ids(doc: dict[str, Any]) -> list[str]:
    out = [d["@id"] for d in doc.get("distribution", [])]
    for rs in doc.get("recordSet", []):
        out.append(rs["@id"])
        out += [f["@id"] for f in rs["field"]]
    return out


@pytest.mark.parametrize("card_id", CARD_IDS)
def test_ids_are_unique(card_id: str) -> None:
    ids = _ids(croissant_for(registry().get(card_id)))
    assert len(ids) == len(set(ids))


def test_cli_prints_each_warning_once(tmp_path: Path) -> None:
    """mlcroissant also logs its warnings through absl: in a real process they printed twice."""
    need("mlcroissant")
    import subprocess
    import sys

    out = tmp_path / "cncb.json"
    code = f"import sys; from covidct.cli import main; sys.exit(main(['croissant', 'cncb', '--out', {str(out)!r}, " \
           "'--validate']))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    props = re.findall(r'Property "([^"]+)" is recommended', proc.stderr)
    assert props, proc.stderr
    assert sorted(props) == sorted(set(props)), proc.stderr  # each warning once
    assert "absl" not in proc.stderr
