"""Discovery by concept: the catalog's concepts, `covidct list --concept`, and codes in Croissant and the README."""

from __future__ import annotations

import json

import pytest

from covidct.cli import main
from covidct.concepts import concept_rows
from covidct.registry import catalog, registry


def test_every_class_of_every_card_is_coded_or_unmapped() -> None:
    from covidct.card.codes import coded_items

    bare = [(c.id, ci.config.name, ci.label.name, ci.item.name) for c in registry().cards().values()
            for ci in coded_items(c) if not ci.item.codes and not ci.item.unmapped]
    assert not bare


def test_catalog_has_concepts() -> None:
    df = catalog().set_index("id")
    assert "SCTID:840539006" in df.loc["cncb", "concepts"]
    assert "COVID-19" in df.loc["covid-ct", "concept_names"]
    assert "SCTID:840539006" not in df.loc["luna16", "concepts"]


@pytest.mark.parametrize("wanted", ["840539006", "SCTID:840539006", "covid-19"])
def test_list_by_concept(wanted: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--concept", wanted, "--format", "ids"]) == 0
    ids = capsys.readouterr().out.split()
    assert {"cncb", "covid-ct", "covid-ctset", "covid-ct-md"} <= set(ids)
    assert "luna16" not in ids and "lidc-idri" not in ids


def test_a_negative_class_does_not_carry_its_concept() -> None:
    rows = concept_rows(registry().cards().values())
    covid_ct = {r.cls for r in rows if r.card.id == "covid-ct" and r.code.code == "840539006"}
    assert covid_ct == {"COVID"}  # NonCOVID is coded "COVID-19 absent"
    chexpert = {r.cls for r in rows if r.card.id == "chexpert" and r.label == "pneumonia"}
    assert chexpert == {"positive"}


def test_croissant_gives_exact_classes_their_concept_url() -> None:
    from covidct.export.croissant import croissant_for

    doc = croissant_for(registry().get("covid-ct"))
    enum = next(rs for rs in doc["recordSet"] if rs.get("dataType") == "sc:Enumeration")
    urls = {row[f"{enum['@id']}/name"]: row[f"{enum['@id']}/url"] for row in enum["data"]}
    assert urls == {"COVID": "http://snomed.info/id/840539006", "NonCOVID": ""}
    assert json.dumps(doc)


def test_hub_readme_lists_codes_in_the_label_table() -> None:
    from covidct.hf.readme import render_readme

    text = render_readme(registry().get("cncb"), "parquet")
    assert "| Value | Class | Meaning | Codes |" in text
    assert "[SNOMED CT 840539006 COVID-19](http://snomed.info/id/840539006) (narrower)" in text
    assert "unmapped: a mask's background marks no structure or finding" in text
