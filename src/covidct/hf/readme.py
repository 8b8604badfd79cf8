"""The README.md of a Hub folder: YAML front matter for the Hub + a complete human dataset card.

Everything comes from the :class:`~covidct.card.model.Card`. Card text is untrusted: the front
matter is serialised with ``yaml.safe_dump`` (never pasted); prose is parsed with a CommonMark parser
and rebuilt (:mod:`covidct.hf.prose`), keeping its shape but no raw HTML, no image and no link except
to the http(s) URLs the model validated (:func:`card_links`); short values are escaped for inline
Markdown; table cells escape every pipe; code blocks use a fence longer than any backtick run inside.

The body is the card document's sections (:mod:`covidct.render.document`) as Markdown: one function a
section in :data:`RENDER`, the facts from :mod:`covidct.render.facts`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from covidct.card.model import ORG, Card, Config
from covidct.card.vocab import LabelKind, Redistribution
from covidct.hf.prose import code_block, code_span, escape_text, inert_markdown, inert_text, link_target, table
from covidct.render.document import Section, config_heading, walk
from covidct.render.facts import CardFacts, card_facts, derived_load_code, not_loadable_reason, release_note

Kind = Literal["scripts", "parquet", "card"]

# Licence ids the Hub accepts in `license:` (https://huggingface.co/docs/hub/repositories-licenses).
HUB_LICENSES = frozenset(
    """
apache-2.0 mit openrail bigscience-openrail-m creativeml-openrail-m bigscience-bloom-rail-1.0 bigcode-openrail-m
afl-3.0 artistic-2.0 bsl-1.0 bsd bsd-2-clause bsd-3-clause bsd-3-clause-clear c-uda cc cc0-1.0 cc-by-2.0
cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-2.0 cc-by-nc-3.0 cc-by-nc-4.0 cc-by-nd-4.0
cc-by-nc-nd-3.0 cc-by-nc-nd-4.0 cc-by-nc-sa-2.0 cc-by-nc-sa-3.0 cc-by-nc-sa-4.0 cdla-sharing-1.0
cdla-permissive-1.0 cdla-permissive-2.0 wtfpl ecl-2.0 epl-1.0 epl-2.0 etalab-2.0 eupl-1.1 eupl-1.2 agpl-3.0 gfdl
gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1 lgpl-3.0 isc h-research intel-research lppl-1.3c ms-pl apple-ascl apple-amlr
mpl-2.0 odc-by odbl openrail++ osl-3.0 postgresql ofl-1.1 ncsa unlicense zlib pddl lgpl-lr
deepfloyd-if-license fair-noncommercial-research-license unknown other
""".split()  # noqa: SIM905 - a word list reads better than 75 quoted strings
)
# SPDX ids whose Hub id is not simply the lower-cased SPDX id.
SPDX_TO_HUB = {
    "odbl-1.0": "odbl",
    "pddl-1.0": "pddl",
    "odc-by-1.0": "odc-by",
    "gpl-2.0-only": "gpl-2.0",
    "gpl-2.0-or-later": "gpl-2.0",
    "gpl-3.0-only": "gpl-3.0",
    "gpl-3.0-or-later": "gpl-3.0",
    "lgpl-2.1-only": "lgpl-2.1",
    "lgpl-2.1-or-later": "lgpl-2.1",
    "lgpl-3.0-only": "lgpl-3.0",
    "lgpl-3.0-or-later": "lgpl-3.0",
    "agpl-3.0-only": "agpl-3.0",
    "agpl-3.0-or-later": "agpl-3.0",
}
# The Hub's size categories (datasets/utils/resources/size_categories.json).
SIZE_CATEGORIES = [
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
]


# ------------------------------------------------------------------------------------------ escaping
# Card text is untrusted, and the README is Markdown that the Hub renders: no link, image, raw HTML
# or structure may come from card text, except links to the URLs the model validated (card_links).
# The helpers come from covidct.hf.prose, which also rebuilds card prose through a CommonMark parser.


def card_links(card: Card) -> list[str]:
    """The http(s) URLs the model validated: the only link targets card text may produce."""
    from covidct.links import card_urls

    return [url for _where, url, _dl in card_urls(card)]


def md_inline(text: object) -> str:
    """Untrusted text as inert inline Markdown: one line, markup characters escaped."""
    return escape_text(" ".join(str(text).split()))


def md_prose(text: str, links: Collection[str] = ()) -> str:
    """Card prose (Markdown) rebuilt inert: shape kept, no HTML or image, links only to ``links``.

    Headings move two levels down, under the README's ``##`` sections.
    """
    return inert_markdown(text, links, shift_headings=2)


def md_plain(text: str) -> str:
    """Plain (non-Markdown) card text: paragraphs kept, everything else escaped inline."""
    return inert_text(text)


def md_link(text: str, url: str | None) -> str:
    """``[text](url)`` for http(s) URLs only; anything else is shown as escaped text."""
    if not url or not re.match(r"^https?://[^\s]+$", url):
        return md_inline(text) + (f" ({md_inline(url)})" if url else "")
    label = escape_text(" ".join(str(text).split()), in_link=True)  # nothing is autolinked in a link's text
    return f"[{label}]({link_target(url)})"


def md_codes(item: Any) -> str:
    """A class's concept codes as links to their concepts (match and assertion noted), or why it has none."""
    from covidct.card.codes import concept_uri

    parts = []
    for c in item.codes:
        text = f"{c.system.value} {c.code} {c.display}"
        note = "" if c.match.value == "exact" else f" ({md_inline(c.match.value)})"
        parts.append(md_link(text, concept_uri(c)) + note)
    if parts:
        return "; ".join(parts) + (f"; {md_inline(item.assertion.value)}" if item.assertion else "")
    return f"unmapped: {md_inline(item.unmapped)}" if item.unmapped else ""


