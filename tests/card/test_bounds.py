"""Every number (and date) a card may give is bounded (issue 10, item 5): a value no real dataset
has gets a located error instead of reaching a consumer that overflows (`covidct list` crashed with
OverflowError on a 4,000-digit count)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from covidct.card.model import Card
from covidct.cli import main

GOLDEN = Path(__file__).resolve().parents[1] / "cards"


def _numeric_nodes(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    out = []
    if isinstance(node, dict):
        if node.get("type") in ("int", "float", "decimal", "date", "datetime"):
            out.append((path, node))
        for k, v in node.items():
            out += _numeric_nodes(v, (*path, k))
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            out += _numeric_nodes(v, (*path, i))
    return out


def test_every_number_and_date_of_the_model_is_bounded() -> None:
    nodes = _numeric_nodes(Card.__pydantic_core_schema__)
    assert len(nodes) > 10  # the walk sees the model's numbers
    unbounded = [p for p, n in nodes if not (("ge" in n or "gt" in n) and ("le" in n or "lt" in n))]
    assert unbounded == [], "give each number a bounded type from covidct.card.model"
    assert all(n.get("allow_inf_nan") is False for _, n in nodes if n["type"] == "float")


def _registry_with(tmp_path: Path, total: str) -> Path:
    cards = tmp_path / "cards"
    cards.mkdir()
    text = (GOLDEN / "_base.yaml").read_text().replace("id: _base", "id: big").replace("total: 1400", f"total: {total}")
    (cards / "big.yaml").write_text(text)
    return cards


@pytest.mark.parametrize("total,code", [("9" * 4_000, "Y111"), ("100000000000000000000", "S205"),
                                        ("'" + "9" * 4_000 + "'", "S205")], ids=["4000-digits", "1e20", "quoted"])
def test_a_huge_count_is_refused_where_it_stands_and_list_says_why(tmp_path: Path, total: str, code: str,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    cards = _registry_with(tmp_path, total)
    assert main(["--cards", str(cards), "validate", "-q"]) == 1
    out = capsys.readouterr().out
    assert f"big.yaml:23:32: {code} " in out
    assert main(["--cards", str(cards), "list"]) == 1  # not an OverflowError traceback
    assert f"{code} " in capsys.readouterr().err


def test_limits_leave_every_registry_card_valid() -> None:
    from conftest import CARDS

    for p in sorted(CARDS.glob("*.yaml")):
        Card.model_validate(yaml.safe_load(p.read_text(encoding="utf-8")))


def test_out_of_range_values_everywhere_are_located(tmp_path: Path) -> None:
    data = yaml.safe_load((GOLDEN / "_base.yaml").read_text())
    data["id"] = "ranges"
    cfg = data["configs"][0]
    cfg["image"].update({"bit_depth": [65], "channels": 5, "size": {"min": [1, 2, 3, 4, 5]},
                         "slice_thickness_mm": {"min": -1.0}})
    cfg["labels"][0]["classes"][0]["value"] = 10**7
    cfg["layout"]["labels"]["label"] = {"value": 2**40}
    data["downloads"] = [{"name": "d.zip", "url": "https://example.org/d.zip", "sha256": "0" * 64,
                          "size_bytes": 10**18}]
    f = tmp_path / "ranges.yaml"
    f.write_text(json.dumps(data, default=str))
    from covidct.card.validate import validate_file

    found = {(i.code, i.message.split("`")[1]) for i in validate_file(f).issues if i.code in ("S205", "S203")}
    for where in ("configs.0.image.bit_depth.0", "configs.0.image.channels", "configs.0.image.size.min",
                  "configs.0.image.slice_thickness_mm.min", "configs.0.labels.0.classes.0.value",
                  "downloads.0.size_bytes"):
        assert any(w == where for _, w in found), (where, found)
    assert any(w.startswith("configs.0.layout.labels.label") for _, w in found), found
    shutil.rmtree(tmp_path, ignore_errors=True)
