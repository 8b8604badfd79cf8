"""One dataset page as an ordered list of small sections (after the TensorFlow Datasets catalog).

A :class:`Section` has a key, a heading (static text, or None for the page intro) and a function that
renders HTML from a :class:`PageContext`. Sections marked ``per_config`` render once per config,
under that config's heading. A section that has nothing to say returns "" and is left out, so any
valid card (however many optional fields it lacks) gives a page. To extend a page, add a section.

All card text goes through :mod:`covidct.site.html` (escaping, safe Markdown, safe URLs).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from covidct.card.model import Card, Config, Count, Layout, ValueFrom
from covidct.card.vocab import (
    AccessKind,
    CountLevel,
    Intensity,
    LabelKind,
    Redistribution,
    Relation,
    Vocab,
)
from covidct.export.schemaorg import license_url
from covidct.site.html import colour, esc, link, markdown_html, text_html
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


@dataclass(frozen=True)
class Section:
    key: str
    title: str | None
    render: Callable[..., str]
    per_config: bool = False


# ----------------------------------------------------------------------------------------- helpers


@functools.cache
def _described(cls: type[Vocab]) -> dict[str, str]:
    return cls.describe()


def _vocab(v: Vocab) -> str:
    d = _described(type(v)).get(v.value, "")
    return f'<span title="{esc(d)}">{esc(v.value)}</span>' if d else esc(v.value)


def _n(v: int | None) -> str:
    return "" if v is None else f"{v:,}"


def _size(n: int | None) -> str:
    if n is None:
        return ""
    x = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if x < 1000 or unit == "TB":
            return f"{x:,.0f} {unit}" if unit == "B" else f"{x:,.1f} {unit}"
        x /= 1000
    return f"{n} B"


def _cite(refs: list[str]) -> str:
    if not refs:
        return ""
    return '<span class="covidct-cite">' + " ".join(
        f'<a href="#src-{esc(r)}" title="source {esc(r)}">[{esc(r)}]</a>' for r in refs) + "</span>"


def _table(rows: list[tuple[str, str]], cls: str = "covidct-facts") -> str:
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows if v)
    return f'<div class="{cls}"><table><tbody>{body}</tbody></table></div>' if body else ""


def _badge(kind: str, text: str, title: str | None = None) -> str:
    t = f' title="{esc(title)}"' if title else ""
    return f'<span class="covidct-badge covidct-badge--{kind}"{t}>{esc(text)}</span>'


def _code_block(code: str, lang: str = "python") -> str:
    return f'<pre class="covidct-code"><code class="language-{lang}">{esc(code)}</code></pre>'


def _admonition(kind: str, title: str, body: str) -> str:
    return f'<div class="admonition {kind}"><p class="admonition-title">{esc(title)}</p>{body}</div>'


# ----------------------------------------------------------------------------------------- sections


def intro(ctx: PageContext) -> str:
    c = ctx.card
    badges = [_badge("modality", m.value) for m in c.modality]
    for t in sorted({t.value for cfg in c.configs for t in cfg.tasks}):
        badges.append(_badge("task", t))
    for d in sorted({cfg.dimensionality.value for cfg in c.configs}):
        badges.append(_badge("dim", d))
    badges.append(_badge(f"access-{c.access.kind.value}", f"access: {c.access.kind.value}",
                         _described(AccessKind).get(c.access.kind.value)))
    badges.append(_badge("license", f"license: {c.license.id}", c.license.name))
    for level in (CountLevel.PATIENTS, CountLevel.SCANS, CountLevel.IMAGES, CountLevel.SLICES):
        n = c.headline_count(level)
        if n is not None:
            badges.append(_badge("count", f"{n:,} {level.value}"))
    if c.loadable_configs:
        badges.append(_badge("loadable", "loadable", "The card describes its file layout: covidct can load it."))
    out = [f'<div class="covidct-badges">{"".join(badges)}</div>',
           f'<p class="covidct-summary">{esc(c.summary)}</p>',
           f'<div class="covidct-description">{markdown_html(c.description)}</div>']
    if c.aliases:
        out.append('<p class="covidct-aliases"><strong>Also known as:</strong> '
                   + ", ".join(f'<span class="covidct-alias">{esc(a)}</span>' for a in c.aliases) + "</p>")
    return "".join(out)


def overview(ctx: PageContext) -> str:
    c = ctx.card
    rows = [
        ("Id", f"<code>{esc(c.ref)}</code>"),
        ("Homepage", link(c.homepage, c.homepage or "") if c.homepage else ""),
        ("Modality", ", ".join(_vocab(m) for m in c.modality)),
        ("Anatomy", ", ".join(esc(a) for a in c.anatomy)),
        ("Tags", " ".join(f'<span class="covidct-tag">{esc(t)}</span>' for t in c.tags)),
        ("Configs", ", ".join(f'<a href="#config-{esc(cfg.name)}"><code>{esc(cfg.name)}</code></a>'
                              for cfg in c.configs)),
    ]
    p = c.provenance
    if p:
        rows += [
            ("Institutions", "; ".join(esc(x) for x in p.institutions)),
            ("Countries", ", ".join(esc(x) for x in p.countries)),
            ("Collection period", esc(p.collection_period or "")),
            ("Scanners", "; ".join(esc(x) for x in p.scanners)),
            ("De-identification", text_html(p.deidentification, block=False)),
        ]
        if p.source and any(v for _, v in rows[-5:]):
            rows.append(("Provenance sources", _cite(p.source)))
    return _table(rows)


# per config ----------------------------------------------------------------------------------------


def config_intro(ctx: PageContext, cfg: Config) -> str:
    facts = [
        ("Tasks", ", ".join(esc(t.value) for t in cfg.tasks)),
        ("Dimensionality", esc(cfg.dimensionality.value)),
        ("One example", _vocab(cfg.example)),
        ("Loadable", "yes: the card describes the file layout" if cfg.layout else
         "not yet: the card does not describe the file layout"),
    ]
    if cfg.layout is not None:
        facts.append(("Layout checked", _verification(cfg)))
    desc = text_html(cfg.description)
    return desc + _table(facts)


def _verification(cfg: Config) -> str:
    v = cfg.verified
    if v is None:
        return ('<span class="covidct-unverified">layout not verified against real files</span>: it was tested '
                "on synthesized fixtures only")
    part = f" ({esc(v.part)})" if v.part else ""
    head = "layout verified" if cfg.layout_status == "verified" else "checked, with differences,"
    note = f"<br>{text_html(v.note)}" if v.note else ""
    return (f'<span class="covidct-{esc(cfg.layout_status)}">{head}</span> against {esc(v.source)}{part} on '
            f"{esc(v.date.isoformat())} (<code>covidct check</code> on <code>{esc(v.listing)}</code>){note}")


def _count_title(cnt: Count) -> str:
    return cnt.level.value + (f" ({cnt.split})" if cnt.split else "") + (f" [{cnt.release}]" if cnt.release else "")


def _release(cnt: Count) -> str:
    """Counts of another release than the one the layout loads say which (before the note)."""
    return f"<em>Release: {esc(cnt.release)}.</em> " if cnt.release else ""


def counts(ctx: PageContext, cfg: Config) -> str:
    if not cfg.counts:
        return '<p class="covidct-muted">The card gives no counts for this config.</p>'
    rows = []
    for cnt in cfg.counts:
        per = ", ".join(f"{esc(k)}&nbsp;{v:,}" for k, v in cnt.by_class.items())
        total = cnt.total if cnt.total is not None else sum(cnt.by_class.values())
        rows.append(
            f"<tr><td>{esc(cnt.level.value)}</td><td>{esc(cnt.split or 'all')}</td>"
            f'<td class="covidct-num">{_n(total)}</td><td>{per}</td>'
            f"<td>{_release(cnt)}{text_html(cnt.note, block=False)}</td>"
            f"<td>{_cite(cnt.source)}</td></tr>"
        )
    table = ('<div class="covidct-counts"><table><thead><tr><th>Level</th><th>Split</th><th>Total</th>'
             "<th>Per class</th><th>Note</th><th>Sources</th></tr></thead><tbody>"
             + "".join(rows) + "</tbody></table></div>")
    if not any(cnt.by_class for cnt in cfg.counts):
        return table + '<p class="covidct-muted">No class-balance chart: the card gives no per-class counts.</p>'
    groups = [Group(_count_title(cnt), cnt.total if cnt.total is not None else sum(cnt.by_class.values()),
                    list(cnt.by_class.items())) for cnt in cfg.counts]
    svg = chart(groups, mask_colours(cfg.labels), title=f"Counts per level and class balance of {cfg.name}")
    return table + f'<figure class="covidct-figure">{svg}<figcaption>Class balance of <code>{esc(cfg.name)}' \
                   f"</code>: one group per counted level, bars scaled to the largest class.</figcaption></figure>"


def labels(ctx: PageContext, cfg: Config) -> str:
    if not cfg.labels:
        return '<p class="covidct-muted">No labels: the examples are images only.</p>'
    out = []
    for lab in cfg.labels:
        head = (f'<p class="covidct-label-head"><code>{esc(lab.name)}</code>: {_vocab(lab.kind)}, '
                f"one value per {esc(lab.granularity.value)}; labelled by "
                + ", ".join(_vocab(s) for s in lab.source) + "</p>")
        out.append(head)
        if lab.available_for:
            out.append(f"<p>Available for: {esc(lab.available_for)}</p>")
        if lab.description:
            out.append(text_html(lab.description))
        if lab.mask_values:
            rows = "".join(
                f'<tr><td class="covidct-num">{mv.value}</td><td>'
                + (f'<span class="covidct-swatch" style="background:{c}"></span><code>{c}</code>'
                   if (c := colour(mv.color)) else "")
                + f"</td><td>{esc(mv.name)}</td><td>{esc(mv.description or '')}</td></tr>"
                for mv in lab.mask_values)
            out.append('<div class="covidct-labels"><table><thead><tr><th>Value</th><th>Colour</th><th>Name</th>'
                       f"<th>Meaning</th></tr></thead><tbody>{rows}</tbody></table></div>")
        elif lab.classes:
            rows = "".join(
                f'<tr><td class="covidct-num">{cd.value}</td><td>{esc(cd.name)}</td>'
                f"<td>{esc(cd.description or '')}</td></tr>" for cd in lab.classes)
            out.append('<div class="covidct-labels"><table><thead><tr><th>Value</th><th>Name</th><th>Meaning</th>'
                       f"</tr></thead><tbody>{rows}</tbody></table></div>")
        elif lab.kind in (LabelKind.CLASS, LabelKind.MULTI_LABEL, LabelKind.SLICE_CLASS):
            out.append('<p class="covidct-muted">The card does not list the classes.</p>')
    return "".join(out)


def _rng(r: object) -> str:
    if r is None:
        return ""
    parts = []
    for k in ("min", "median", "max"):
        v = getattr(r, k)
        if v is not None:
            txt = "×".join(str(x) for x in v) if isinstance(v, list) else f"{v:g}"
            parts.append(f"{k} {txt}")
    return esc(", ".join(parts))


def image(ctx: PageContext, cfg: Config) -> str:
    im = cfg.image
    intensity = f"{esc(im.intensity.value)}: {esc(_described(Intensity).get(im.intensity.value, ''))}"
    rows = [
        ("Formats", ", ".join(esc(f.value) for f in im.formats)),
        ("Bits per sample", ", ".join(str(b) for b in im.bit_depth)),
        ("Channels", str(im.channels) if im.channels else ""),
        ("Size (pixels)", _rng(im.size)),
        ("Pixel spacing (mm)", _rng(im.pixel_spacing_mm)),
        ("Slice thickness (mm)", _rng(im.slice_thickness_mm)),
        ("Intensity", intensity.rstrip(": ")),
        ("Note", text_html(im.note, block=False)),
        ("Sources", _cite(im.source)),
    ]
    return _table(rows)


def _tree(layout: Layout) -> str:
    tree: dict = {}
    notes: dict[tuple[str, ...], list[str]] = {}

    def add(path: str, note: str) -> None:
        parts = tuple(p for p in path.split("/") if p)
        node = tree
        for p in parts:
            node = node.setdefault(p, {})
        notes.setdefault(parts, []).append(note)

    for role, fs in layout.files.items():
        add(fs.pattern, f"{role} ({fs.format.value}{'' if fs.required else ', optional'})")
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
    return f'<pre class="covidct-tree">{esc(chr(10).join(lines))}</pre>'


def _source(v: ValueFrom) -> str:
    if v.part is not None:
        s = f"path part <code>{{{esc(v.part)}}}</code>"
    elif v.table is not None:
        s = f"table <code>{esc(v.table)}</code>, column <code>{esc(v.column or '')}</code>"
    elif v.array is not None:
        s = f"array <code>{esc(v.array)}</code>"
    else:
        s = f"constant <code>{esc(v.value)}</code>"
    if v.map:
        shown = list(v.map.items())[:12]
        s += " mapped " + ", ".join(f"<code>{esc(k)}</code>→<code>{esc(x)}</code>" for k, x in shown)
        if len(v.map) > len(shown):
            s += f", … ({len(v.map) - len(shown)} more)"
    if v.separator:
        s += f", split on <code>{esc(v.separator)}</code>"
    return s


def layout(ctx: PageContext, cfg: Config) -> str:
    lay = cfg.layout
    if lay is None:
        return ('<p class="covidct-muted">The card does not describe the file layout of this config yet, '
                "so covidct cannot load it.</p>")
    out = [_tree(lay)]
    rows: list[tuple[str, str]] = []
    if lay.archives:
        rows.append(("Inside archives", ", ".join(f"<code>{esc(a)}</code>" for a in lay.archives)))
    if lay.parts:
        rows.append(("Named parts", "<br>".join(
            f"<code>{{{esc(n)}}}</code> = <code>{esc(p.regex)}</code> ({esc(p.type)})"
            + (f": {esc(p.description)}" if p.description else "") for n, p in lay.parts.items())))
    if lay.headers:
        rows.append(("From DICOM headers", "<br>".join(
            f"<code>{{{esc(n)}}}</code> = <code>{esc(k.value)}</code>" for n, k in lay.headers.items())))
    for title, rules in (("Only files where", lay.where), ("Files left out where", lay.where_not)):
        if rules:
            rows.append((title, "<br>".join(f"<code>{esc(k.value)}</code> is " + " or ".join(
                f"<code>{esc(v)}</code>" for v in values) for k, values in rules.items())))
    for name, v in lay.labels.items():
        rows.append((f"Label <code>{esc(name)}</code>", _source(v)))
    if lay.patient:
        rows.append(("Patient id", _source(lay.patient)))
    if lay.scan:
        rows.append(("Scan id", _source(lay.scan)))
    for name, v in lay.fields.items():
        rows.append((f"Field <code>{esc(name)}</code>", _source(v)))
    for name, t in lay.tables.items():
        rows.append((f"Table <code>{esc(name)}</code>",
                     f"<code>{esc(t.path)}</code> joined on column <code>{esc(t.column)}</code> = "
                     f"<code>{esc(t.key)}</code>" + (", several rows per example" if t.rows == "many" else "")))
    if lay.group:
        g = lay.group
        order = (f"DICOM <code>{esc(g.order_by.value)}</code>" if g.order_by
                 else f"part <code>{{{esc(g.order_part)}}}</code>")
        rows.append(("One scan", "files sharing " + ", ".join(f"<code>{{{esc(b)}}}</code>" for b in g.by)
                     + f", ordered by {order}" + (" descending" if g.descending else "")))
    if lay.splits:
        sp = lay.splits
        if sp.by is not None:
            rows.append(("Splits", _source(sp.by)))
        elif sp.lists:
            rows.append(("Splits", "; ".join(f"<code>{esc(k)}</code> listed in " + ", ".join(
                f"<code>{esc(p)}</code>" for p in v) for k, v in sp.lists.items())))
    else:
        rows.append(("Splits", "none official; <code>covidct.load_dataset(..., split_by=\"patient\")</code> "
                               "makes a patient-level split"))
    if lay.exclude:
        rows.append(("Ignored files", ", ".join(f"<code>{esc(e)}</code>" for e in lay.exclude)))
    out.append(_table(rows))
    return "".join(out)


def fingerprint(ctx: PageContext, cfg: Config) -> str:
    """The published manifest of this config, and the duplicates measured against other fingerprinted cards
    (recorded on this card, or on the other card pointing here)."""
    fp = cfg.fingerprint
    rows: list[tuple[str, str, int, int, int, int, int, int]] = []  # card, config, near, images, files, ...
    if fp is not None:
        rows += [(m.card, m.config or "", m.near, m.images, m.files, m.pixels, m.near_pairs, m.patients)
                 for m in fp.matches]
    for other in ctx.cards.values():
        for ocfg in other.configs if other.id != ctx.card.id else ():
            for m in ocfg.fingerprint.matches if ocfg.fingerprint else ():
                if m.card == ctx.card.id and m.config in (None, cfg.name):
                    rows.append((other.id, ocfg.name, m.near, -1, m.files, m.pixels, m.near_pairs, m.patients))
    if fp is None and not rows:
        return ""
    out = []
    if fp is not None:
        out.append(f"<p>Published manifest of this config's hashes (no pixels): {link(fp.url, fp.url)}, "
                   f"SHA-256 <code>{esc(fp.sha256)}</code>, {_n(fp.files)} image files, made "
                   f"{esc(fp.date.isoformat())}. Check your own images against it:</p>")
        out.append(_code_block(f"covidct fingerprint --folder MY_IMAGES --out mine.parquet\n"
                               f"covidct overlaps --manifest mine.parquet --manifest {fp.url.rsplit('/', 1)[-1]}",
                               "bash"))
    if rows:
        body = []
        for card_id, config, near, images, files, pixels, near_pairs, patients in sorted(rows):
            url = ctx.page_url(card_id)
            name = f'<a href="{esc(url)}">{esc(card_id)}</a>' if url else esc(card_id)
            body.append(f"<tr><td>{name}{' / ' + esc(config) if config else ''}</td>"
                        f'<td class="covidct-num">{"" if images < 0 else _n(images)}</td>'
                        f'<td class="covidct-num">{_n(files)}</td><td class="covidct-num">{_n(pixels)}</td>'
                        f'<td class="covidct-num">{_n(near_pairs)} (&le; {near} bits)</td>'
                        f'<td class="covidct-num">{_n(patients)}</td></tr>')
        out.append('<p>Duplicates measured with <code>covidct overlaps --manifest</code>:</p>'
                   '<div class="covidct-fingerprints"><table><thead><tr><th>Other dataset</th><th>Images here '
                   "with a duplicate</th><th>Identical files</th><th>Same pixels</th><th>Near duplicates</th>"
                   "<th>Shared patient ids</th></tr></thead><tbody>" + "".join(body) + "</tbody></table></div>")
    return "".join(out)


CONFIG_SECTIONS: list[Section] = [
    Section("about", None, config_intro, per_config=True),
    Section("counts", "Counts", counts, per_config=True),
    Section("labels", "Labels", labels, per_config=True),
    Section("image", "Image properties", image, per_config=True),
    Section("layout", "File layout", layout, per_config=True),
    Section("fingerprint", "Data fingerprint", fingerprint, per_config=True),
]


def configs(ctx: PageContext) -> str:
    """Rendered by :func:`dataset_markdown` (it emits Markdown headings); kept for the section list."""
    return ""


# whole card again ----------------------------------------------------------------------------------


def license_access(ctx: PageContext) -> str:
    c = ctx.card
    lic, acc = c.license, c.access
    lic_url = license_url(c)
    lic_txt = lic.id + (f": {lic.name}" if lic.name else "")
    rows = [
        ("License", link(lic_url, lic_txt)),
        ("Terms", text_html(lic.summary, block=False)),
        ("Redistribution", esc(lic.redistribution.value) + {
            Redistribution.ALLOWED: ": copies may be shared (e.g. on the Hugging Face Hub)",
            Redistribution.FORBIDDEN: ": copies may not be shared; get the data from the source",
            Redistribution.UNKNOWN: ": the terms do not say; get the data from the source",
        }[lic.redistribution]),
        ("Agreement", "users must accept the terms before download" if lic.requires_agreement else ""),
        ("License sources", _cite(lic.source)),
        ("Access", f"{esc(acc.kind.value)}: {esc(_described(AccessKind).get(acc.kind.value, ''))}"),
        ("Where", link(acc.url, acc.url or "") if acc.url else ""),
        ("Access sources", _cite(acc.source)),
    ]
    out = [_table(rows)]
    steps = text_html(acc.instructions)
    generic = ("<p>Put the files in one folder (called <code>DATA_DIR</code> below) as the file layout shows, "
               "then pass it as <code>data_dir</code> when loading.</p>")
    if acc.kind is AccessKind.UNAVAILABLE:
        generic = "<p>No official source distributes the files any more.</p>"
    out.append(_admonition("info covidct-manual", "Manual download", steps + generic))
    return "".join(out)


def downloads(ctx: PageContext) -> str:
    c = ctx.card
    if not c.downloads:
        return '<p class="covidct-muted">The card lists no individual files.</p>'
    rows = []
    for d in c.downloads:
        sums = []
        if d.md5:
            sums.append(f"MD5 <code>{esc(d.md5)}</code>")
        if d.sha256:
            sums.append(f"SHA-256 <code>{esc(d.sha256)}</code>")
        rows.append(
            f"<tr><td>{link(d.url, d.name) if d.url else esc(d.name)}</td>"
            f'<td class="covidct-num">{_size(d.size_bytes)}</td>'
            f"<td>{esc(d.archive.value if d.archive.value != 'none' else '')}</td>"
            f'<td class="covidct-sums">{"<br>".join(sums) or "none published"}</td>'
            f"<td>{esc(d.description or '')} {_cite(d.source)}</td></tr>"
        )
    return ('<div class="covidct-downloads"><table><thead><tr><th>File</th><th>Size</th><th>Archive</th>'
            "<th>Checksums</th><th>Contents</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>")


def how_to_load(ctx: PageContext) -> str:
    c = ctx.card
    loadable = c.loadable_configs
    out = []
    meta = f'import covidct\n\ncard = covidct.load_card("{c.ref}")   # the card as a Python object'
    if not loadable:
        out.append('<p class="covidct-muted">No config of this card describes its file layout yet, so only the '
                   "card itself can be loaded:</p>")
        out.append(_code_block(meta))
        return "".join(out)
    out.append("<p>With covidct (<code>pip install 'covidct[hf]'</code>), from the files in "
               "<code>DATA_DIR</code>:</p>")
    lines = ["import covidct", ""]
    for cfg in loadable:
        lines.append(f'ds = covidct.load_dataset("{c.ref}", "{cfg.name}", data_dir="DATA_DIR")')
    out.append(_code_block("\n".join(lines)))
    if c.license.redistribution is Redistribution.ALLOWED:
        out.append(f"<p>With stock Hugging Face <code>datasets</code>, on the exported Hub folder "
                   f"<code>{esc(c.ref)}</code> (written by <code>covidct export {esc(c.id)} "
                   "--data-dir DATA_DIR --out build/hub</code>;"
                   " run from <code>build/hub</code>, where the local folder is found before the Hub):</p>")
        lines = ["from datasets import load_dataset", ""]
        for cfg in loadable:
            lines.append(f'ds = load_dataset("{c.ref}", "{cfg.name}")')
        out.append(_code_block("\n".join(lines)))
    elif c.license.redistribution is Redistribution.FORBIDDEN:
        out.append("<p>The license does not allow redistribution, so there is no Hub copy of the files: "
                   "load your own download with covidct as above.</p>")
    else:
        out.append("<p>The terms do not say whether copies may be shared, so there is no Hub copy of the files: "
                   "load your own download with covidct as above.</p>")
    return "".join(out)


def citation(ctx: PageContext) -> str:
    cit = ctx.card.citation
    if cit is None or not (cit.doi or cit.bibtex or cit.text):
        return '<p class="covidct-muted">The card gives no citation.</p>'
    out = []
    if cit.doi:
        out.append(f"<p>DOI: {link('https://doi.org/' + cit.doi, cit.doi)}</p>")
    if cit.text:
        out.append(f'<p class="covidct-cite-text">{esc(cit.text.strip())}</p>')
    if cit.bibtex:
        bid = f"bibtex-{ctx.card.id}"
        out.append(
            f'<div class="covidct-bibtex-box" id="{esc(bid)}"><button type="button" class="md-button covidct-copy" '
            f'data-covidct-copy="{esc(bid)}" title="Copy the BibTeX entry">Copy BibTeX</button>'
            f'<pre class="covidct-bibtex"><code>{esc(cit.bibtex.strip())}</code></pre></div>'
        )
    return "".join(out)


def lineage(ctx: PageContext) -> str:
    c = ctx.card
    out = []
    if ctx.overlaps:
        items = []
        for o in ctx.overlaps:
            url = ctx.page_url(o.other)
            name = ctx.cards[o.other].name if o.other in ctx.cards else o.other
            target = f'<a href="{esc(url)}">{esc(name)}</a>' if url else esc(name)
            how = "shares patients or images" if o.direct else "may share images"
            items.append(f"<li>{target} {how}: {esc('; '.join(o.path))}</li>")
        out.append(_admonition(
            "warning covidct-overlap", "Overlap with other datasets",
            "<p>Do not train on one of these and test on another as if they were independent:</p>"
            f"<ul>{''.join(items)}</ul>"))
    if c.lineage:
        rows = []
        for lin in c.lineage:
            url = ctx.page_url(lin.card)
            target = (f'<a href="{esc(url)}">{esc(ctx.cards[lin.card].name)}</a> (<code>{esc(lin.card)}</code>)'
                      if url else f"<code>{esc(lin.card)}</code>")
            rows.append(f"<tr><td>{_vocab(lin.relation)}</td><td>{target}</td>"
                        f"<td>{text_html(lin.note, block=False)} {_cite(lin.source)}</td></tr>")
        out.append('<div class="covidct-lineage"><table><thead><tr><th>This dataset is</th><th>Of</th><th>Note</th>'
                   "</tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>")
    if ctx.referenced_by:
        items = []
        for other, rel, _note in ctx.referenced_by:
            url = ctx.page_url(other)
            nm = ctx.cards[other].name
            items.append(f'<li><a href="{esc(url)}">{esc(nm)}</a> is {esc(rel)} this dataset</li>' if url else
                         f"<li><code>{esc(other)}</code> is {esc(rel)} this dataset</li>")
        out.append(f"<p>Other cards that mention this one:</p><ul>{''.join(items)}</ul>")
    if not out:
        return '<p class="covidct-muted">The card names no related datasets.</p>'
    return "".join(out)


def caveats(ctx: PageContext) -> str:
    if not ctx.card.caveats:
        return ""
    items = "".join(f"<li>{text_html(cv.text, block=False)} {_cite(cv.source)}</li>" for cv in ctx.card.caveats)
    return f'<ul class="covidct-caveats">{items}</ul>'


def sources(ctx: PageContext) -> str:
    if not ctx.card.sources:
        return '<p class="covidct-muted">The card lists no sources.</p>'
    items = "".join(
        f'<li id="src-{esc(s.id)}"><code>{esc(s.id)}</code> {link(s.url, s.title)}'
        + (f' <span class="covidct-muted">(checked {s.accessed.isoformat()})</span>' if s.accessed else "")
        + "</li>" for s in ctx.card.sources)
    return f'<ol class="covidct-sources">{items}</ol>'


def about_card(ctx: PageContext) -> str:
    c = ctx.card
    parts = [f"<li>Last reviewed: <time datetime=\"{c.last_reviewed.isoformat()}\">"
             f"{c.last_reviewed.isoformat()}</time></li>"]
    if ctx.edit_url:
        parts.append(f'<li><a class="covidct-edit" href="{esc(ctx.edit_url)}" rel="nofollow noopener">Edit this card'
                     f"</a> (<code>cards/{esc(c.id)}.yaml</code>)</li>")
    else:
        parts.append(f"<li>Source: <code>cards/{esc(c.id)}.yaml</code></li>")
    if ctx.view_url:
        parts.append(f'<li><a href="{esc(ctx.view_url)}" rel="nofollow noopener">View the YAML</a></li>')
    if ctx.croissant_url:
        parts.append(f'<li><a class="covidct-croissant" href="{esc(ctx.croissant_url)}">Croissant metadata '
                     f"(JSON-LD)</a></li>")
    return f'<ul class="covidct-about">{"".join(parts)}</ul>'


SECTIONS: list[Section] = [
    Section("intro", None, intro),
    Section("overview", "At a glance", overview),
    Section("configs", None, configs),  # expanded with CONFIG_SECTIONS under one heading per config
    Section("license", "License and access", license_access),
    Section("downloads", "Downloads", downloads),
    Section("load", "How to load it", how_to_load),
    Section("citation", "Citation", citation),
    Section("lineage", "Lineage", lineage),
    Section("caveats", "Caveats", caveats),
    Section("sources", "Sources", sources),
    Section("card", "About this card", about_card),
]


def _block(html: str) -> str:
    """A raw HTML block for the page's Markdown: one element, blank lines around."""
    return f'\n<div class="covidct-section">{html}</div>\n'


def dataset_markdown(ctx: PageContext) -> str:
    """The page body: Markdown headings (static text, for the table of contents) and HTML blocks."""
    out: list[str] = []
    for sec in SECTIONS:
        if sec.key == "configs":
            for cfg in ctx.card.configs:
                out.append(f"\n## Config: {cfg.name}\n")  # a slug: safe as Markdown; anchor config-<name>
                for sub in CONFIG_SECTIONS:
                    html = sub.render(ctx, cfg)
                    if not html:
                        continue
                    if sub.title:
                        out.append(f"\n### {sub.title}\n")
                    out.append(_block(html))
            continue
        html = sec.render(ctx)
        if not html:
            continue
        if sec.title:
            out.append(f"\n## {sec.title}\n")
        out.append(_block(html))
    return "".join(out)
