"""``covidct check``: a dry run of a config's layout against a dataset's real file names.

It reads names only (a listing, or the names under a data folder) and the tables, split lists and
arrays the layout names; it never decodes pixels. It reports what each pattern matched, what no
pattern matched (grouped by why), unpaired files, examples per split and class, patients and scans,
and each of these against the card's counts. This is how a layout is proven against the real
dataset rather than against fixtures synthesized from the card itself.
"""

from __future__ import annotations

import gzip
import os
import warnings
from collections.abc import Container, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from covidct.card.model import Card, Config
from covidct.fsutil import UnsafePath, open_regular, walk_entries
from covidct.layout import fastcheck
from covidct.layout.headers import uses_headers
from covidct.layout.plan import COUNT_WARNINGS, CountCheck, LayoutWarning, Plan, Tally, gc_paused
from covidct.layout.walk import LayoutError, Match, Walker, mismatch_reason

# Names that are never data: documents and the litter of file systems and archivers. Anything else
# that no pattern matches is a data file the layout would skip, and fails the check.
_NOT_DATA_NAMES = (".ds_store", "thumbs.db", "desktop.ini", ".gitignore", ".gitattributes", ".gitkeep")
_NOT_DATA_STEMS = ("readme", "license", "licence", "citation", "changelog", "notice", "copying")
_NOT_DATA_SUFFIXES = (".md", ".pdf", ".html", ".htm", ".doc", ".docx", ".ipynb", ".py", ".rst")
_NOT_DATA_FOLDERS = ("__macosx", ".git")
MAX_EXAMPLES = 3  # file names shown per group of unmatched files
MAX_LISTING_BYTES = 32 << 20  # 32 MiB of names: ~800,000 paths (CNCB, the largest set, is ~16 MiB)


class CheckError(LayoutError):
    """The check cannot run (unreadable listing, missing folder); the message says what to do."""


def is_document(rel: str) -> bool:
    """Whether ``rel`` is a document or file-system litter rather than a dataset file."""
    segs = rel.lower().split("/")
    name = segs[-1]
    if any(s in _NOT_DATA_FOLDERS for s in segs[:-1]) or name.startswith("._"):
        return True
    if name in _NOT_DATA_NAMES or name.endswith(_NOT_DATA_SUFFIXES):
        return True
    return name.split(".", 1)[0] in _NOT_DATA_STEMS


@dataclass
class Unmatched:
    """Files that no pattern matches for the same reason."""

    reason: str
    count: int = 0
    examples: list[str] = field(default_factory=list)


@dataclass
class CheckReport:
    card: str
    config: str
    against: str  # "listing FILE" or "folder DIR"
    files: int = 0
    matched: dict[str, int] = field(default_factory=dict)  # role or table → files
    named: int = 0  # files the card names by path (tables, split lists, arrays) that are present
    excluded: int = 0  # left out by the layout's `exclude`
    documents: int = 0  # README, .DS_Store...: not data, not required to match
    unmatched: list[Unmatched] = field(default_factory=list)
    unpaired: dict[str, list[str]] = field(default_factory=dict)  # role → files with no image
    examples: dict[str, int] = field(default_factory=dict)  # split ("all" for every split) → examples
    classes: dict[str, dict[str, int]] = field(default_factory=dict)  # split → class → examples
    patients: dict[str, int] = field(default_factory=dict)
    scans: dict[str, int] = field(default_factory=dict)
    counts: list[dict[str, Any]] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def unmatched_files(self) -> int:
        return sum(u.count for u in self.unmatched)

    @property
    def count_differences(self) -> int:
        return sum(1 for c in self.counts if not c["equal"])

    @property
    def ok(self) -> bool:
        return (self.error is None and not self.unmatched and not any(self.unpaired.values())
                and not self.count_differences)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(ok=self.ok, unmatched_files=self.unmatched_files, count_differences=self.count_differences)
        return out


