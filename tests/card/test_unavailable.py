"""Data that can no longer be had says so: in the card (why, since when, who says so), in the loaders'
errors, the catalog and every document, instead of a bare "no layout".

Each test failed before `access.unavailable` existed: an `unavailable` card could not say why or since
when, `covidct load` answered "has no `layout` in its card" for data no one distributes, and the
catalog's layout column said `no layout` as for a card whose layout merely is not written yet.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from cardtools import base_card
from covidct.card.checks import check_card
from covidct.card.model import Card
from covidct.errors import CovidctError
from covidct.hf.readme import render_readme
from covidct.layout.plan import make_plan
from covidct.registry import catalog_row
from covidct.render.facts import card_facts
from covidct.render.text import card_text

GONE = {"reason": "withdrawn", "since": "2019-05-01", "checked": "2026-11-30",
        "notice": "The data for this competition is no longer available for download.", "source": ["paper"]}


def _card(access: dict[str, Any], *, layout: bool = True) -> Card:
    data = copy.deepcopy(base_card().model_dump(mode="json", exclude_none=True))
    data["access"] = {**data["access"], **access}
    if not layout:
        for cfg in data["configs"]:
            cfg.pop("layout", None)
            cfg.pop("verified", None)
    return Card.model_validate(data)


def _codes(card: Card) -> list[tuple[tuple[object, ...], str]]:
    return [(f.path, f.code) for f in check_card(card) if f.code == "C320"]


def test_an_unavailable_card_must_say_why_and_only_it_may() -> None:
    assert _codes(_card({"kind": "unavailable"})) == [(("access", "kind"), "C320")]
    assert _codes(_card({"kind": "unavailable", "unavailable": GONE})) == []
    assert _codes(_card({"kind": "open", "unavailable": GONE})) == [(("access", "unavailable"), "C320")]
    # a check before the data was gone cannot confirm that it is gone
    early = {**GONE, "checked": "2019-01-01"}
    assert _codes(_card({"kind": "unavailable", "unavailable": early})) == [(("access", "unavailable", "checked"),
                                                                             "C320")]


def test_the_unavailability_cites_its_sources() -> None:
    card = _card({"kind": "unavailable", "unavailable": {**GONE, "source": ["nowhere"]}})
    assert [(f.path, f.code) for f in check_card(card) if f.path[:2] == ("access", "unavailable")] == [
        (("access", "unavailable", "source", 0), "C310")]
    unsourced = _card({"kind": "unavailable", "unavailable": {"reason": "unknown"}})
    assert (("access", "unavailable"), "W401") in [(f.path, f.code) for f in check_card(unsourced)]


def test_the_dates_are_bounded() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as err:
        _card({"kind": "unavailable", "unavailable": {**GONE, "since": "1900-01-01"}})
    assert [e["loc"] for e in err.value.errors()] == [("access", "unavailable", "since")]


def test_loading_data_no_one_distributes_says_so_not_no_layout() -> None:
    card = _card({"kind": "unavailable", "unavailable": GONE, "url": "https://example.org/gone"}, layout=False)
    with pytest.raises(CovidctError) as err:
        make_plan(card, card.configs[0], ["."])
    text = str(err.value)
    assert text.startswith(f"the data of {card.id} is no longer distributed since 2019-05-01: "
                           "the distributor took the files down; see https://example.org/gone")
    from covidct.hf.builder import builder_for

    with pytest.raises(CovidctError) as err:
        builder_for(card, card.configs[0].name, data_dir=".")
    assert "no longer distributed since 2019-05-01" in str(err.value)


def test_data_merely_undescribed_still_reads_no_layout() -> None:
    card = _card({}, layout=False)
    with pytest.raises(CovidctError, match="has no `layout` in its card") as err:
        make_plan(card, card.configs[0], ["."])
    assert "distributed" not in str(err.value)


def test_the_catalog_and_the_facts_say_unavailable() -> None:
    gone = _card({"kind": "unavailable", "unavailable": GONE}, layout=False)
    row = catalog_row(gone)
    assert row["layout"] == ["unavailable"] and row["unavailable_since"] == "2019-05-01"
    facts = card_facts(gone)
    assert facts.unavailable == ("The data is no longer distributed since 2019-05-01: the distributor took the "
                                 "files down. Last checked 2026-11-30.")
    assert {c.not_loadable for c in facts.configs} == {
        "the data is no longer distributed, and the card describes no file layout"}
    unknown_date = _card({"kind": "unavailable", "unavailable": {"reason": "unknown"}}, layout=False)
    assert catalog_row(unknown_date)["unavailable_since"] == "unknown"
    undescribed = _card({}, layout=False)
    assert catalog_row(undescribed)["layout"] == ["no layout"] and catalog_row(undescribed)["unavailable_since"] is None
    assert card_facts(undescribed).unavailable is None


def test_a_copy_of_withdrawn_data_still_loads_and_the_documents_say_it_is_gone() -> None:
    card = _card({"kind": "unavailable", "unavailable": GONE})
    assert card_facts(card).loadable_configs  # holders of a copy load it as before
    assert catalog_row(card)["layout"] != ["unavailable"]
    text = card_text(card)
    assert "no longer distributed since 2019-05-01" in text and GONE["notice"] in text
    readme = render_readme(card, "script")
    assert "**Availability:** The data is no longer distributed since 2019-05-01" in readme
    assert dt.date.fromisoformat(GONE["since"]) == card.access.unavailable.since  # type: ignore[union-attr]
