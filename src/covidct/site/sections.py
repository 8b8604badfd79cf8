"""One dataset page: the card document's sections (:mod:`covidct.render.document`) as HTML.

Each section of :data:`~covidct.render.document.SECTIONS` has a function in :data:`RENDER` that
renders HTML from a :class:`PageContext`: a macro of ``templates/dataset.html`` (Jinja2,
autoescaped), given the card's facts (:mod:`covidct.render.facts`) and the plain-text helpers below.
Sections marked ``per_config`` render once per config, under that config's heading. A section that
has nothing to say returns "" and is left out, so any valid card (however many optional fields it
lacks) gives a page.

All card text goes through :mod:`covidct.site.html` (autoescaping templates, safe Markdown, safe URLs).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from covidct.card.model import Card, Config, Count, Fingerprint, Layout
from covidct.card.vocab import Intensity, LabelKind, Redistribution, Relation, Vocab
from covidct.render.document import Section, config_heading, walk
from covidct.render.facts import CardFacts, card_facts, count_total, derived_load_code, release_note
from covidct.site.html import environment, macros
from covidct.site.svg import Group, chart, mask_colours

OVERLAP_RELATIONS = {Relation.DERIVED_FROM, Relation.SUBSET_OF, Relation.SUPERSET_OF, Relation.OVERLAPS,
                     Relation.SAME_SOURCE}


@dataclass
class Overlap:
    other: str
    path: list[str]  # human-readable steps, e.g. ["covidx derived-from cncb"]
    direct: bool


@dataclass
class PageContext:
    card: Card
    cards: dict[str, Card]
    page_url: Callable[[str], str | None]  # card id -> URL of its page relative to this page
    edit_url: str | None = None
    view_url: str | None = None
    croissant_url: str | None = None
    referenced_by: list[tuple[str, str, str | None]] = field(default_factory=list)  # (id, relation, note)
    overlaps: list[Overlap] = field(default_factory=list)

    @functools.cached_property
    def facts(self) -> CardFacts:
        """The card's facts, computed once for all the page's sections."""
        return card_facts(self.card)


# ----------------------------------------------------------------------------------------- helpers
# Plain values for the templates (they escape them); HTML only from chart() and the templates.


@functools.cache
def _described(cls: type[Vocab]) -> dict[str, str]:
    return cls.describe()


def described(v: Vocab) -> str:
    """The vocabulary's description of ``v`` ("" when it has none)."""
    return _described(type(v)).get(v.value, "")


def value_range(r: object) -> str:
    if r is None:
        return ""
    parts = []
    for k in ("min", "median", "max"):
        v = getattr(r, k)
        if v is not None:
            txt = "×".join(str(x) for x in v) if isinstance(v, list) else f"{v:g}"
            parts.append(f"{k} {txt}")
    return ", ".join(parts)


def size_text(n: int | None) -> str:
    if n is None:
        return ""
    x = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if x < 1000 or unit == "TB":
            return f"{x:,.0f} {unit}" if unit == "B" else f"{x:,.1f} {unit}"
        x /= 1000
    return f"{n} B"


def _count_title(cnt: Count) -> str:
    return cnt.level.value + (f" ({cnt.split})" if cnt.split else "") + (f" [{cnt.release}]" if cnt.release else "")


def count_chart(cfg: Config) -> Markup:
    groups = [Group(_count_title(cnt), count_total(cnt), list(cnt.by_class.items())) for cnt in cfg.counts]
    return Markup(chart(groups, mask_colours(cfg.labels), title=f"Counts per level and class balance of {cfg.name}"))