def read_listing(path: str | os.PathLike[str]) -> list[str]:
    """One relative path per line, as ``find . -type f`` or ``unzip -Z1`` print (``.gz`` accepted).

    Leading ``./`` is dropped, backslashes become ``/``, folder entries (ending in ``/``) and blank
    lines are skipped. A name that would leave the data folder (absolute, ``..``) is refused.
    """
    p = Path(path)
    try:
        with open_regular(p) as fh:
            stream: Any = gzip.GzipFile(fileobj=fh) if p.name.endswith(".gz") else fh
            raw = stream.read(MAX_LISTING_BYTES + 1)  # read in bounded memory, also from a gzip bomb
    except (OSError, EOFError, gzip.BadGzipFile, UnsafePath) as exc:
        raise CheckError(f"listing {p}: cannot read it ({exc})") from None
    if len(raw) > MAX_LISTING_BYTES:
        raise CheckError(f"listing {p}: more than {MAX_LISTING_BYTES >> 20} MiB of names (uncompressed), more than "
                         "any dataset in the registry needs: split it by folder, or check a data folder")
    text = raw.decode("utf-8", errors="replace")
    names = []
    for n, line in enumerate(text.splitlines(), 1):
        rel = line.strip()
        if "\\" in rel:
            rel = rel.replace("\\", "/")
        while rel.startswith("./"):
            rel = rel[2:]
        if not rel or rel.endswith("/"):
            continue
        if rel.startswith("/") or (".." in rel and ".." in rel.split("/")):
            raise CheckError(f"listing {p}:{n}: {rel!r} is not a path inside the data folder")
        names.append(rel)
    return names


def folder_names(folder: str) -> Iterator[str]:
    """Relative names of the regular files under ``folder``; links are not followed."""
    try:
        for rel, e in walk_entries(folder):
            if e.is_file(follow_symlinks=False):
                yield rel
    except OSError as exc:
        raise CheckError(f"cannot list {exc.filename or folder}: {exc.strerror or exc}") from None


def _under_root(names: Iterable[str], root: str | None) -> list[str]:
    """The names below the layout's ``root`` folder, relative to it."""
    if not root:
        return list(names)
    prefix = root.strip("/") + "/"
    return [n[len(prefix):] for n in names if n.startswith(prefix)]


def check(card: Card, config: Config, *, listing: str | os.PathLike[str] | None = None,
          data_dir: str | os.PathLike[str] | None = None, release: str | None = None, fast: bool = True) -> CheckReport:
    """Dry-run ``config``'s layout on a listing (tables from ``data_dir``) or on ``data_dir``'s names.

    ``fast=False`` matches and interprets the names file by file, as loading does, instead of counting
    them per distinct key (the same report, slower; tests compare the two)."""
    if config.layout is None:
        raise CheckError(f"{card.id}/{config.name} has no layout: nothing to check")
    if listing is None and data_dir is None:
        raise CheckError("give --listing FILE or --data-dir DIR")
    lay = config.layout
    if data_dir is not None and not Path(data_dir).expanduser().is_dir():
        raise CheckError(f"data folder {data_dir} does not exist or is not a folder")
    base = str(Path(data_dir).expanduser().resolve()) if data_dir is not None else ""
    report = CheckReport(card.id, config.name, f"listing {listing}" if listing is not None else f"folder {data_dir}")
    all_names = read_listing(listing) if listing is not None else list(folder_names(base))
    names = _under_root(all_names, lay.root)
    root = os.path.join(base, lay.root) if (base and lay.root) else base
    report.files = len(names)

    with gc_paused():
        return _check(card, config, report, names, root, release, fast)


def _check(card: Card, config: Config, report: CheckReport, names: list[str], root: str,
           release: str | None, fast: bool = True) -> CheckReport:
    """The check of ``names``: by the names-only fast path when it applies (``fast``), else file by file."""
    if fast:
        done = _check_fast(card, config, report, names, root, release)
        if done is not None:
            return done
    return _check_full(card, config, report, names, root, release)


def _values_not_in_names(config: Config) -> bool:
    """Whether the examples' values come from inside the files (DICOM headers, HDF5 rows): names cannot say."""
    lay = config.layout
    assert lay is not None
    return uses_headers(lay) or lay.files["image"].dataset is not None


def _new_plan(card: Card, config: Config, root: str) -> Plan:
    plan = Plan(card, config, [root] if root and os.path.isdir(root) else [])
    plan.reported_elsewhere = frozenset({"L503", "L504", *COUNT_WARNINGS})  # the report has its own sections
    return plan


def _report_matches(report: CheckReport, config: Config, walker: Walker, names: Container[str], matched: dict[str, int],
                    tables: dict[str, list[Match]], excluded: int, unmatched: list[str]) -> set[str]:
    """What the names are: ``matched`` the files of each role. Returns the files the table patterns matched."""
    report.matched.update(matched)
    for name, ms in tables.items():
        report.matched[f"table {name}"] = len(ms)
    in_tables = {m.rel for ms in tables.values() for m in ms}
    report.named = sum(1 for n in walker.known if n in names and n not in in_tables)
    report.excluded = excluded
    _group_unmatched(report, unmatched, walker)
    _not_checked(report, config)
    return in_tables