def md_table(header: list[str], rows: Iterable[list[str]]) -> str:
    """A pipe table; cells must already be Markdown (md_inline / md_code_inline / md_link)."""
    return table(header, list(rows))


def md_code_inline(text: object) -> str:
    """A one-line value as an inline code span (no HTML, no markup)."""
    return code_span(" ".join(str(text).split()))


md_fence = code_block


def py_str(s: str) -> str:
    """A Python/JSON string literal for code examples (ids are slugs; this keeps it safe anyway)."""
    return json.dumps(s, ensure_ascii=True)


# ------------------------------------------------------------------------------------------ front matter


def hub_license(card: Card) -> dict[str, Any]:
    """``license`` (+ ``license_name``/``license_link`` for custom terms) as the Hub wants them."""
    lic = card.license
    if lic.id == "unknown":
        return {"license": "unknown"}
    low = lic.id.lower()
    hub = SPDX_TO_HUB.get(low, low)
    if lic.id != "other" and hub in HUB_LICENSES and hub not in ("other", "unknown"):
        return {"license": hub}
    out: dict[str, Any] = {"license": "other", "license_name": _slug(lic.name or lic.id)}
    if lic.url:
        out["license_link"] = lic.url
    return out


def _slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-.")
    return (s or "custom-terms")[:64].rstrip("-.")


def gated(card: Card) -> bool:
    """Whether the Hub copy must ask users to accept terms first."""
    return card_facts(card).gated


def size_category(n: int | None) -> str:
    if n is None:
        return "unknown"
    for limit, name in SIZE_CATEGORIES:
        if n < limit:
            return name
    return "1B<n<10B"


def task_ids(configs: list[Config]) -> list[str]:
    ids: set[str] = set()
    for cfg in configs:
        for lab in cfg.labels:
            if lab.kind is LabelKind.MASK:
                ids.add("semantic-segmentation")
            elif lab.kind is LabelKind.CLASS:
                ids.add("multi-class-image-classification")
            elif lab.kind is LabelKind.MULTI_LABEL:
                ids.add("multi-label-image-classification")
    return sorted(ids)


