"""The card document: one ordered list of sections, rendered three ways.

A card is shown as one document: the site's dataset page (HTML, :mod:`covidct.site.sections` over the
templates in ``site/templates/dataset.html``), the Hub README (Markdown, :mod:`covidct.hf.readme`) and
``covidct show`` (plain text, :mod:`covidct.render.text`). Each used to keep its own list of sections,
in its own order, with its own titles. Here is the one list: a renderer maps each section key to a
function (its ``RENDER`` table) and walks :data:`SECTIONS` in order; a renderer that does not show a
section names it in its ``OMITTED`` table with the reason (``tests/test_render_consistency.py`` checks
that every key is one or the other). The facts the sections state are derived once, in
:mod:`covidct.render.facts`.

Sections marked ``per_config`` are shown once per config, under that config's heading, in the order
given here (they form one run in the list). Adding a section: one entry here, and its renderer in each
of the three tables (or its entry in ``OMITTED``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    key: str
    title: str | None  # the heading (site and README); None: no heading of its own
    per_config: bool = False


SECTIONS: tuple[Section, ...] = (
    Section("intro", None),  # summary, badges, description, the unavailable notice
    Section("overview", "At a glance"),
    Section("config", None, per_config=True),  # tasks, dimensionality, one example, loadable
    Section("counts", "Counts", per_config=True),
    Section("labels", "Labels", per_config=True),
    Section("image", "Image properties", per_config=True),
    Section("layout", "File layout", per_config=True),
    Section("fingerprint", "Data fingerprint", per_config=True),
    Section("license", "License and access"),
    Section("downloads", "Downloads"),
    Section("load", "How to load it"),
    Section("citation", "Citation"),
    Section("lineage", "Lineage"),
    Section("caveats", "Caveats"),
    Section("sources", "Sources"),
    Section("card", "About this card"),
)

KEYS = tuple(s.key for s in SECTIONS)


def config_heading(name: str) -> str:
    """The heading of a config's run of sections (a config name is a slug: safe in every target)."""
    return f"Config: {name}"


def walk() -> Iterator[Section | tuple[Section, ...]]:
    """The sections in order, each run of ``per_config`` sections as one tuple (shown once per config)."""
    run: list[Section] = []
    for sec in SECTIONS:
        if sec.per_config:
            run.append(sec)
            continue
        if run:
            yield tuple(run)
            run = []
        yield sec
    if run:
        yield tuple(run)
