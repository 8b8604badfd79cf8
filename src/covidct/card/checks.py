"""Semantic checks: what the schema alone cannot say.

Each check yields :class:`Finding` objects whose ``path`` is a path into the card's YAML (the same
keys as the model), so the validator can turn it into ``file:line:col``. Checks that need the
whole registry (unique ids and aliases, lineage targets) take the set of known ids.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator, Iterator

from covidct.card.codes import check_codes
from covidct.card.finding import Finding, Path
from covidct.card.finding import near as _near
from covidct.card.licenses import check_license_id
from covidct.card.model import TODO_RE, AnnotationSpec, Card, Config, LabelDef, Layout, ValueFrom
from covidct.card.partial import accepts
from covidct.card.pattern import (
    BUILTIN_PARTS,
    PatternError,
    check_safe_path,
    check_safe_regex,
    compile_glob,
    parse,
    template_parts,
)
from covidct.card.vocab import RECORD_CLASS_FIELDS, AccessKind, FileFormat, LabelKind


def check_card(card: Card, known_ids: set[str] | None = None, *, in_registry: bool = False) -> Iterator[Finding]:
    """All card-level findings; ``known_ids`` enables the lineage check.

    ``in_registry``: the card belongs to the registry, where a download URL without a sha256 is an
    error (C316); for anyone else's card it is a warning (W406).
    """
    yield from _check_sources(card)
    yield from _check_urls(card)
    yield from _check_license(card)
    yield from _check_unavailable(card)
    yield from _check_checksums(card, in_registry)
    yield from _check_unique_names(card)
    yield from check_codes(card)
    for i, cfg in enumerate(card.configs):
        yield from _check_config(card, cfg, ("configs", i))
    for i, cfg in enumerate(card.configs):
        if cfg.derived is not None:
            yield from _check_derived(card, cfg, ("configs", i, "derived"), known_ids)
    for i, lin in enumerate(card.lineage):
        if lin.card == card.id:
            yield Finding(("lineage", i, "card"), "C305", "lineage refers to the card itself")
        elif known_ids is not None and lin.card not in known_ids:
            yield Finding(("lineage", i, "card"), "C305", f"no card with id {lin.card!r} in the registry",
                          hint="add that card first, or fix the id")
    for i, cfg in enumerate(card.configs):  # duplicates measured against another card name that card
        for j, match in enumerate(cfg.fingerprint.matches if cfg.fingerprint else ()):
            if known_ids is not None and match.card not in known_ids and match.card != card.id:
                yield Finding(("configs", i, "fingerprint", "matches", j, "card"), "C305",
                              f"no card with id {match.card!r} in the registry", hint="fix the id")


def check_todos(data: object, path: Path = (), text: str | None = None) -> Iterator[Finding]:
    """TODO markers left by ``covidct new`` (on the raw data, so every string is seen).

    ``text`` is the card's source: when it holds no TODO at all, the walk is skipped.
    """
    if text is not None and "TODO" not in text:
        return
    if isinstance(data, str):
        if TODO_RE.search(data):
            # `unknown` is offered only where the model takes it (not in most vocabularies, URLs, DOIs)
            hint = "replace it with a sourced fact, or `unknown`" if accepts(path, "unknown") \
                else "replace it with a sourced fact"
            yield Finding(path, "C313", f"TODO left in `{'.'.join(map(str, path)) or 'card'}`", hint=hint)
    elif isinstance(data, dict):
        for k, v in data.items():
            yield from check_todos(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from check_todos(v, (*path, i))


# ------------------------------------------------------------------------------------------------


def _check_sources(card: Card) -> Iterator[Finding]:
    ids = card.source_ids()
    if not card.sources:
        yield Finding(("id",), "W402", "the card lists no sources", hint="add the pages behind its facts")

    def refs(obj: object, path: Path) -> Iterator[Finding]:
        for j, ref in enumerate(getattr(obj, "source", []) or []):
            if ref not in ids:
                yield Finding((*path, "source", j), "C310", f"source {ref!r} is not in `sources`",
                              hint=_near(ref, ids))

    yield from refs(card.license, ("license",))
    yield from refs(card.access, ("access",))
    if card.access.unavailable:
        yield from refs(card.access.unavailable, ("access", "unavailable"))
    if card.provenance:
        yield from refs(card.provenance, ("provenance",))
    for i, d in enumerate(card.downloads):
        yield from refs(d, ("downloads", i))
    for i, c in enumerate(card.caveats):
        yield from refs(c, ("caveats", i))
    for i, lin in enumerate(card.lineage):
        yield from refs(lin, ("lineage", i))
    for i, cfg in enumerate(card.configs):
        yield from refs(cfg.image, ("configs", i, "image"))
        for j, cnt in enumerate(cfg.counts):
            yield from refs(cnt, ("configs", i, "counts", j))
            if not cnt.source:
                yield Finding(("configs", i, "counts", j), "W401", f"count of {cnt.level.value} cites no source")
    if not card.license.source:
        yield Finding(("license",), "W401", "license cites no source")
    if not card.access.source:
        yield Finding(("access",), "W401", "access cites no source")
    if card.access.unavailable and not card.access.unavailable.source:
        yield Finding(("access", "unavailable"), "W401", "the unavailability cites no source")


def _check_urls(card: Card) -> Iterator[Finding]:
    def bad(url: str | None) -> bool:
        return url is not None and not url.lower().startswith(("http://", "https://"))

    cands: list[tuple[Path, str | None]] = [
        (("homepage",), card.homepage),
        (("license", "url"), card.license.url),
        (("access", "url"), card.access.url),
    ]
    cands += [(("downloads", i, "url"), d.url) for i, d in enumerate(card.downloads)]
    cands += [(("sources", i, "url"), s.url) for i, s in enumerate(card.sources)]
    for path, url in cands:
        if bad(url):
            yield Finding(path, "C309", f"URL {url!r} is not http(s)", hint="only http:// and https:// links")


def _check_license(card: Card) -> Iterator[Finding]:
    problem = check_license_id(card.license.id)
    if problem is not None:
        hint = f"did you mean {problem.suggestion!r}?" if problem.suggestion else \
            "an SPDX id from https://spdx.org/licenses/, `LicenseRef-<name>` or `other` with the terms, or `unknown`"
        yield Finding(("license", "id"), "C315", problem.message, hint=hint)


def _check_unavailable(card: Card) -> Iterator[Finding]:
    """An `unavailable` card says why and since when; an available one carries no unavailability."""
    acc = card.access
    if acc.kind == AccessKind.UNAVAILABLE and acc.unavailable is None:
        yield Finding(("access", "kind"), "C320", "access is `unavailable` but the card does not say why",
                      hint="add `unavailable: {reason: ..., since: YYYY-MM-DD, source: [...]}` under `access`")
    elif acc.kind != AccessKind.UNAVAILABLE and acc.unavailable is not None:
        yield Finding(("access", "unavailable"), "C320", f"access is `{acc.kind.value}`, so the data can be had; "
                      "`unavailable` is only for kind `unavailable`", hint="drop it, or set `kind: unavailable`",
                      key=True)
    elif acc.unavailable is not None and acc.unavailable.since and acc.unavailable.checked \
            and acc.unavailable.checked < acc.unavailable.since:
        yield Finding(("access", "unavailable", "checked"), "C320",
                      f"checked on {acc.unavailable.checked} but gone only since {acc.unavailable.since}")


def _check_derived(card: Card, cfg: Config, at: Path, known_ids: set[str] | None) -> Iterator[Finding]:
    """A derived config names safe list paths, each source tag once, real cards, and its own labels."""
    der = cfg.derived
    assert der is not None
    if cfg.layout is not None:
        yield Finding(at, "C311", f"config {cfg.name!r} has both a `layout` and `derived`; give one", key=True)
    for split, path in der.split_files.items():
        try:
            check_safe_path(path, "split file")
        except PatternError as exc:
            yield Finding((*at, "split_files", split), "C306", str(exc))
    seen: dict[str, int] = {}
    for j, src in enumerate(der.sources):
        if src.tag in seen:
            yield Finding((*at, "sources", j, "tag"), "C312", f"source tag {src.tag!r} repeats (first at item "
                          f"{seen[src.tag] + 1})")
        seen.setdefault(src.tag, j)
        if src.card is None:
            continue
        if src.card == card.id:
            yield Finding((*at, "sources", j, "card"), "C305", "a derived config cannot name its own card")
        elif known_ids is not None and src.card not in known_ids:
            yield Finding((*at, "sources", j, "card"), "C305", f"no card with id {src.card!r} in the registry",
                          hint="add that card first, or fix the id")
    label_names = {lab.name for lab in cfg.labels}
    for name in der.labels:
        if name not in label_names:
            yield Finding((*at, "labels", name), "C311", f"no label {name!r} in the config's labels",
                          hint=_near(name, label_names), key=True)


def _check_checksums(card: Card, in_registry: bool) -> Iterator[Finding]:
    for i, d in enumerate(card.downloads):
        if d.url is None or d.sha256 is not None:
            continue
        if in_registry:
            yield Finding(("downloads", i, "url"), "C316", f"download {d.name!r} has a URL but no sha256",
                          hint="give the sha256 that a public source publishes (cite it), or drop the URL "
                          "and say in `access.instructions` how to get the file")
        else:
            yield Finding(("downloads", i, "url"), "W406", f"download {d.name!r} has a URL but no sha256: its "
                          "bytes are not verified", hint="add `sha256:` (e.g. from `sha256sum`); cards in the "
                          "registry must have it")


def _check_unique_names(card: Card) -> Iterator[Finding]:
    for field, attr in (("configs", "name"), ("sources", "id"), ("downloads", "name")):
        seen: dict[str, int] = {}
        for i, item in enumerate(getattr(card, field)):
            v = getattr(item, attr)
            if v in seen:
                yield Finding((field, i, attr), "C312", f"{field} {attr} {v!r} repeats (first at item {seen[v] + 1})")
            seen.setdefault(v, i)


def _check_config(card: Card, cfg: Config, at: Path) -> Iterator[Finding]:
    # labels: names unique, values unique
    names = Counter(lab.name for lab in cfg.labels)
    for j, lab in enumerate(cfg.labels):
        lp = (*at, "labels", j)
        if names[lab.name] > 1:
            yield Finding((*lp, "name"), "C312", f"label name {lab.name!r} repeats")
        for coll, attr in (("classes", "value"), ("classes", "name"), ("mask_values", "value"),
                           ("mask_values", "name")):
            seen: set[object] = set()
            for k, item in enumerate(getattr(lab, coll)):
                v = getattr(item, attr)
                if v in seen:
                    yield Finding((*lp, coll, k, attr), "C303", f"{coll} {attr} {v!r} repeats in label {lab.name!r}")
                seen.add(v)
        if lab.kind in (LabelKind.CLASS, LabelKind.MULTI_LABEL, LabelKind.SLICE_CLASS, LabelKind.SLICE_MULTI_LABEL) \
                and not lab.classes:
            yield Finding((*lp, "kind"), "S205", f"a {lab.kind.value} label needs `classes`")
        if lab.kind == LabelKind.MASK and not lab.mask_values:
            yield Finding((*lp, "kind"), "S205", "a mask label needs `mask_values`")
    # counts: classes exist, totals add up
    classes = cfg.class_names
    for j, cnt in enumerate(cfg.counts):
        cp = (*at, "counts", j)
        for cls in cnt.by_class:
            if cls not in classes:
                yield Finding((*cp, "by_class", cls), "C304", f"class {cls!r} is not defined in the config's labels",
                              hint=_near(cls, classes) or f"defined: {sorted(classes)}", key=True)
        if cnt.total is not None and cnt.by_class:
            s = sum(cnt.by_class.values())
            if s != cnt.total:
                parts = " + ".join(str(v) for v in cnt.by_class.values())
                yield Finding((*cp, "total"), "C302",
                              f"{cnt.level.value} total {cnt.total} != {parts} = {s} (sum of by_class)",
                              hint="fix the total or the per-class counts; cite the source")
    if cfg.layout is not None:
        yield from _check_layout(card, cfg, cfg.layout, (*at, "layout"))


def _check_layout(card: Card, cfg: Config, lay: Layout, at: Path) -> Iterator[Finding]:
    declared = set(lay.parts)
    rx = yield from _check_parts_and_root(lay, at)
    label_names = {lab.name: lab for lab in cfg.labels}
    available, image_ok = yield from _check_file_roles(lay, rx, declared, label_names, at)
    if not image_ok:  # when the image pattern is broken, do not cascade "part not in pattern" findings
        return
    yield from _check_headers(lay, available, declared, at)
    yield from _check_hdf5(lay, at)
    available |= set(lay.headers)
    usable = available | set(BUILTIN_PARTS)
    yield from _check_tables_and_archives(card, lay, rx, declared, usable, at)
    yield from _check_group(lay, available, at)
    yield from _check_value_rules(lay, available, label_names, at)
    yield from _check_splits(lay, available, usable, at)
    from_records = {name for spec in lay.annotations.values() for name in spec.labels}
    for lab in cfg.labels:
        if lab.name not in lay.labels and lab.name not in lay.files and lab.name not in lay.annotations and \
                lab.name not in from_records:
            yield Finding((*at,), "W403", f"no layout rule gives label {lab.name!r} a value",
                          hint=f"add `labels: {{{lab.name}: ...}}` or a file role")
    if cfg.verified is None:
        yield Finding((*at,), "W405", f"the layout of config {cfg.name!r} was never checked against the real "
                      "dataset's files", hint="run `covidct check` on a real listing (tests/listings/<id>/) and "
                      "record it in `verified`")
    for j, pat_text in enumerate(lay.exclude):
        try:
            compile_glob(pat_text)  # safe path, and no pathological backtracking
        except PatternError as exc:
            yield Finding((*at, "exclude", j), "C306", str(exc))


def _check_parts_and_root(lay: Layout, at: Path) -> Generator[Finding, None, tuple[tuple[str, str], ...]]:
    """Findings on the parts' regexes and the root; returns the (name, regex) of the parts that are safe."""
    regexes: list[tuple[str, str]] = []
    for name, spec in lay.parts.items():
        try:
            check_safe_regex(spec.regex)
            regexes.append((name, spec.regex))
        except PatternError as exc:
            yield Finding((*at, "parts", name, "regex"), "C314", str(exc))
    if lay.root:
        try:
            check_safe_path(lay.root, "root")
        except PatternError as exc:
            yield Finding((*at, "root"), "C306", str(exc))
    return tuple(regexes)