def gate_prompt(card: Card) -> str:
    """The text of the Hub's access form: Markdown (the Hub renders it), so card text in it is escaped
    and its prose rebuilt like the README body's."""
    lic = card.license
    links = card_links(card)
    parts = [f"{md_inline(card.name)} is distributed under {md_inline(lic.name or lic.id)}."]
    if lic.url:
        parts.append(f"Terms: {md_link(lic.url, lic.url)}")
    if lic.summary:
        parts.append(md_prose(lic.summary, links))
    if card.access.instructions:
        parts += ["The original distributor says:", md_prose(card.access.instructions, links)]
    parts.append("By requesting access you confirm that you accept these terms.")
    return "\n\n".join(parts)


def front_matter(
    card: Card,
    kind: Kind,
    *,
    configs: list[dict[str, Any]] | None = None,
    dataset_info: list[dict[str, Any]] | None = None,
    num_examples: int | None = None,
    synthetic: bool = False,
) -> dict[str, Any]:
    """The Hub metadata of the folder, as plain data (serialise with :func:`dump_front_matter`)."""
    names = {c["config_name"] for c in configs or []}
    shown = [c for c in card.configs if c.name in names] or card.configs  # the configs in this folder
    if num_examples is None:
        counts = [c.expected_examples for c in card_facts(card).configs if c.expected_examples is not None]
        num_examples = max(counts) if counts else None
    tags = list(dict.fromkeys([*card.tags, *(_slug(m.value) for m in card.modality), "medical", ORG]))
    if synthetic:
        tags.append("synthetic-fixture")
    fm: dict[str, Any] = {
        "pretty_name": card.name + (" (synthetic fixture)" if synthetic else ""),
        **hub_license(card),
        "task_categories": sorted({t.value for cfg in shown for t in cfg.tasks}),
    }
    tids = task_ids(shown)
    if tids:
        fm["task_ids"] = tids
    fm["size_categories"] = [size_category(num_examples)]
    fm["tags"] = tags
    if kind != "parquet":
        fm["viewer"] = False  # the data stays with the user: nothing for the dataset viewer
    if gated(card):
        fm["extra_gated_prompt"] = gate_prompt(card)
        fm["extra_gated_fields"] = {
            "Name": "text",
            "Affiliation": "text",
            "I have read the terms above and will use the data accordingly": "checkbox",
        }
    if configs:
        fm["configs"] = configs
    if dataset_info:
        fm["dataset_info"] = dataset_info
    return fm


class _FrontMatterDumper(yaml.SafeDumper):
    """safe_dump, except that text holding NEL/LS/PS is double-quoted (escaped): PyYAML writes them raw
    in single-quoted scalars, and reads NEL back as a space (found by benchmarks/fuzz.py). So is text
    with a line that reads ``---`` or ``...``: a single-quoted scalar would write that line as it is
    (indented: valid YAML, but a front matter splitter that strips lines would end the block there)."""


_MARKER_LINE = re.compile(r"^\s*(?:---|\.\.\.)\s*$", re.M)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    quote = any(c in value for c in "\x85\u2028\u2029") or _MARKER_LINE.search(value) is not None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"' if quote else None)


_FrontMatterDumper.add_representer(str, _represent_str)


def dump_front_matter(fm: dict[str, Any]) -> str:
    """``---\\n<yaml>---\\n`` via yaml.safe_dump; checked to round-trip and not to end early."""
    text = yaml.dump(fm, Dumper=_FrontMatterDumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)
    if any(line.strip() in ("---", "...") for line in text.splitlines()):  # pragma: no cover - quoted above
        raise ValueError("front matter would contain a document marker")
    if yaml.safe_load(text) != fm:  # pragma: no cover - a safe_dump bug
        raise ValueError("front matter does not round-trip through YAML")
    return f"---\n{text}---\n"


# ------------------------------------------------------------------------------------------ body


