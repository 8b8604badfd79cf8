"""A config records what its layout was checked against; validate, the catalog and the site say so."""

from __future__ import annotations

import datetime as dt

from covidct.card.model import LayoutCheck
from covidct.catalog_filter import filter_catalog
from covidct.registry import catalog_row
from covidct.site.sections import config_intro
from layout.cardkit import make_card  # type: ignore[import-not-found]

LAYOUT = {"parts": {"f": {}}, "files": {"image": {"pattern": "{f}.png", "format": "png"}}}


def _verified(result: str = "match"):
    card = make_card(LAYOUT)
    cfg = card.configs[0]
    cfg.verified = LayoutCheck(listing="tests/listings/t/default.txt.gz", source="github.com/x/y@abc:list.txt",
                               date=dt.date(2026, 12, 6), result=result, part="the public sample")
    return card


def test_status_of_each_kind_of_config() -> None:
    assert make_card(LAYOUT).configs[0].layout_status == "unverified"
    assert _verified().configs[0].layout_status == "verified"
    assert _verified("differences").configs[0].layout_status == "differs"


def test_catalog_filters_on_verification() -> None:
    import pandas as pd

    df = pd.DataFrame([catalog_row(make_card(LAYOUT)), catalog_row(_verified()) | {"id": "v"}])
    assert list(filter_catalog(df, layout=["verified"])["id"]) == ["v"]
    assert list(filter_catalog(df, layout=["unverified"])["id"]) == ["t"]


def test_the_dataset_page_says_what_the_layout_was_checked_against() -> None:
    html = config_intro(None, _verified().configs[0])  # type: ignore[arg-type]
    assert "layout verified</span> against github.com/x/y@abc:list.txt (the public sample) on 2026-12-06" in html
    unverified = make_card(LAYOUT).configs[0]
    assert "layout not verified against real files" in config_intro(None, unverified)  # type: ignore[arg-type]