def _check_file_roles(lay: Layout, rx: tuple[tuple[str, str], ...], declared: set[str],
                      label_names: dict[str, LabelDef], at: Path) -> Generator[Finding, None, tuple[set[str], bool]]:
    """Findings on the file roles; returns the parts every example has (from the image pattern) and
    whether the image pattern parses."""
    available: set[str] = set()
    image_ok = True
    if "image" not in lay.files:
        yield Finding((*at, "files"), "S202", "layout files need an `image` role")
    for role, fs in lay.files.items():
        fp = (*at, "files", role, "pattern")
        try:
            pat = parse(fs.pattern, rx)
        except PatternError as exc:
            yield Finding(fp, "C306", str(exc))
            image_ok = image_ok and role != "image"
            continue
        for p in pat.parts:
            if p not in declared:
                yield Finding(fp, "C307", f"part {{{p}}} is not declared in `parts`", hint=_near(p, declared)
                              or f"add `{p}:` under parts")
        if role == "image":
            available = set(pat.parts)
        elif role not in label_names:
            yield Finding((*at, "files", role), "C311", f"file role {role!r} is not `image` or a label of the config",
                          hint=_near(role, set(label_names)), key=True)
        elif label_names[role].kind != LabelKind.MASK:
            yield Finding((*at, "files", role), "C311", f"label {role!r} comes from files but is not a mask", key=True)
    return available, image_ok