@dataclass
class ReadmeContext:
    card: Card
    kind: Kind
    synthetic: bool = False
    # config name -> split name -> (num_examples, num_bytes), for exported folders
    splits: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)

    @functools.cached_property
    def facts(self) -> CardFacts:
        return card_facts(self.card)

    @functools.cached_property
    def links(self) -> list[str]:
        return card_links(self.card)


def _bullets(rows: Iterable[tuple[str, str]]) -> str:
    """``- **Key:** value`` lines for the rows with a value (keys are static text, values Markdown)."""
    return "\n".join(f"- **{k}:** {v}" for k, v in rows if v)


def section_intro(ctx: ReadmeContext) -> str:
    lines = [md_inline(ctx.card.summary)]
    if ctx.facts.unavailable:  # first, as on the site page
        lines += ["", f"> {md_inline(ctx.facts.unavailable)}"]
    if ctx.synthetic:
        lines += [
            "",
            "> **Synthetic fixture.** The files in this folder were synthesized from the card by "
            "`covidct fixture` to test the tooling. They are not the dataset; never publish them.",
        ]
    elif ctx.kind == "scripts":
        lines += [
            "",
            "> This repository holds no images: the data stays where its distributor serves it. "
            "The loading script reads your local copy (see *How to load it*).",
        ]
    elif ctx.kind == "card":
        lines += [
            "",
            "> The file layout of this dataset is not described yet, so it cannot be loaded "
            "automatically. This page documents it.",
        ]
    lines += ["", md_prose(ctx.card.description, ctx.links)]
    return "\n".join(lines)


def section_overview(ctx: ReadmeContext) -> str:
    card, p = ctx.card, ctx.card.provenance
    rows = [
        ("Id", md_code_inline(card.ref)),
        ("Modality", md_inline(", ".join(m.value for m in card.modality))),
        ("Anatomy", md_inline(", ".join(card.anatomy))),
        ("License", md_inline(card.license.name or card.license.id)),
        ("Access", md_inline(card.access.kind.value)),
        ("Homepage", md_link(card.homepage, card.homepage) if card.homepage else ""),
        ("Also known as", md_inline("; ".join(card.aliases))),
        ("Size", md_inline(", ".join(f"{n:,} {level.value}" for level, n in ctx.facts.headline_counts))),
    ]
    if p is not None:
        rows += [("Institutions", md_inline("; ".join(p.institutions))),
                 ("Countries", md_inline("; ".join(p.countries))),
                 ("Scanners", md_inline("; ".join(p.scanners))), ("Collected", md_inline(p.collection_period or "")),
                 ("De-identification", md_inline(p.deidentification or ""))]
    return _bullets(rows)


def _availability(ctx: ReadmeContext, cfg: Config) -> str:
    if ctx.kind == "parquet" and cfg.name in ctx.splits:
        return "in this folder"
    if cfg.layout is not None:
        return "with covidct" if ctx.kind == "parquet" else "yes"
    if cfg.derived is not None:
        return "yes, rebuilt from your copies of its sources (see *File layout*)"
    return "no: " + md_inline(not_loadable_reason(ctx.card, cfg) or "")


def section_config(ctx: ReadmeContext, cfg: Config) -> str:
    labels = ", ".join(f"{lab.name} ({lab.kind.value})" for lab in cfg.labels) or "none"
    rows = [("Tasks", md_inline(", ".join(t.value for t in cfg.tasks))),
            ("One example", md_inline(f"{cfg.dimensionality.value} {cfg.example.value}")),
            ("Labels", md_inline(labels)), ("Loadable", _availability(ctx, cfg))]
    return (md_inline(cfg.description) + "\n\n" if cfg.description else "") + _bullets(rows)


