"""Helpers for the Hub-artifact tests (scripts, export, README, publish, Croissant)."""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path
from typing import Any

from conftest import need
from covidct.card.model import Card
from covidct.registry import registry

HOSTILE = (
    "Evil ''' \"\"\" \\' \\n `` ``` ~~~ <script>alert(1)</script> <!-- hidden --> ![x](https://evil.example/p.png) "
    "| pipe | {{ jinja }} ${shell} $(rm -rf /) \n---\n...\nkey: value\n# heading\n__import__('os').system('x')"
)


def base_card() -> Card:
    return registry().get("cncb")


def card_with(**top: Any) -> Card:
    """The cncb card with top-level fields replaced (nested dicts are merged one level deep)."""
    data = base_card().model_dump(mode="json", exclude_none=True)
    data = copy.deepcopy(data)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return Card.model_validate(data)


def hostile_card() -> Card:
    """cncb with hostile text in every free-text field a README, script or JSON-LD shows."""
    data = base_card().model_dump(mode="json", exclude_none=True)
    data["name"] = "CNCB " + HOSTILE[:200].replace("\n", " ")
    data["summary"] = "Summary " + HOSTILE[:250].replace("\n", " ")
    data["description"] = "Intro.\n\n" + HOSTILE + "\n\n```\nunclosed fence"
    data["aliases"] = ["alias <b>bold</b>", "alias | pipe"]
    data["license"] = {**data["license"], "summary": HOSTILE, "requires_agreement": True}
    data["access"] = {**data["access"], "instructions": HOSTILE}
    data["caveats"] = [{"text": HOSTILE}]
    data["citation"] = {"bibtex": "@misc{x, title={```\n" + HOSTILE + "}}", "text": HOSTILE}
    cfg = data["configs"][1]
    cfg["description"] = HOSTILE
    cfg["labels"][0]["classes"][0]["description"] = HOSTILE[:290].replace("\n", " ")
    return Card.model_validate(data)


def load_quiet(*args: Any, **kwargs: Any) -> Any:
    import datasets

    import covidct

    datasets.disable_progress_bars()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a fixture's counts differ from the card's, by design
        return covidct.load_dataset(*args, **kwargs)


def stock_load(*args: Any, **kwargs: Any) -> Any:
    import datasets

    datasets.disable_progress_bars()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return datasets.load_dataset(*args, **kwargs)


def fixtures(card: Card, root: Path, configs: list[str] | None = None) -> dict[str, Path]:
    """Synthesize a fixture per loadable config under root/<config>; config -> folder."""
    from covidct.fixtures import synthesize

    out = {}
    for cfg in card.configs:
        if cfg.layout is None or (configs and cfg.name not in configs):
            continue
        synthesize(card, cfg, root / cfg.name)
        out[cfg.name] = root / cfg.name
    return out


def front_matter(readme: str) -> dict[str, Any]:
    import yaml

    assert readme.startswith("---\n"), "README must start with YAML front matter"
    end = readme.index("\n---\n", 4)
    return yaml.safe_load(readme[4:end])


def body(readme: str) -> str:
    return readme[readme.index("\n---\n", 4) + 5:]


# Task categories the Hub lists for datasets (the ones a lung-imaging card can use), as data.
HUB_TASKS = {
    "image-classification", "image-segmentation", "object-detection", "keypoint-detection",
    "image-feature-extraction", "image-to-image", "image-to-text", "tabular-regression", "other",
    "zero-shot-image-classification", "mask-generation", "depth-estimation", "image-to-3d",
}


def size_categories() -> set[str]:
    datasets = need("datasets")
    path = Path(datasets.__file__).parent / "utils" / "resources" / "size_categories.json"
    return set(json.loads(path.read_text(encoding="utf-8")))


def check_hub_metadata(fm: dict[str, Any]) -> None:
    """What the Hub checks in a dataset card's metadata, offline."""
    import re

    from covidct.hf.readme import HUB_LICENSES

    assert fm["license"] in HUB_LICENSES
    if fm["license"] == "other":
        assert re.fullmatch(r"[a-z0-9][a-z0-9.-]*", fm["license_name"])
        assert fm.get("license_link", "https://").startswith(("http://", "https://"))
    assert set(fm["task_categories"]) <= HUB_TASKS
    assert set(fm["size_categories"]) <= size_categories()
    assert fm["pretty_name"] and isinstance(fm["tags"], list)
    hub = need("huggingface_hub")
    data = hub.DatasetCardData(**fm).to_dict()  # huggingface_hub's model of the metadata accepts it
    assert data["license"] == fm["license"]
    if "configs" in fm or "dataset_info" in fm:  # and datasets' own parsers, as load_dataset uses them
        from datasets.info import DatasetInfosDict
        from datasets.utils.metadata import MetadataConfigs

        card_data = hub.DatasetCardData(**fm)
        configs = MetadataConfigs.from_dataset_card_data(card_data)
        infos = DatasetInfosDict.from_dataset_card_data(card_data)
        assert set(configs) == set(infos) == {c["config_name"] for c in fm["configs"]}


def dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True)
