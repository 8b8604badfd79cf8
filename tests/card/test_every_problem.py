"""Every problem at once (issue 10, item 14): schema errors do not hide the semantic checks of the
parts that parsed, and what a schema error takes away does not come back as a cascade."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from covidct.card.partial import best_effort, placeholder, slot_at
from covidct.card.validate import parse_card_text

GOLDEN = Path(__file__).resolve().parents[1] / "cards"


def _base() -> dict[str, Any]:
    data = yaml.safe_load((GOLDEN / "_base.yaml").read_text())
    data["id"] = "card"
    return data


def _issues(data: dict[str, Any]) -> list[tuple[str, str]]:
    result = parse_card_text(yaml.safe_dump(data, sort_keys=False), "card.yaml", "card")
    return [(i.code, i.message) for i in result.issues]


def _wrong_sum(data: dict[str, Any]) -> None:
    data["configs"][0]["counts"][0]["by_class"]["normal"] = 1341


@pytest.mark.parametrize("break_it", [
    lambda d: d.update(modalty=d.pop("modality")),  # a misspelled top-level field (a required one goes missing)
    lambda d: d["configs"][0].update(dimensionalty=d["configs"][0].pop("dimensionality")),  # in the same config
    lambda d: d["license"].update(redistribution="maybe"),
    lambda d: d.pop("license"),
    lambda d: d["configs"][0]["labels"][0].update(granularity=7),
    lambda d: d["sources"][0].update(url="no"),  # the source keeps its id: its citations stay valid
    lambda d: d.update(last_reviewed="yesterday"),
], ids=["top-level-typo", "config-typo", "bad-enum", "missing-license", "wrong-type", "short-url", "bad-date"])
def test_the_sum_is_checked_beside_schema_errors(break_it: Any) -> None:
    data = _base()
    _wrong_sum(data)
    break_it(data)
    issues = _issues(data)
    assert any(code.startswith("S2") for code, _ in issues), issues
    assert [m for c, m in issues if c == "C302"] == ["images total 1400 != 58 + 1341 = 1399 (sum of by_class)"]
    assert not any(c in ("C304", "C310", "C311", "W401") for c, _ in issues), issues  # no cascades


def test_what_a_misspelled_field_takes_away_is_not_reported_again() -> None:
    data = _base()
    lab = data["configs"][0]["labels"][0]
    lab["clases"] = lab.pop("classes")  # without classes, every class in the counts would be "not defined"
    codes = [c for c, _ in _issues(data) if c != "W405"]  # W405: the test card's layout has no listing
    assert codes == ["S201"], codes


def test_findings_keep_their_place_when_an_earlier_item_is_repaired() -> None:
    data = _base()
    data["configs"].insert(0, {"name": "broken", "tasks": ["nope"]})  # configs.0: hopeless
    data["configs"][1]["name"] = "second"
    data["configs"][1]["counts"][0]["by_class"]["normal"] = 1341
    result = parse_card_text(yaml.safe_dump(data, sort_keys=False), "card.yaml", "card")
    c302 = [i for i in result.issues if i.code == "C302"]
    assert len(c302) == 1 and result.card is None
    text = yaml.safe_dump(data, sort_keys=False).splitlines()
    assert "total: 1400" in text[c302[0].line - 1]
    assert text.index(next(line for line in text if "name: second" in line)) < c302[0].line - 1


def test_a_card_that_cannot_be_repaired_reports_its_schema_errors_only() -> None:
    assert [c for c, _ in _issues({"id": "card", "configs": "not a list", "license": 5})]  # no crash


@pytest.mark.parametrize("path", [("license",), ("configs", 0), ("configs", 0, "image"), ("sources", 0),
                                  ("configs", 0, "layout", "files", "image"), ("access",), ("last_reviewed",)])
def test_placeholders_are_valid_values_of_their_place(path: tuple[Any, ...]) -> None:
    from pydantic import TypeAdapter

    slot = slot_at(path)
    assert slot is not None and slot.annotation is not None
    TypeAdapter(slot.annotation).validate_python(placeholder(slot.annotation))


def test_best_effort_never_returns_the_repaired_card_as_valid() -> None:
    data = _base()
    data["modalty"] = data.pop("modality")
    result = parse_card_text(yaml.safe_dump(data, sort_keys=False), "card.yaml", "card")
    assert result.card is None
    from pydantic import ValidationError

    from covidct.card.model import Card

    with pytest.raises(ValidationError) as info:
        Card.model_validate(data)
    card, repairs = best_effort(data, info.value.errors())
    assert card is not None and {r.path for r in repairs} == {("modalty",), ("modality",)}
    assert "modalty" in data  # the caller's data is untouched