def section_labels(ctx: ReadmeContext, cfg: Config) -> str:
    out: list[str] = []
    for lab in cfg.labels:
        head = (
            f"**{md_inline(lab.name)}**: {md_inline(lab.kind.value)}, "
            f"one value per {md_inline(lab.granularity.value)}, from "
            f"{md_inline(', '.join(s.value for s in lab.source))}."
        )
        if lab.available_for:
            head += f" Available for: {md_inline(lab.available_for)}."
        out.append(head)
        if lab.description:
            out += ["", md_inline(lab.description)]
        if lab.classes:
            out += [
                "",
                md_table(
                    ["Value", "Class", "Meaning", "Codes"],
                    [[str(c.value), md_inline(c.name), md_inline(c.description or ""), md_codes(c)]
                     for c in lab.classes],
                ),
            ]
        if lab.mask_values:
            out += [
                "",
                md_table(
                    ["Pixel value", "Marks", "Colour", "Meaning", "Codes"],
                    [
                        [
                            str(m.value),
                            md_inline(m.name),
                            md_code_inline(m.color) if m.color else "",
                            md_inline(m.description or ""),
                            md_codes(m),
                        ]
                        for m in lab.mask_values
                    ],
                ),
            ]
        out.append("")
    return "\n".join(out).strip() or "No labels: the examples are images only."


def section_counts(ctx: ReadmeContext, cfg: Config) -> str:
    out: list[str] = []
    rows = []
    for cnt in cfg.counts:
        by = ", ".join(f"{md_inline(k)}: {v:,}" for k, v in cnt.by_class.items())
        rows.append(
            [
                md_inline(cnt.level.value),
                md_inline(cnt.split or "all"),
                f"{cnt.total:,}" if cnt.total is not None else "",
                by,
                md_inline(" ".join(t for t in (release_note(cnt), cnt.note) if t)),
            ]
        )
    if rows:
        out.append("As published by the sources (see *Caveats* where they disagree):")
        out += ["", md_table(["Level", "Split", "Total", "By class", "Note"], rows)]
    splits = ctx.splits.get(cfg.name)
    if splits:
        srows = [[md_code_inline(split), f"{n:,}", f"{b:,}"] for split, (n, b) in splits.items()]
        what = "synthesized fixture" if ctx.synthetic else "exported data"
        out += ["", f"Examples in this folder ({what}):", "", md_table(["Split", "Examples", "Bytes"], srows)]
    return "\n".join(out).strip() or "The card gives no counts for this config."


def section_image(ctx: ReadmeContext, cfg: Config) -> str:
    im = cfg.image
    size = ""
    if im.size and (im.size.min or im.size.max):
        lo = "x".join(map(str, im.size.min or [])) or "?"
        hi = "x".join(map(str, im.size.max or [])) or "?"
        size = lo if lo == hi else f"{lo} to {hi}"
    return _bullets([("Formats", md_inline(", ".join(f.value for f in im.formats))),
                     ("Bits per sample", md_inline(", ".join(map(str, im.bit_depth)))),
                     ("Intensity", md_inline(im.intensity.value)), ("Size (pixels)", md_inline(size))])


def section_layout(ctx: ReadmeContext, cfg: Config) -> str:
    """The layout as ``covidct show`` writes it, in a code block (card text in it is inert)."""
    from covidct.render.text import RENDER as TEXT
    from covidct.render.text import layout_lines

    if cfg.layout is not None:
        lines = layout_lines(cfg.layout, "")
    else:  # derived, or not described: not indented under a config line here
        lines = [line[2:] for line in TEXT["layout"](cfg, ctx.card)]
    return md_fence("\n".join(lines), "text")


