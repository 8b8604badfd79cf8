"""`covidct overlaps`: which datasets share patients or images, and through which source."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO
from covidct.card.model import Card
from covidct.card.yamlload import load
from covidct.cli import main
from covidct.lineage import overlaps
from covidct.registry import registry

BASE = load((REPO / "tests" / "cards" / "_base.yaml").read_text(encoding="utf-8")).data


def _card(cid: str, *lineage: tuple[str, str]) -> Card:
    data = dict(BASE, id=cid, name=f"Dataset {cid}")
    data["lineage"] = [{"relation": rel, "card": target, "note": f"{cid} takes from {target}"}
                       for rel, target in lineage]
    return Card.model_validate(data)


def _cards(*cards: Card) -> dict[str, Card]:
    return {c.id: c for c in cards}


def test_direct_and_common_source_overlaps_are_told_apart() -> None:
    cards = _cards(_card("nih"), _card("rsna", ("derived-from", "nih")), _card("siim", ("derived-from", "nih")),
                   _card("other"))
    found = {(o.a, o.b): o for o in overlaps(cards, ["rsna", "nih", "siim", "other"])}
    assert set(found) == {("rsna", "nih"), ("nih", "siim"), ("rsna", "siim")}
    assert found[("rsna", "nih")].direct
    assert found[("rsna", "nih")].summary() == "rsna and nih share images: rsna derived-from nih (rsna takes from nih)"
    via = found[("rsna", "siim")]
    assert not via.direct and via.through == ["nih"]
    assert via.summary().startswith("rsna and siim may share images through nih:")


def test_edges_are_followed_from_either_end_and_hops_are_bounded() -> None:
    cards = _cards(_card("a"), _card("b", ("subset-of", "a")), _card("c", ("derived-from", "b")),
                   _card("d", ("derived-from", "c")))
    assert [o.through for o in overlaps(cards, ["a", "d"], max_hops=3)] == [["b", "c"]]
    assert overlaps(cards, ["a", "d"], max_hops=2) == []
    (o,) = overlaps(cards, ["a", "b"])
    assert o.path[0].relation == "superset of"  # read from a's side


KNOWN = [  # pairs the issue names: each must be reported, directly or through a source
    ("covidx", "covid-chestxray-dataset"),
    ("covidx", "rsna-pneumonia"),
    ("luna16", "lidc-idri"),
    ("covid19-radiography-database", "rsna-pneumonia"),
    ("covid19-ct-scans", "covid-chestxray-dataset"),
]


@pytest.mark.parametrize("a,b", KNOWN, ids=[f"{a}~{b}" for a, b in KNOWN])
def test_known_overlaps_of_the_registry(a: str, b: str) -> None:
    found = overlaps(registry().cards(), [a, b])
    assert found, f"the cards' lineage does not link {a} and {b}"


def test_cli_reports_overlaps_and_the_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["overlaps", "luna16", "lidc-idri", "covid-ct-md"]) == 0
    out = capsys.readouterr().out
    assert "overlap   luna16 ~ lidc-idri: share images\n  luna16 subset-of lidc-idri" in out
    assert "covid-ct-md" not in out


def test_cli_needs_two_datasets(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["overlaps", "luna16", "luna16"]) == 1
    assert "at least two" in capsys.readouterr().err