def _check_tables_and_archives(card: Card, lay: Layout, rx: tuple[tuple[str, str], ...], declared: set[str],
                               usable: set[str], at: Path) -> Iterator[Finding]:
    for name, t in lay.tables.items():
        tp = (*at, "tables", name)
        try:
            tpat = parse(t.path, rx)
            for p in tpat.parts:
                if p not in declared:
                    yield Finding((*tp, "path"), "C307", f"part {{{p}}} is not declared in `parts`")
        except PatternError as exc:
            yield Finding((*tp, "path"), "C306", str(exc))
        yield from _check_template(t.key, usable, (*tp, "key"))
    for name, arr in lay.arrays.items():
        ap = (*at, "arrays", name)
        try:
            check_safe_path(arr.path, "array path")
        except PatternError as exc:
            yield Finding((*ap, "path"), "C306", str(exc))
        if arr.row_table not in lay.tables:
            yield Finding((*ap, "row_table"), "C311", f"no table {arr.row_table!r} in the layout",
                          hint=_near(arr.row_table, set(lay.tables)))
    downloads = {d.name for d in card.downloads}
    for j, a in enumerate(lay.archives):
        if a not in downloads:
            yield Finding((*at, "archives", j), "C311", f"archive {a!r} is not in `downloads`",
                          hint=_near(a, downloads))