def section_load(ctx: ReadmeContext) -> str:
    card = ctx.card
    loadable = card.loadable_configs
    derived = [c for c in card.configs if c.derived is not None]
    if not loadable and derived:
        return "\n\n".join(
            f"Config {md_code_inline(c.name)} is built from other datasets: covidct rebuilds it from your copies of "
            "its sources (each read with its own card's layout) through the published split files, keeping the "
            f"`source` of every example:\n\n```python\n{derived_load_code(card, c)}\n```" for c in derived)
    if not loadable:
        gone = ctx.facts.unavailable
        return (f"{gone} " * bool(gone) + "The card does not describe the file layout yet, so no loader exists. "
                + ("Holders of a copy of the files are welcome to describe its layout in the card." if gone
                   else "Contributions welcome: describe the layout in the card."))
    in_folder = [c for c in loadable if c.name in ctx.splits]
    cfg = (in_folder or loadable)[0].name
    rid, ref = py_str(card.ref), card.ref
    data = py_str(f"~/data/{card.id}")
    lines: list[str] = []
    if ctx.kind == "parquet":
        lines += [
            "This folder is a script-free Hugging Face dataset (Parquet shards with the images embedded). "
            "Any recent `datasets` reads it, with no custom code:",
            "",
            md_fence(f"import datasets\n\nds = datasets.load_dataset({rid}, {py_str(cfg)})", "python"),
            "",
            f"From a local copy of this folder, run that with the working directory at the folder that holds "
            f"{md_code_inline(ORG + '/')} (a local {md_code_inline(ref)} wins over the Hub).",
            "",
        ]
    lines += [
        "**With covidct** (reads your local copy of the original files; any `datasets` version >= 4):",
        "",
        md_fence(f"pip install 'covidct[hf]'\ncovidct show {ref}", "bash"),
        "",
        md_fence(f"import covidct\n\nds = covidct.load_dataset({rid}, {py_str(cfg)}, data_dir={data})", "python"),
    ]
    if ctx.kind == "scripts":
        lines += [
            "",
            "**With `datasets` < 4** (this folder's loading script; it delegates to covidct, so install it too):",
            "",
            md_fence(
                f"import datasets  # datasets<4, plus: pip install covidct\n\n"
                f"ds = datasets.load_dataset({rid}, {py_str(cfg)}, data_dir={data}, "
                f"trust_remote_code=True)",
                "python",
            ),
        ]
    if card.license.redistribution is Redistribution.ALLOWED and ctx.kind != "parquet":
        lines += [
            "",
            "**As a script-free Parquet folder** that stock `datasets` reads:",
            "",
            md_fence(
                f"covidct export {card.id} --data-dir ~/data/{card.id} --out hub\n"
                f"cd hub && python -c 'import datasets; print(datasets.load_dataset({rid}, {py_str(cfg)}))'",
                "bash",
            ),
        ]
    if card.access.instructions:
        lines += ["", "**Getting the files** (the distributor's instructions):", "", md_plain(card.access.instructions)]
    return "\n".join(lines)


REDISTRIBUTION = {
    Redistribution.ALLOWED: "allowed",
    Redistribution.FORBIDDEN: "forbidden: no copy of the data may be uploaded, here or elsewhere",
    Redistribution.UNKNOWN: "unknown: the terms do not say; ask the distributor before sharing copies",
}


def section_license(ctx: ReadmeContext) -> str:
    card, facts = ctx.card, ctx.facts
    lic, acc = card.license, card.access
    name = lic.name or lic.id
    url = facts.license_url
    lines = [f"- **License:** {md_link(name, url) if url else md_inline(name)} ({md_code_inline(lic.id)})"]
    if lic.summary:
        lines.append(f"- **In short:** {md_inline(lic.summary)}")
    lines.append(f"- **Redistribution:** {md_inline(REDISTRIBUTION[lic.redistribution])}")
    if facts.gated:
        lines.append("- **Agreement:** users must accept the terms before download; the Hub copy is gated.")
    lines.append(f"- **Access:** {md_inline(acc.kind.value)}" + (f", {md_link(acc.url, acc.url)}" if acc.url else ""))
    if facts.unavailable:
        notice = f" The distributor's notice: \"{md_inline(acc.unavailable.notice)}\"" \
            if acc.unavailable and acc.unavailable.notice else ""
        lines.append(f"- **Availability:** {md_inline(facts.unavailable)}{notice}")
    return "\n".join(lines)


def section_downloads(ctx: ReadmeContext) -> str:
    rows = []
    for d in ctx.card.downloads:
        sums = "; ".join(f"{k} {md_code_inline(v)}" for k, v in (("md5", d.md5), ("sha256", d.sha256)) if v)
        rows.append(
            [
                md_link(d.name, d.url) if d.url else md_code_inline(d.name),
                f"{d.size_bytes:,}" if d.size_bytes is not None else "",
                sums,
                md_inline(d.description or ""),
            ]
        )
    return md_table(["Download", "Bytes", "Checksum", "Content"], rows) if rows else ""


