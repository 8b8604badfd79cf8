"""The README.md of a Hub folder: Hub-valid YAML front matter and a complete, inert human card."""

from __future__ import annotations

import re

import pytest
import yaml
from _hubtools import body, card_with, check_hub_metadata, front_matter, hostile_card

from conftest import need
from covidct.hf.readme import (
    dump_front_matter,
    hub_license,
    md_code_inline,
    md_fence,
    md_inline,
    md_link,
    md_prose,
    md_table,
    render_readme,
)
from covidct.registry import registry

CARD_IDS = sorted(registry().cards())
@pytest.mark.parametrize("card_id", CARD_IDS)
def test_every_card_renders_a_complete_hub_readme(card_id: str) -> None:
    card = registry().get(card_id)
    kind = "scripts" if any(c.layout for c in card.configs) else "card"
    text = render_readme(card, kind)
    fm = front_matter(text)
    check_hub_metadata(fm)
    md = body(text)
    for title in ("At a glance", "How to load it", "License and access", "About this card"):
        assert f"\n## {title}\n" in md, title
    for cfg in card.configs:  # each config's sections under its heading, as on the site page
        assert f"\n## Config: {cfg.name}\n" in md
        section = md.split(f"\n## Config: {cfg.name}\n", 1)[1].split("\n## ", 1)[0]
        for title in ("Counts", "Labels", "Image properties", "File layout"):
            assert f"\n### {title}\n" in section, (cfg.name, title)
    if card.citation:
        assert "\n## Citation\n" in md
    if card.caveats:
        assert "\n## Caveats\n" in md
    for cfg in card.configs:
        for lab in cfg.labels:
            for c in lab.classes:
                assert f"| {c.value} | {md_inline(c.name)} |" in md
    if kind == "scripts":
        assert f'covidct.load_dataset("covidct/{card.id}"' in md and "trust_remote_code=True" in md
        assert fm["viewer"] is False


def test_front_matter_is_yaml_from_safe_dump_and_round_trips() -> None:
    card = hostile_card()
    text = render_readme(card, "scripts")
    fm = front_matter(text)
    prompt = fm["extra_gated_prompt"]  # Markdown on the Hub: the card's text in it is escaped, still readable
    assert prompt.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3  # name, license summary, instructions
    assert "<script>" not in prompt and prompt.endswith("you accept these terms.")
    assert fm["pretty_name"] == card.name
    assert yaml.safe_load(dump_front_matter(fm)[4:-4]) == fm
    head = text[: text.index("\n---\n", 4)]
    assert not any(line.strip() in ("---", "...") for line in head.splitlines()[1:])


def test_hostile_text_renders_inert() -> None:
    """Rendered with Python-Markdown (which passes raw HTML through), nothing active survives."""
    markdown = need("markdown")
    text = render_readme(hostile_card(), "scripts")
    md = body(text)
    html = markdown.markdown(md, extensions=["tables", "fenced_code"])
    assert "<script" not in html and "<!--" not in html and "<img" not in html and "<b>" not in html
    assert "alert(1)" in html  # the text is shown, as text
    # the bibtex stays inside one fenced block: the fence is longer than any backtick run in it
    m = re.search(r"^(`{4,})bibtex\n(.*?)\n\1$", md, re.S | re.M)
    assert m and "```" in m.group(2)


def test_escaping_helpers() -> None:
    assert md_inline("a|b <i>x</i> *y* [l](u) ![i](u) & #h") == (
        "a\\|b &lt;i&gt;x&lt;/i&gt; \\*y\\* \\[l\\](u) \\!\\[i\\](u) &amp; \\#h"
    )
    assert md_code_inline("a`b") == "``a`b``"
    assert md_link("x", "javascript:alert(1)") == "x (javascript:alert(1))"
    assert md_link("x", "https://e.org/a(b)<c>") == "[x](https://e.org/a%28b%29%3Cc%3E)"
    assert md_link("x", "https://e.org/a b") == "x (`https://e.org/a` b)"  # not a URL: text, never autolinked
    assert md_fence("```\nx") == "````\n```\nx\n````"
    assert md_prose("a <b>c</b> `<kept>` ![i](https://e.org/p.png)") == (
        "a &lt;b&gt;c&lt;/b&gt; `<kept>` i (`https://e.org/p.png`)"  # no image: its text and where it was
    )
    # a link survives only to a URL the card validated; any other is text, and javascript: never parses
    assert md_prose("[x](https://e.org) [y](https://f.org) [z](javascript:alert(1))", ["https://e.org"]) == (
        "[x](https://e.org) y (`https://f.org`) \\[z\\](javascript:alert(1))"
    )
    assert md_prose("```\nopen").endswith("\n```")
    assert md_prose("# Title\n\n1. one\n2. *two*") == "### Title\n\n1. one\n2. *two*"  # under the ## sections
    assert md_table(["a"], [["`x|y`"], ["p\\|q"]]).splitlines()[2:] == ["| `x\\|y` |", "| p\\|q |"]


@pytest.mark.parametrize(
    ("spdx", "hub"),
    [("CC-BY-4.0", {"license": "cc-by-4.0"}), ("CC0-1.0", {"license": "cc0-1.0"}),
     ("ODbL-1.0", {"license": "odbl"}), ("unknown", {"license": "unknown"})],
)
def test_spdx_ids_map_to_hub_ids(spdx: str, hub: dict) -> None:
    card = card_with(license={"id": spdx, "redistribution": "allowed"})
    assert hub_license(card) == hub


def test_custom_terms_name_and_link() -> None:
    fm = hub_license(registry().get("cncb"))
    assert fm["license"] == "other" and fm["license_link"].startswith("https://")


@pytest.mark.parametrize(
    ("change", "gated"),
    [({"license": {"requires_agreement": True}}, True), ({"access": {"kind": "request"}}, True),
     ({"access": {"kind": "registration"}}, True), ({}, False)],
)
def test_gating_fields_follow_the_terms(change: dict, gated: bool) -> None:
    fm = front_matter(render_readme(card_with(**change), "scripts"))
    assert ("extra_gated_prompt" in fm) is gated
    if gated:
        assert all(v in ("text", "checkbox") for v in fm["extra_gated_fields"].values())


def test_parquet_readme_describes_the_folder() -> None:
    configs = [{"config_name": "lesion-seg", "data_files": [{"split": "train", "path": "data/lesion-seg/train-*"}]}]
    text = render_readme(registry().get("cncb"), "parquet", configs=configs,
                         splits={"lesion-seg": {"train": (4, 1000)}})
    fm = front_matter(text)
    assert fm["configs"] == configs and "viewer" not in fm
    assert fm["task_categories"] == ["image-segmentation"]  # only the configs in the folder
    assert fm["size_categories"] == ["n<1K"]
    assert "in this folder" in text and 'datasets.load_dataset("covidct/cncb", "lesion-seg")' in text