def _check_group(lay: Layout, available: set[str], at: Path) -> Iterator[Finding]:
    if lay.group is None:
        return
    gp = (*at, "group")
    for j, p in enumerate(lay.group.by):
        if p not in available:
            yield Finding((*gp, "by", j), "C307", f"group part {p!r} is not in the image pattern")
    if lay.group.order_part is not None and lay.group.order_part not in available:
        yield Finding((*gp, "order_part"), "C307",
                      f"order part {lay.group.order_part!r} is not in the image pattern")


def _check_value_rules(lay: Layout, available: set[str], label_names: dict[str, LabelDef],
                       at: Path) -> Iterator[Finding]:
    """The value rules of labels, patient, scan and fields."""
    for lname, vf in lay.labels.items():
        lp = (*at, "labels", lname)
        if lname not in label_names:
            yield Finding(lp, "C311", f"no label {lname!r} in the config's labels", hint=_near(lname, set(label_names)),
                          key=True)
            continue
        lab = label_names[lname]
        yield from _check_value_from(vf, lay, available, lp, lab)
        if vf.map and lab.classes:
            known = {c.name for c in lab.classes}
            for raw, target in vf.map.items():
                if target is not None and str(target) not in known:
                    yield Finding((*lp, "map", raw), "C304", f"{target!r} is not a class of label {lname!r}",
                                  hint=_near(str(target), known) or f"classes: {sorted(known)}")
    for lname, spec in lay.annotations.items():
        ap = (*at, "annotations", lname)
        if lname not in label_names:
            yield Finding(ap, "C311", f"no label {lname!r} in the config's labels", hint=_near(lname, set(label_names)),
                          key=True)
            continue
        values = {v.name for v in label_names[lname].mask_values}
        for ann, target in spec.classes.items():
            if values and target not in values:
                yield Finding((*ap, "classes", ann), "C304", f"{target!r} is not a mask value of label {lname!r}",
                              hint=_near(target, values) or f"mask values: {sorted(values)}")
        yield from _check_record_labels(lay, spec, label_names, ap)
    for key in ("patient", "scan"):
        vf = getattr(lay, key)
        if vf is not None:
            yield from _check_value_from(vf, lay, available, (*at, key))
    for fname, vf in lay.fields.items():
        yield from _check_value_from(vf, lay, available, (*at, "fields", fname))


