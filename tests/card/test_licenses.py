"""License ids are checked against the SPDX License List (issue 10, item 16)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from covidct.card.licenses import check_license_id, is_plain_spdx_id
from covidct.card.model import Card
from covidct.card.validate import parse_card_text
from covidct.cli import main

GOLDEN = Path(__file__).resolve().parents[1] / "cards"


def _card(license_: dict[str, Any]) -> str:
    data = yaml.safe_load((GOLDEN / "_base.yaml").read_text())
    data["id"] = "lic"
    data["license"] = {"redistribution": "allowed", "source": ["home"], **license_}
    return yaml.safe_dump(data, sort_keys=False)


@pytest.mark.parametrize("bad,suggestion", [
    ("CC-BY-3.O", "CC-BY-3.0"),  # letter O
    ("GPL", "GPL-1.0-or-later"),  # an alias, not an SPDX id
    ("CC-BY-5.0", None),
    ("MIT-ish", None),
    ("CC BY 4.0", "CC-BY-4.0"),
    ("cc-by-4.0", "CC-BY-4.0"),  # SPDX spelling
    ("GPL-2.0", "GPL-2.0-only"),  # deprecated
    ("MIT OR Apache-2", None),
    ("MIT WITH Foo-exception", None),
    ("(MIT", None),
    ("Unknown", "unknown"),
])
def test_ids_off_the_spdx_list_are_errors_with_a_suggestion(bad: str, suggestion: str | None,
                                                            tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    problem = check_license_id(bad)
    assert problem is not None
    if suggestion is not None:
        assert problem.suggestion == suggestion
    f = tmp_path / "lic.yaml"
    f.write_text(_card({"id": bad}))
    assert main(["validate", "-q", "--strict", str(f)]) == 1
    out = capsys.readouterr().out
    assert ": C315 " in out or ": S204 " in out, out
    if suggestion is not None and ": C315 " in out:
        assert f"did you mean {suggestion!r}?" in out


@pytest.mark.parametrize("good", ["CC-BY-4.0", "CC0-1.0", "MIT OR Apache-2.0", "(MIT OR Apache-2.0) AND CC-BY-4.0",
                                  "GPL-2.0-only WITH Classpath-exception-2.0", "ODbL-1.0", "other", "unknown",
                                  "LicenseRef-nlm-terms"])
def test_spdx_ids_expressions_and_the_cards_own_words_pass(good: str) -> None:
    extra = {"name": "Some terms", "url": "https://example.org/terms"} if good in ("other",) or \
        good.startswith("LicenseRef-") else {}
    issues = parse_card_text(_card({"id": good, **extra}), "lic.yaml", "lic").issues
    assert [i.format() for i in issues if i.severity.value == "error"] == []


def test_a_license_ref_describes_its_terms() -> None:
    issues = parse_card_text(_card({"id": "LicenseRef-nlm-terms"}), "lic.yaml", "lic").issues
    assert [(i.code, "needs a `name`" in i.message) for i in issues if i.code != "W405"] == [("S205", True)]


def test_every_registry_license_is_on_the_list() -> None:
    from conftest import CARDS

    for p in sorted(CARDS.glob("*.yaml")):
        lic = yaml.safe_load(p.read_text(encoding="utf-8"))["license"]["id"]
        assert check_license_id(lic) is None, (p.name, lic)


def test_only_a_single_listed_id_gets_an_spdx_page() -> None:
    from covidct.render.facts import license_url

    data = yaml.safe_load(_card({"id": "MIT OR Apache-2.0"}))
    card = Card.model_validate(data)
    assert license_url(card) is None
    assert is_plain_spdx_id("CC-BY-4.0") and not is_plain_spdx_id("LicenseRef-x") and not is_plain_spdx_id("other")