def tree_text(layout: Layout) -> str:
    """The file layout as a folder tree (plain text), each matched path with what it holds."""
    tree: dict = {}
    notes: dict[tuple[str, ...], list[str]] = {}

    def add(path: str, note: str) -> None:
        parts = tuple(p for p in path.split("/") if p)
        node = tree
        for p in parts:
            node = node.setdefault(p, {})
        notes.setdefault(parts, []).append(note)

    for role, fs in layout.files.items():
        rows = f", one example per row of dataset {fs.dataset}" if fs.dataset else ""
        add(fs.pattern, f"{role} ({fs.format.value}{'' if fs.required else ', optional'}{rows})")
    for name, t in layout.tables.items():
        add(t.path, f"table {name} ({t.format.value})")
    for name, a in layout.arrays.items():
        add(a.path, f"array {name} (npy)")
    root = "DATA_DIR/" + (layout.root.strip("/") + "/" if layout.root.strip("/") else "")
    lines = [root]

    def walk(node: dict, prefix: str, path: tuple[str, ...]) -> None:
        items = list(node.items())
        for i, (name, child) in enumerate(items):
            last = i == len(items) - 1
            here = (*path, name)
            label = name + ("/" if child else "")
            note = notes.get(here)
            lines.append(prefix + ("└── " if last else "├── ") + label + ("   ← " + "; ".join(note) if note else ""))
            walk(child, prefix + ("    " if last else "│   "), here)

    walk(tree, "", ())
    return "\n".join(lines)


def fingerprint_rows(ctx: PageContext, cfg: Config) -> list[tuple[str, str, int, int, int, int, int, int]]:
    """Duplicates measured against other fingerprinted cards, recorded on this card or on the other card
    pointing here: (card, config, near bits, images or -1, files, pixels, near pairs, patients), sorted."""
    fp = cfg.fingerprint
    rows: list[tuple[str, str, int, int, int, int, int, int]] = []
    if fp is not None:
        rows += [(m.card, m.config or "", m.near, m.images, m.files, m.pixels, m.near_pairs, m.patients)
                 for m in fp.matches]
    for other in ctx.cards.values():
        for ocfg in other.configs if other.id != ctx.card.id else ():
            for m in ocfg.fingerprint.matches if ocfg.fingerprint else ():
                if m.card == ctx.card.id and m.config in (None, cfg.name):
                    rows.append((other.id, ocfg.name, m.near, -1, m.files, m.pixels, m.near_pairs, m.patients))
    return sorted(rows)


def fingerprint_commands(fp: Fingerprint) -> str:
    return (f"covidct fingerprint --folder MY_IMAGES --out mine.parquet\n"
            f"covidct overlaps --manifest mine.parquet --manifest {fp.url.rsplit('/', 1)[-1]}")


def load_card_code(card: Card) -> str:
    return f'import covidct\n\ncard = covidct.load_card("{card.ref}")   # the card as a Python object'


def covidct_load_code(card: Card, configs: tuple[str, ...]) -> str:
    return "\n".join(["import covidct", "", *(f'ds = covidct.load_dataset("{card.ref}", "{name}", data_dir="DATA_DIR")'
                                            for name in configs)])


def hub_load_code(card: Card, configs: tuple[str, ...]) -> str:
    return "\n".join(["from datasets import load_dataset", "", *(f'ds = load_dataset("{card.ref}", "{name}")'
                                                              for name in configs)])


REDISTRIBUTION_NOTE = {
    Redistribution.ALLOWED: ": copies may be shared (e.g. on the Hugging Face Hub)",
    Redistribution.FORBIDDEN: ": copies may not be shared; get the data from the source",
    Redistribution.UNKNOWN: ": the terms do not say; get the data from the source",
}