def _check_record_labels(lay: Layout, spec: AnnotationSpec, label_names: dict[str, LabelDef],
                         ap: Path) -> Iterator[Finding]:
    """`annotations.<label>.labels`: each a class label with classes, given by nothing else, from a record field
    the format has (C325)."""
    fields = RECORD_CLASS_FIELDS.get(spec.format, ())
    for cname, fld in spec.labels.items():
        at = (*ap, "labels", cname)
        lab = label_names.get(cname)
        if lab is None:
            yield Finding(at, "C311", f"no label {cname!r} in the config's labels", hint=_near(cname, set(label_names)),
                          key=True)
        elif lab.kind != LabelKind.CLASS or not lab.classes:
            yield Finding(at, "C325", f"label {cname!r} is {lab.kind.value}{'' if lab.classes else ' without classes'}"
                          f"; a record field gives a class label with classes", hint="declare its classes (kind class)")
        elif fld not in fields:
            yield Finding(at, "C325", f"{fld!r} is not a field of {spec.format} records",
                          hint=_near(fld, set(fields)) or (f"fields: {', '.join(fields)}" if fields else
                                                            f"{spec.format} records have no class fields"))
        elif cname in lay.labels or cname in lay.files or cname in lay.annotations or \
                sum(cname in other.labels for other in lay.annotations.values()) > 1:
            yield Finding(at, "C325", f"label {cname!r} is given by another layout rule too",
                          hint="give each label one source")


