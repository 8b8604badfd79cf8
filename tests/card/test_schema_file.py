"""schema/card.schema.json is generated from the model and committed; it must not go stale."""

from __future__ import annotations

import json

import jsonschema

from conftest import CARDS, REPO
from covidct.card.model import json_schema
from covidct.card.yamlload import load


def test_committed_schema_matches_the_model() -> None:
    committed = json.loads((REPO / "schema" / "card.schema.json").read_text(encoding="utf-8"))
    assert committed == json_schema(), "run: covidct schema --out schema/card.schema.json"


def test_schema_is_a_valid_json_schema_and_accepts_every_card() -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted(CARDS.glob("*.yaml")):
        data = load(path.read_text(encoding="utf-8")).data
        data = json.loads(json.dumps(data, default=str))  # dates as the strings an editor would see
        errors = [e.message for e in validator.iter_errors(data)]
        assert not errors, f"{path.name}: {errors[:3]}"


def test_every_card_starts_with_the_schema_line_for_editors() -> None:
    for path in sorted(CARDS.glob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schema/card.schema.json", path.name