def _tables_absent(report: CheckReport, config: Config, names: Container[str], plan: Plan, in_tables: set[str]) -> bool:
    absent = _named_but_absent(config, names, plan.roots, in_tables)
    if absent:
        # the listing names the tables but they were not given (e.g. a license that forbids copying them):
        # the names are checked, what the tables say is not
        report.not_checked.append(f"labels, splits and counts: the layout reads {', '.join(absent)}, not given "
                                  "(pass --data-dir with them)")
    return bool(absent)


def _check_fast(card: Card, config: Config, base: CheckReport, names: list[str], root: str,
                release: str | None) -> CheckReport | None:
    """The report of :func:`_check_full`, from counts per distinct key (:mod:`covidct.layout.fastcheck`);
    None where that path cannot promise the same report (it then runs instead)."""
    report = CheckReport(base.card, base.config, base.against, files=base.files)
    plan = _new_plan(card, config, root)
    walker = plan.walker()
    seen = set(names)
    unique: Iterable[str] = names if len(seen) == len(names) else dict.fromkeys(names)  # each name once, in order
    try:
        tally, matched, tables, unmatched, excluded = fastcheck.run(plan, walker, root, unique)
    except fastcheck.FallBack:
        return None
    in_tables = _report_matches(report, config, walker, seen, matched, tables, excluded, unmatched)
    if _values_not_in_names(config):
        return report  # grouping, ids, splits and counts come from headers (or HDF5 rows) that names do not have
    if _tables_absent(report, config, seen, plan, in_tables):
        return report
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            rows = tally.build(tables)
        except (LayoutError, fastcheck.FallBack):
            return None  # the full path says what is wrong, file by file
    if any(not issubclass(w.category, LayoutWarning) for w in caught):
        return None  # not the full path's notes: it shows them as it always does
    # a LayoutWarning here says how many examples, never which file (a plan's warnings are counts here)
    report.notes.extend(str(w.message) for w in caught)
    _tally(report, plan, release, plan.tally(rows))
    return report


def _check_full(card: Card, config: Config, report: CheckReport, names: list[str], root: str,
                release: str | None) -> CheckReport:
    plan = _new_plan(card, config, root)
    walker = plan.walker()
    found = walker.match_names(root, names)
    seen = set(names)
    in_tables = _report_matches(report, config, walker, seen, {r: len(ms) for r, ms in found.roles.items()},
                                found.tables, found.excluded, found.unmatched)
    if _values_not_in_names(config):
        return report  # grouping, ids, splits and counts come from headers (or HDF5 rows) that names do not have
    if _tables_absent(report, config, seen, plan, in_tables):
        return report
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LayoutWarning)
        try:
            plan.build(found)
        except LayoutError as exc:
            report.error = str(exc)
            return report
    report.notes.extend(str(w.message) for w in caught if issubclass(w.category, LayoutWarning))
    report.unpaired = {r: files for r, files in plan.orphans.items() if files}
    _tally(report, plan, release)
    return report


def _named_but_absent(config: Config, names: Container[str], roots: list[str], tables: set[str]) -> list[str]:
    """Files the layout reads that the listing has but no given folder holds.

    ``tables`` are the listed files that a table pattern matched: a table path with parts or wildcards
    (``{release}/{split}.csv``) names files only through the listing, and is as absent as a fixed one.
    """
    lay = config.layout
    assert lay is not None
    paths = [t.path for t in lay.tables.values() if "{" not in t.path and "*" not in t.path]
    paths += sorted(tables)
    paths += [a.path for a in lay.arrays.values()]
    paths += [f for files in ((lay.splits.lists or {}).values() if lay.splits else ()) for f in files]
    return [p for p in dict.fromkeys(paths)
            if p in names and not any(os.path.isfile(os.path.join(r, p)) for r in roots)]


def _group_unmatched(report: CheckReport, unmatched: list[str], walker: Walker) -> None:
    groups: dict[str, Unmatched] = {}
    image = walker.roles.get("image")
    for rel in unmatched:
        if is_document(rel):
            report.documents += 1
            continue
        if image is None:
            reason = "matches no pattern"
        else:
            why, _value = mismatch_reason(rel, image, walker.part_rx)
            reason = f"image pattern {image.text!r}: {why}"
            if image.literal_prefix and not rel.startswith(image.literal_prefix + "/"):
                reason = f"outside {image.literal_prefix + '/'!r}, where the image pattern {image.text!r} starts"
        u = groups.setdefault(reason, Unmatched(reason))
        u.count += 1
        if len(u.examples) < MAX_EXAMPLES:
            u.examples.append(rel)
    report.unmatched = sorted(groups.values(), key=lambda u: -u.count)