def _check_splits(lay: Layout, available: set[str], usable: set[str], at: Path) -> Iterator[Finding]:
    if lay.splits is None:
        return
    sp = (*at, "splits")
    if lay.splits.by is not None:
        yield from _check_value_from(lay.splits.by, lay, available, (*sp, "by"))
    for split, files in (lay.splits.lists or {}).items():
        for j, f in enumerate(files):
            try:
                check_safe_path(f, "split list")
            except PatternError as exc:
                yield Finding((*sp, "lists", split, j), "C306", str(exc))
    yield from _check_template(lay.splits.key, usable, (*sp, "key"))
    if lay.splits.table is not None:
        yield from _check_split_columns(lay, lay.splits.table, lay.splits.columns or {}, sp)


def _check_hdf5(lay: Layout, at: Path) -> Iterator[Finding]:
    """HDF5 rows: only the image role names a dataset, of an HDF5 file, without `group`; values from
    `dataset` need such an image; an HDF5 image needs its dataset."""
    for role, fs in lay.files.items():
        fp = (*at, "files", role)
        if fs.dataset is not None and (role != "image" or fs.format != FileFormat.HDF5):
            what = f"file role {role!r}" if role != "image" else f"the images are {fs.format.value}"
            yield Finding((*fp, "dataset"), "C322", f"`dataset` names the HDF5 dataset whose rows are the examples; "
                          f"{what}", hint="only `files: {image: {format: hdf5, dataset: ...}}`")
        elif role == "image" and fs.format == FileFormat.HDF5 and fs.dataset is None:
            yield Finding(fp, "C322", "HDF5 images need the `dataset` whose rows are the examples",
                          hint="e.g. `dataset: ct_slices`")
    image = lay.files.get("image")
    rows = image is not None and image.dataset is not None and image.format == FileFormat.HDF5
    if rows and lay.group is not None:
        yield Finding((*at, "group"), "C322", "HDF5 rows are examples already; `group` cannot gather them",
                      key=True)
    values = [(("labels", n), vf) for n, vf in lay.labels.items()] + [
        (("fields", n), vf) for n, vf in lay.fields.items()] + [
        ((k,), vf) for k, vf in (("patient", lay.patient), ("scan", lay.scan)) if vf is not None]
    if lay.splits is not None and lay.splits.by is not None:
        values.append((("splits", "by"), lay.splits.by))
    for where, vf in values:
        if vf.dataset is not None and not rows:
            yield Finding((*at, *where, "dataset"), "C322", "values from an HDF5 `dataset` need HDF5 images whose "
                          "rows are the examples", hint="add `dataset:` to `files.image` (format hdf5)")


def _check_split_columns(lay: Layout, table: str, columns: dict[str, str], sp: Path) -> Iterator[Finding]:
    """One column per fold: the table exists, and its own `column` (by which the table is indexed) is one of them."""
    if table not in lay.tables:
        yield Finding((*sp, "table"), "C311", f"no table {table!r} in the layout", hint=_near(table, set(lay.tables)))
        return
    own = lay.tables[table].column
    if own not in columns.values():
        yield Finding((*sp, "table"), "C321", f"table {table!r} is read by its column {own!r}, which is not one of "
                      f"the split columns {list(dict.fromkeys(columns.values()))}",
                      hint=f"set `column:` of table {table!r} to one of the split columns")
    first: dict[str, str] = {}
    for split, col in columns.items():
        if col in first:
            yield Finding((*sp, "columns", split), "C321", f"column {col!r} gives split {first[col]!r} already",
                          hint="one column per split")
        first.setdefault(col, split)


def _check_headers(lay: Layout, available: set[str], declared: set[str], at: Path) -> Iterator[Finding]:
    """Header values (`headers`, `where`, `where_not`) come from DICOM images, under names no part has."""
    image = lay.files.get("image")
    if image is not None and image.format != FileFormat.DICOM:
        for key in ("headers", "where", "where_not"):
            if getattr(lay, key):
                yield Finding((*at, key), "C319", f"`{key}` reads DICOM headers, but the images are "
                              f"{image.format.value}", hint="header values come only from DICOM files", key=True)
    for name in lay.headers:
        if name in available or name in declared or name in BUILTIN_PARTS:
            yield Finding((*at, "headers", name), "C319", f"header value {name!r} has the name of a part",
                          hint="give the header value a name of its own", key=True)