def section_lineage(ctx: ReadmeContext) -> str:
    lines = []
    for lin in ctx.card.lineage:
        note = f": {md_inline(lin.note)}" if lin.note else ""
        lines.append(f"- **{md_inline(lin.relation.value)}** {md_code_inline(f'{ORG}/{lin.card}')}{note}")
    return "\n".join(lines)


def section_caveats(ctx: ReadmeContext) -> str:
    return "\n".join(f"- {md_inline(c.text)}" for c in ctx.card.caveats)


def section_citation(ctx: ReadmeContext) -> str:
    c = ctx.card.citation
    if c is None:
        return ""
    lines = []
    if c.doi and ctx.facts.doi_url:
        lines.append(f"DOI: {md_link(c.doi, ctx.facts.doi_url)}")
    if c.text:
        lines += ["", md_inline(c.text)]
    if c.bibtex:
        lines += ["", md_fence(c.bibtex, "bibtex")]
    return "\n".join(lines).strip()


def section_sources(ctx: ReadmeContext) -> str:
    return "\n".join(
        f"- {md_link(s.title, s.url)}" + (f" (checked {s.accessed.isoformat()})" if s.accessed else "")
        for s in ctx.card.sources
    )


def section_about(ctx: ReadmeContext) -> str:
    card = ctx.card
    return (
        f"Generated by covidct from the card "
        f"{md_code_inline(f'cards/{card.id}.yaml')}, last reviewed {card.last_reviewed.isoformat()}. "
        "Corrections go to the card, not to this file."
    )


# The Markdown of each section of the card document (covidct.render.document.SECTIONS): the card's
# sections take the context, a config's take (context, config); "" leaves the section out.
RENDER: dict[str, Callable[..., str]] = {
    "intro": section_intro, "overview": section_overview,
    "config": section_config, "counts": section_counts, "labels": section_labels, "image": section_image,
    "layout": section_layout,
    "license": section_license, "downloads": section_downloads, "load": section_load,
    "citation": section_citation, "lineage": section_lineage, "caveats": section_caveats,
    "sources": section_sources, "card": section_about,
}
OMITTED: dict[str, str] = {
    "fingerprint": "published manifests and the duplicates measured across the registry are on the site page",
}


def render_body(ctx: ReadmeContext) -> str:
    out = [f"# {md_inline(ctx.card.name)}"]

    def add(sec: Section, body: str, level: str) -> None:
        if body.strip():
            out.append("")
            if sec.title:
                out.extend([f"{level} {sec.title}", ""])
            out.append(body.strip())

    for item in walk():
        if isinstance(item, Section):
            if item.key in RENDER:
                add(item, RENDER[item.key](ctx), "##")
            continue
        for cfg in ctx.card.configs:
            out.extend(["", f"## {config_heading(cfg.name)}"])
            for sec in item:
                if sec.key in RENDER:
                    add(sec, RENDER[sec.key](ctx, cfg), "###")
    return "\n".join(out) + "\n"


def render_readme(
    card: Card,
    kind: Kind,
    *,
    configs: list[dict[str, Any]] | None = None,
    dataset_info: list[dict[str, Any]] | None = None,
    splits: dict[str, dict[str, tuple[int, int]]] | None = None,
    synthetic: bool = False,
) -> str:
    """The whole README.md of a Hub folder for ``card``."""
    num = sum(n for s in (splits or {}).values() for n, _ in s.values()) if splits else None
    fm = front_matter(card, kind, configs=configs, dataset_info=dataset_info, num_examples=num, synthetic=synthetic)
    ctx = ReadmeContext(card=card, kind=kind, synthetic=synthetic, splits=splits or {})
    return dump_front_matter(fm) + "\n" + render_body(ctx)
