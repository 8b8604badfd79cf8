"""`covidct show`: a card as plain terminal text.

Everything a user needs to get and read the data is here, whole: access (kind, URL, the
distributor's instructions), downloads with checksums, and each config's labels, counts and file
layout (patterns, parts, tables, arrays, grouping, splits). Nothing is cut: long text is printed in
full, indented under its heading. One-line values keep to one line (a newline inside one is shown as
``\\n``). Control characters are escaped later, by the CLI's printer.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from covidct.card.model import Card, Config, Layout, ValueFrom
from covidct.render.document import Section, walk
from covidct.render.facts import CardFacts, card_facts, not_loadable_reason, release_note

INDENT = "  "


def _line(value: object) -> str:
    """A one-line value: enum members by value, line breaks shown as ``\\n`` so no fake line appears."""
    s = value.value if isinstance(value, Enum) else "null" if value is None else str(value)
    return s.replace("\r\n", "\\n").replace("\n", "\\n")


def _block(text: str, indent: str) -> list[str]:
    """Multi-line text, whole, each line under ``indent`` (blank lines kept, trailing space dropped)."""
    return [(indent + line).rstrip() for line in text.strip("\n").splitlines()]


def _join(values: object) -> str:
    return ", ".join(_line(v) for v in values)  # type: ignore[attr-defined]


def value_from(v: ValueFrom) -> str:
    """Where a value comes from, e.g. ``part cls, map NCP -> NCP, CP -> CP``."""
    if v.part is not None:
        src = f"part {_line(v.part)}"
    elif v.template is not None:
        src = f"parts combined as {_line(v.template)}"
    elif v.dataset is not None:
        src = f"the example's row of HDF5 dataset {_line(v.dataset)}"
    elif v.table is not None:
        if v.label_columns is not None:
            cols = "one column per class: " + "; ".join(
                f"{_line(c)} " + ", ".join(f"{_line(k)} -> {_line(t)}" for k, t in m.items())
                for c, m in v.label_columns.items())
        else:
            cols = (f"column {_line(v.column)}" if v.column is not None
                    else "columns " + ", ".join(f"{_line(k)} <- {_line(c)}" for k, c in (v.columns or {}).items()))
        src = f"table {_line(v.table)}, {cols}"
    elif v.array is not None:
        src = f"array {_line(v.array)}"
    else:
        src = f"constant {_line(v.value)}"
    if v.rle is not None:
        r = v.rle
        src += (f", run-length text ({r.offsets} offsets, {r.order}, {r.shape[0]}x{r.shape[1]}"
                + (f", from {r.start}" if r.offsets == "absolute" else "")
                + (f", {_line(r.empty)!r} = no runs" if r.empty is not None else "") + "; rows united)")
    if v.separator is not None:
        src += f", split at {_line(v.separator)!r}"
    if v.map is not None:
        src += ", map " + ", ".join(f"{_line(k)} -> {_line(t)}" for k, t in v.map.items())
    if v.default is not None:
        src += f", else {_line(v.default)}"
    return src


def layout_lines(layout: Layout, indent: str) -> list[str]:
    """The file layout of one config, one fact a line."""
    return [*_file_lines(layout, indent), *_header_lines(layout, indent), *_table_lines(layout, indent),
            *_value_lines(layout, indent)]


def _file_lines(layout: Layout, indent: str) -> list[str]:
    """Archives, root, file roles, parts and exclusions."""
    i2 = indent + INDENT
    out: list[str] = []
    if layout.archives:
        out.append(f"{indent}archives: {_join(layout.archives)} (extracted in this order)")
    if layout.root:
        out.append(f"{indent}root:     {_line(layout.root)}")
    out.append(f"{indent}files:")
    width = max(len(r) for r in layout.files)
    for role, spec in layout.files.items():
        opt = "" if spec.required else ", optional"
        opt += f", rows of dataset {_line(spec.dataset)}" if spec.dataset else ""
        out.append(f"{i2}{_line(role):<{width}}  {_line(spec.pattern)}  ({_line(spec.format)}{opt})")
    if layout.parts:
        out.append(f"{indent}parts:")
        width = max(len(p) for p in layout.parts)
        for name, part in layout.parts.items():
            extra = f"  ({part.type})" if part.type != "str" else ""
            desc = f"  - {_line(part.description)}" if part.description else ""
            out.append(f"{i2}{_line(name):<{width}}  {_line(part.regex)}{extra}{desc}")
    if layout.exclude:
        out.append(f"{indent}exclude:  {_join(layout.exclude)}")
    return out


def _header_lines(layout: Layout, indent: str) -> list[str]:
    """DICOM headers, the where rules and the grouping of slices into scans."""
    out: list[str] = []
    if layout.headers:
        out.append(f"{indent}headers:  " + ", ".join(f"{_line(n)} = DICOM {_line(k)}"
                                                    for n, k in layout.headers.items()))
    for title, rules in (("where", layout.where), ("where not", layout.where_not)):
        if rules:
            out.append(f"{indent}{title + ':':<10}" + "; ".join(f"DICOM {_line(k)} in {_join(v)}"
                                                              for k, v in rules.items()))
    for label, a in layout.annotations.items():
        who = (f"consensus of at least {a.consensus.min_readers} readers" if a.consensus is not None
               else "one per reader")
        names = f"; {_join(f'{k} -> {v}' for k, v in a.classes.items())}" if a.classes else ""
        fields = f"; labels from record fields: {_join(f'{k} <- {v}' for k, v in a.labels.items())}" if a.labels \
            else ""
        match = "; matched by file name = slice SOPInstanceUID" if a.format == "voc-xml" else ""
        out.append(f"{indent}annotations {_line(label)}: {_line(a.pattern)} ({_line(a.format)}, {who}{names}{match}"
                   f"{fields})")
    if layout.group:
        g = layout.group
        order = f"DICOM {_line(g.order_by)}" if g.order_by is not None else f"part {_line(g.order_part)}"
        desc = ", descending" if g.descending else ""
        by = " + ".join(_line(b) for b in g.by)
        out.append(f"{indent}group:    one example per {by}; slices ordered by {order}{desc}")
    return out


def _table_lines(layout: Layout, indent: str) -> list[str]:
    i2 = indent + INDENT
    out: list[str] = []
    if layout.tables:
        out.append(f"{indent}tables:")
        for name, t in layout.tables.items():
            sheet = f", sheet {_line(t.sheet)}" if t.sheet is not None else ""
            rows = ", several rows per example" if t.rows == "many" else ""
            out.append(f"{i2}{_line(name)}: {_line(t.path)} ({_line(t.format)}{sheet}); "
                       f"column {_line(t.column)} = {_line(t.key)}{rows}")
    if layout.arrays:
        out.append(f"{indent}arrays:")
        for name, a in layout.arrays.items():
            desc = f" - {_line(a.description)}" if a.description else ""
            out.append(f"{i2}{_line(name)}: {_line(a.path)}, axis 0 = row of table {_line(a.row_table)}{desc}")
    return out


def _value_lines(layout: Layout, indent: str) -> list[str]:
    """Where labels, fields, ids and splits come from."""
    i2 = indent + INDENT
    out: list[str] = []
    for title, mapping in (("labels", layout.labels), ("fields", layout.fields)):
        if mapping:
            out.append(f"{indent}{title}:")
            out += [f"{i2}{_line(name)}: {value_from(v)}" for name, v in mapping.items()]
    for title, single in (("patient", layout.patient), ("scan", layout.scan)):
        if single is not None:
            out.append(f"{indent}{title + ':':<9} {value_from(single)}")
    s = layout.splits
    if s is None:
        out.append(f"{indent}splits:   none official")
    elif s.by is not None:
        out.append(f"{indent}splits:   {value_from(s.by)}")
    elif s.columns is not None:
        out.append(f"{indent}splits:   one column of table {_line(s.table)} per split, one {_line(s.key)} a cell:")
        out += [f"{i2}{_line(name)}: column {_line(col)}" for name, col in s.columns.items()]
    else:
        out.append(f"{indent}splits:   listed in files, one {_line(s.key)} a line:")
        out += [f"{i2}{_line(name)}: {_join(files)}" for name, files in (s.lists or {}).items()]
    return out


def _config(cfg: Config, card: Card | None = None) -> list[str]:
    lines = [f"config {_line(cfg.name)}: {_join(cfg.tasks)}; {_line(cfg.dimensionality)}; "
             f"one example = {_line(cfg.example)}" + ("; loadable" if cfg.layout else "")]
    if cfg.description:
        lines += _block(cfg.description, INDENT)
    return lines


def _labels(cfg: Config, card: Card | None = None) -> list[str]:
    lines = []
    for lab in cfg.labels:
        vals = ", ".join(f"{c.value}={_line(c.name)}" for c in lab.classes) or ", ".join(
            f"{m.value}={_line(m.name)}" for m in lab.mask_values)
        lines.append(f"  label {_line(lab.name)} ({_line(lab.kind)}, per {_line(lab.granularity)}): {vals}")
    return lines


def _counts(cfg: Config, card: Card | None = None) -> list[str]:
    lines = []
    for cnt in cfg.counts:
        per = ", ".join(f"{_line(k)} {v:,}" for k, v in cnt.by_class.items())
        total = f"{cnt.total:,}" if cnt.total is not None else "?"
        where = f" [{_line(cnt.split)}]" if cnt.split else ""
        other = f" {_line(release_note(cnt))}" if cnt.release else ""  # not the release the layout loads
        lines.append(f"  {_line(cnt.level)}{where}: {total}" + (f" ({per})" if per else "") + other)
    return lines


def _layout(cfg: Config, card: Card | None = None) -> list[str]:
    lines = []
    if cfg.layout is not None:
        lines.append("  layout:")
        lines += layout_lines(cfg.layout, INDENT * 2)
    elif cfg.derived is not None:
        d = cfg.derived
        lines.append("  derived:  rebuilt from your copies of its sources (covidct.load_dataset(..., data_dirs={...}))")
        lines += [f"    split {_line(split)}: {_line(path)}" for split, path in d.split_files.items()]
        lines.append(f"    columns: {_join(d.columns)} (header-less, whitespace-separated)")
        lines += [f"    source {_line(s.tag)}: " + (f"{_line(s.card)}/{_line(s.config)}, by file {_line(s.match)}"
                                                    if s.card else "no card yet (its rows are left out)")
                  for s in d.sources]
    else:
        why = not_loadable_reason(card, cfg) if card is not None else None
        lines.append(f"  layout:   not described (`covidct load` cannot read this config: {why or 'no file layout'})")
    return lines


def _intro(card: Card, facts: CardFacts) -> list[str]:
    lines = [f"{_line(card.name)}  ({card.ref})", _line(card.summary)]
    if facts.unavailable:  # first, as on the site page: before anything about getting the files
        notice = card.access.unavailable.notice if card.access.unavailable else None
        lines.append("unavailable: " + _line(facts.unavailable) + (f' The notice: "{_line(notice)}"' if notice else ""))
    return lines


def _overview(card: Card, facts: CardFacts) -> list[str]:
    lines = []
    if card.aliases:
        lines.append("aliases:    " + _join(card.aliases))
    lines.append("modality:   " + _join(card.modality))
    lines.append("anatomy:    " + _join(card.anatomy))
    if card.tags:
        lines.append("tags:       " + _join(card.tags))
    if card.homepage:
        lines.append(f"homepage:   {_line(card.homepage)}")
    if facts.headline_counts:
        lines.append("size:       " + ", ".join(f"{n:,} {level.value}" for level, n in facts.headline_counts))
    return lines


def _license_and_access(card: Card, facts: CardFacts) -> list[str]:
    lines: list[str] = []
    lic = card.license
    lines.append(f"license:    {_line(lic.id)}" + (f" ({_line(lic.name)})" if lic.name else "")
                 + f"; redistribution {_line(lic.redistribution)}"
                 + ("; users must accept the terms" if facts.gated else ""))
    if facts.license_url:
        lines.append(f"            {_line(facts.license_url)}")
    if lic.summary:
        lines += _block(lic.summary, " " * 12)
    lines.append(f"access:     {_line(card.access.kind)}" + (f" - {_line(card.access.url)}" if card.access.url else ""))
    if card.access.instructions:
        lines += _block(card.access.instructions, " " * 12)
    return lines


def _downloads(card: Card, facts: CardFacts) -> list[str]:
    if not card.downloads:
        return []
    lines = ["downloads:"]
    for d in card.downloads:
        what = [_line(d.archive) if d.archive.value != "none" else "file"]
        if d.size_bytes is not None:
            what.append(f"{d.size_bytes:,} bytes")
        lines.append(f"  {_line(d.name)} ({', '.join(what)})" + (f"  {_line(d.url)}" if d.url else ""))
        sums = "  ".join(f"{k} {v}" for k, v in (("md5", d.md5), ("sha256", d.sha256)) if v)
        if sums:
            lines.append(f"    {sums}")
        if d.description:
            lines.append(f"    {_line(d.description)}")
    return lines


def _citation(card: Card, facts: CardFacts) -> list[str]:
    return [f"doi:        {_line(facts.doi_url)}"] if facts.doi_url else []


def _caveats(card: Card, facts: CardFacts) -> list[str]:
    if not card.caveats:
        return []
    lines = ["caveats:"]
    for c in card.caveats:
        first, *rest = _block(c.text, "    ")
        lines.append("  - " + first.lstrip())
        lines += rest
    return lines


# The text of each section of the card document (covidct.render.document.SECTIONS): the card's
# sections take (card, facts), a config's take (config, card). Every section gives a list of lines.
RENDER: dict[str, Callable[..., list[str]]] = {
    "intro": _intro, "overview": _overview,
    "config": _config, "counts": _counts, "labels": _labels, "layout": _layout,
    "license": _license_and_access, "downloads": _downloads, "citation": _citation, "caveats": _caveats,
}
OMITTED: dict[str, str] = {
    "image": "`covidct show` is what a user needs to get and read the files; image facts are on the site page",
    "fingerprint": "published manifests and measured duplicates are on the site page (`covidct overlaps` measures)",
    "load": "the loading code is on the site page and in the Hub README; `covidct load` is the command",
    "lineage": "related datasets and their overlaps are on the site page and in the Hub README",
    "sources": "the sources are cited on the site page and in the Hub README",
    "card": "`covidct show` shows the card itself",
}


def card_text(card: Card) -> str:
    """The card as text: the card document's sections, a blank line between them, each config's under its line."""
    facts = card_facts(card)
    blocks: list[list[str]] = []
    for item in walk():
        if isinstance(item, Section):
            if item.key in RENDER:
                blocks.append(RENDER[item.key](card, facts))
            continue
        for cfg in card.configs:
            blocks.append([line for sec in item if sec.key in RENDER for line in RENDER[sec.key](cfg, card)])
    return "\n\n".join("\n".join(b) for b in blocks if b)