def _not_checked(report: CheckReport, config: Config) -> None:
    lay = config.layout
    assert lay is not None
    if uses_headers(lay):
        rules = [f"{name} from {kw.value}" for name, kw in lay.headers.items()]
        rules += [f"where {kw.value} is {' or '.join(v)}" for kw, v in lay.where.items()]
        rules += [f"where {kw.value} is not {' or '.join(v)}" for kw, v in lay.where_not.items()]
        report.not_checked.append(
            f"values from DICOM headers ({'; '.join(rules)}): a names-only run has no headers, so which files "
            "are left out, how slices group into scans, and the ids, splits, labels and counts that follow are "
            "not checked; only the file names are. Load a real copy (`covidct load`) to check them")
    if lay.group is not None and lay.group.order_by is not None:
        report.not_checked.append(f"slice order by {lay.group.order_by.value}: read from the DICOM headers, "
                                  "not checked in a names-only run")
    image = lay.files.get("image")
    if image is not None and image.dataset is not None:
        report.not_checked.append(f"HDF5 rows: the examples are the rows of dataset {image.dataset!r} inside the "
                                  "files, which a names-only run cannot open, so their number, labels, splits and "
                                  "counts are not checked; only the file names are. Load a real copy to check them")
    for name, arr in lay.arrays.items():
        report.not_checked.append(f"array {name!r} ({arr.path}): its rows and slices are not read in a names-only run")


def _tally(report: CheckReport, plan: Plan, release: str | None, tally: Tally | None = None) -> None:
    t = tally or plan.tally()
    for s in [None, *plan.splits]:
        key = s if s is not None else "all"
        report.examples[key] = t.examples[s]
        if s in t.by_class:
            report.classes[key] = dict(sorted(t.by_class[s].items()))
        if t.has_patients:
            report.patients[key] = len(t.patients.get(s, ()))
        if plan.grouped or plan.layout.scan is not None:
            report.scans[key] = len(t.scans.get(s, ()))
    checks: list[CountCheck] = plan.count_checks(release=release, tally=t)
    for c in checks:
        report.counts.append({
            "level": c.level, "split": c.split, "card": c.card, "data": c.data,
            "by_class": {k: {"card": a, "data": b} for k, (a, b) in c.by_class.items()}, "equal": c.equal,
        })
    if not checks:
        report.notes.append("the card gives no count this layout can be compared with"
                            + (f" for release {release!r}" if release else ""))


def format_report(r: CheckReport) -> str:
    """The report as text for the terminal."""
    lines = [f"{r.card}/{r.config} against {r.against}: {r.files:,} file(s)"]
    for role, n in r.matched.items():
        lines.append(f"  matched {role}: {n:,}")
    if r.named:
        lines.append(f"  named by the card (tables, split lists, arrays): {r.named:,}")
    if r.excluded:
        lines.append(f"  left out by the layout's exclude: {r.excluded:,}")
    if r.documents:
        lines.append(f"  documents and litter (README, .DS_Store...): {r.documents:,}")
    for u in r.unmatched:
        lines.append(f"  UNMATCHED {u.count:,} file(s): {u.reason}; e.g. {', '.join(map(repr, u.examples))}")
    for role, files in r.unpaired.items():
        lines.append(f"  UNPAIRED {len(files):,} {role} file(s) have no image: e.g. {files[0]!r}")
    if r.error:
        lines.append(f"  ERROR {r.error}")
    for split, n in r.examples.items():
        extra = []
        if split in r.patients:
            extra.append(f"{r.patients[split]:,} patients")
        if split in r.scans:
            extra.append(f"{r.scans[split]:,} scans")
        cls = r.classes.get(split)
        if cls:
            extra.append(", ".join(f"{c} {k:,}" for c, k in cls.items()))
        lines.append(f"  {split}: {n:,} example(s)" + (f" ({'; '.join(extra)})" if extra else ""))
    for c in r.counts:
        where = f" in {c['split']}" if c["split"] else ""
        mark = "ok" if c["equal"] else "DIFFERS"
        card = f"{c['card']:,}" if c["card"] is not None else "-"
        lines.append(f"  count {c['level']}{where}: card {card}, data {c['data']:,} {mark}")
        for k, v in c["by_class"].items():
            if v["card"] != v["data"]:
                lines.append(f"    {k}: card {v['card']:,}, data {v['data']:,} DIFFERS")
    for n in r.not_checked:
        lines.append(f"  not checked: {n}")
    for n in r.notes:
        lines.append(f"  note: {n}")
    verdict = "OK" if r.ok else (
        f"FAILED ({r.unmatched_files:,} unmatched data file(s), {r.count_differences} count difference(s)"
        + (", an error" if r.error else "") + ")")
    lines.append(f"  {verdict}")
    return "\n".join(lines)


__all__ = ["CheckError", "CheckReport", "Unmatched", "check", "format_report", "is_document", "read_listing"]