@functools.cache
def _template() -> Any:
    env = environment()
    env.globals.update(
        described=described, value_range=value_range, count_total=count_total, release_note=release_note,
        count_chart=count_chart, tree_text=tree_text, fingerprint_rows=fingerprint_rows,
        fingerprint_commands=fingerprint_commands, load_card_code=load_card_code,
        covidct_load_code=covidct_load_code, hub_load_code=hub_load_code, derived_load_code=derived_load_code,
        redistribution_note=REDISTRIBUTION_NOTE.__getitem__, intensity=intensity,
        task_values=lambda c: sorted({t.value for cfg in c.configs for t in cfg.tasks}),
        dimension_values=lambda c: sorted({cfg.dimensionality.value for cfg in c.configs}),
        class_kinds=(LabelKind.CLASS, LabelKind.MULTI_LABEL, LabelKind.SLICE_CLASS),
        filled=lambda rows: [(k, v) for k, v in rows if v],
    )
    env.filters["size"] = size_text
    return macros("dataset.html")


def intensity(v: Intensity) -> str:
    return f"{v.value}: {described(v)}".rstrip(": ")


# ----------------------------------------------------------------------------------------- sections


def intro(ctx: PageContext) -> str:
    return str(_template().intro(ctx, ctx.facts))


def overview(ctx: PageContext) -> str:
    return str(_template().overview(ctx))


def config_intro(ctx: PageContext, cfg: Config) -> str:
    return str(_template().config_intro(ctx, cfg))


def counts(ctx: PageContext, cfg: Config) -> str:
    return str(_template().counts(ctx, cfg))


def labels(ctx: PageContext, cfg: Config) -> str:
    return str(_template().labels(ctx, cfg))


def image(ctx: PageContext, cfg: Config) -> str:
    return str(_template().image(ctx, cfg))


def layout(ctx: PageContext, cfg: Config) -> str:
    return str(_template().layout(ctx, cfg))


def fingerprint(ctx: PageContext, cfg: Config) -> str:
    """The published manifest of this config, and the duplicates measured against other fingerprinted cards."""
    return str(_template().fingerprint(ctx, cfg))


def license_access(ctx: PageContext) -> str:
    return str(_template().license_access(ctx, ctx.facts))


def downloads(ctx: PageContext) -> str:
    return str(_template().downloads(ctx))


def how_to_load(ctx: PageContext) -> str:
    return str(_template().how_to_load(ctx, ctx.facts))


def citation(ctx: PageContext) -> str:
    return str(_template().citation(ctx, ctx.facts))


def lineage(ctx: PageContext) -> str:
    return str(_template().lineage(ctx))


def caveats(ctx: PageContext) -> str:
    return str(_template().caveats(ctx))


def sources(ctx: PageContext) -> str:
    return str(_template().sources(ctx))


def about_card(ctx: PageContext) -> str:
    return str(_template().about_card(ctx))


# The HTML of each section of the card document (covidct.render.document.SECTIONS); a function
# returning "" leaves its section out of this page.
RENDER: dict[str, Callable[..., str]] = {
    "intro": intro, "overview": overview,
    "config": config_intro, "counts": counts, "labels": labels, "image": image, "layout": layout,
    "fingerprint": fingerprint,
    "license": license_access, "downloads": downloads, "load": how_to_load, "citation": citation,
    "lineage": lineage, "caveats": caveats, "sources": sources, "card": about_card,
}
OMITTED: dict[str, str] = {}  # the site page shows every section


def _block(html: str) -> str:
    """A raw HTML block for the page's Markdown: one element, blank lines around."""
    return f'\n<div class="covidct-section">{html}</div>\n'


def dataset_markdown(ctx: PageContext) -> str:
    """The page body: Markdown headings (static text, for the table of contents) and HTML blocks."""
    out: list[str] = []

    def add(sec: Section, html: str, level: str) -> None:
        if html:
            if sec.title:
                out.append(f"\n{level} {sec.title}\n")
            out.append(_block(html))

    for item in walk():
        if isinstance(item, Section):
            add(item, RENDER[item.key](ctx), "##")
            continue
        for cfg in ctx.card.configs:
            out.append(f"\n## {config_heading(cfg.name)}\n")  # a slug: safe as Markdown; anchor config-<name>
            for sub in item:
                add(sub, RENDER[sub.key](ctx, cfg), "###")
    return "".join(out)