def _check_template(template: str, usable: set[str], path: Path) -> Iterator[Finding]:
    try:
        names = template_parts(template)
    except PatternError as exc:
        yield Finding(path, "C306", str(exc))
        return
    for n in names:
        if n not in usable:
            yield Finding(path, "C307", f"template part {{{n}}} is not in the image pattern",
                          hint=_near(n, usable) or f"usable: {sorted(usable)}")


def _check_rle(vf: ValueFrom, label: LabelDef | None, path: Path) -> Iterator[Finding]:
    """Run-length text gives a mask label, whose runs mark one mask value."""
    assert vf.rle is not None
    if label is None or label.kind != LabelKind.MASK:
        what = f"label {label.name!r} is a {label.kind.value} label" if label else "this is not a label"
        yield Finding((*path, "rle"), "C324", f"`rle` decodes run-length text into a mask; {what}",
                      hint="use `rle` for a label of kind mask", key=True)
        return
    names = [v.name for v in label.mask_values]
    if vf.rle.value is not None:
        if vf.rle.value not in names:
            yield Finding((*path, "rle", "value"), "C324", f"{vf.rle.value!r} is not a mask value of label "
                          f"{label.name!r}", hint=_near(vf.rle.value, set(names)) or f"mask values: {names}")
    elif len([v for v in label.mask_values if v.value != 0]) != 1:
        yield Finding((*path, "rle"), "C324", f"label {label.name!r} has {len(names)} mask values; which one the "
                      f"runs mark is not said", hint=f"add `value:` (one of {names}) to `rle`")


def _check_label_columns(vf: ValueFrom, label: LabelDef | None, path: Path) -> Iterator[Finding]:
    """One table column per class gives a multi-label label, each column's map reaching its classes."""
    assert vf.label_columns is not None
    if label is None or label.kind != LabelKind.MULTI_LABEL:
        what = f"label {label.name!r} is a {label.kind.value} label" if label else "this is not a label"
        yield Finding((*path, "label_columns"), "C323", f"`label_columns` gives the classes of a multi-label "
                      f"label; {what}", hint="use `column` with a `map` for one value", key=True)
    elif label.classes:
        known = {c.name for c in label.classes}
        for col, mapping in vf.label_columns.items():
            for raw, target in mapping.items():
                if target is not None and str(target) not in known:
                    yield Finding((*path, "label_columns", col, raw), "C304",
                                  f"{target!r} is not a class of label {label.name!r}",
                                  hint=_near(str(target), known) or f"classes: {sorted(known)}")


def _check_value_from(vf: ValueFrom, lay: Layout, available: set[str], path: Path,
                      label: LabelDef | None = None) -> Iterator[Finding]:
    if vf.part is not None and vf.part not in available:
        yield Finding((*path, "part"), "C307", f"part {vf.part!r} is not in the image pattern",
                      hint=_near(vf.part, available))
    if vf.template is not None:
        yield from _check_template(vf.template, available | set(BUILTIN_PARTS), (*path, "template"))
    if vf.table is not None and vf.table not in lay.tables:
        yield Finding((*path, "table"), "C311", f"no table {vf.table!r} in the layout",
                      hint=_near(vf.table, set(lay.tables)))
    if vf.array is not None and vf.array not in lay.arrays:
        yield Finding((*path, "array"), "C311", f"no array {vf.array!r} in the layout",
                      hint=_near(vf.array, set(lay.arrays)))
    if vf.label_columns is not None:  # one column per class of a multi-label label
        yield from _check_label_columns(vf, label, path)
    if vf.rle is not None:
        yield from _check_rle(vf, label, path)
    if vf.columns is not None:  # records: one box or point per table row
        if label is None or label.kind not in (LabelKind.BOXES, LabelKind.POINTS):
            what = f"label {label.name!r} is a {label.kind.value} label" if label else "this is not a label"
            yield Finding((*path, "columns"), "S205", f"`columns` gives records of boxes or points; {what}",
                          hint="use `column` for one value", key=True)
        elif vf.table in lay.tables and lay.tables[vf.table].rows != "many":
            yield Finding((*path, "table"), "S205", f"the records of label {label.name!r} come from table "
                          f"{vf.table!r}, which has one row per example", hint=f"set `rows: many` on table "
                          f"{vf.table!r}: one row per box or point")
