"""Helpers for the Hub-artifact tests (scripts, export, README, publish); the card builders are in cardtools."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from cardtools import HOSTILE, base_card, card_with, hostile_card  # noqa: F401 (the Hub tests import them from here)
from conftest import need
from covidct.card.model import Card


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
