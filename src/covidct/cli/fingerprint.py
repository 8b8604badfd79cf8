"""``covidct fingerprint`` and ``covidct leakage``, and the data check of ``covidct overlaps --manifest``.

The private-test-set check::

    covidct fingerprint --folder ~/my-test-set --out mine.parquet
    covidct fingerprint cncb classification --data-dir ~/data/cncb --out cncb.parquet
    covidct overlaps --manifest mine.parquet --manifest cncb.parquet
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from covidct.cli._common import UserFacingError, args, command, echo, show_warning


def _need_extra() -> None:
    from covidct.fingerprint import require_extra

    require_extra()


def _jobs(value: int) -> int:
    return value if value > 0 else (os.cpu_count() or 1)


def _source(ns: argparse.Namespace) -> Any:
    """The files to fingerprint: a card config under --data-dir, or any --folder."""
    from covidct.fingerprint.manifest import ManifestError, card_sources, folder_sources
    from covidct.layout.walk import LayoutError
    from covidct.registry import load_card

    if ns.folder:
        if ns.id:
            raise UserFacingError("give a card id (with --data-dir) or --folder, not both")
        try:
            return folder_sources(ns.folder)
        except ManifestError as exc:
            raise UserFacingError(str(exc)) from None
    if not ns.id:
        raise UserFacingError("give a card id and --data-dir (the dataset's files), or --folder DIR (any folder of "
                              "images)")
    if not ns.data_dir:
        raise UserFacingError(f"give --data-dir: the folder holding {ns.id}'s files, laid out as its card says")
    card = load_card(ns.id, getattr(ns, "cards", None))
    try:
        cfg = card.config(ns.config)
    except KeyError as exc:
        raise UserFacingError(str(exc.args[0])) from None
    with warnings.catch_warnings():
        warnings.showwarning = show_warning
        warnings.simplefilter("always")
        try:
            return card_sources(card, cfg, ns.data_dir)
        except LayoutError as exc:
            raise UserFacingError(str(exc)) from None


def _run(ns: argparse.Namespace, out: Path, *, quiet: bool = False) -> Any:
    from covidct.fingerprint.manifest import fingerprint, summarize

    source = _source(ns)
    for note in source.notes:
        echo(f"covidct: {note}", err=True)
    if not source.tasks:
        raise UserFacingError(f"no files to fingerprint in {ns.folder or ns.data_dir}")

    def report(rel: str, problem: str) -> None:
        echo(f"covidct: unreadable: {rel}: {problem}", err=True)

    outcome = fingerprint(source, out, jobs=_jobs(ns.jobs), resume=not ns.no_resume,
                          progress=False if ns.no_progress else None, on_error=report)
    if not quiet or outcome.interrupted:
        for line in summarize(outcome):
            echo(line, err=True)
    if outcome.interrupted:
        raise KeyboardInterrupt
    return outcome


def _source_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", nargs="?", help="card id, covidct/<id>, name or alias")
    p.add_argument("config", nargs="?", help="config name (needed when the card has several)")
    p.add_argument("--data-dir", help="folder holding the dataset's files, laid out as the card says")
    p.add_argument("--folder", help="instead of a card: any folder of images or volumes (e.g. a private test set)")
    p.add_argument("--jobs", "-j", type=int, default=0, help="worker processes (default 0: one per core)")
    p.add_argument("--no-resume", action="store_true", help="hash every file again, even if unchanged since the "
                   "manifest at --out was written")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _fingerprint_args(p: argparse.ArgumentParser) -> None:
    _source_args(p)
    p.add_argument("--out", required=True, help="the manifest to write (Parquet); a rerun reuses the rows of "
                   "files whose size and modification time are unchanged")


@command("fingerprint", "hash every image of a card config or of a folder (file, pixels, perceptual hash, DICOM "
         "UIDs) into a Parquet manifest, for `covidct overlaps --manifest` and `covidct leakage`")
@args(_fingerprint_args)
def cmd_fingerprint(ns: argparse.Namespace) -> int:
    _need_extra()
    outcome = _run(ns, Path(ns.out))
    echo(f"{ns.out}: {outcome.info.rows:,} row(s) from {outcome.info.files:,} file(s)")
    return 0


# ------------------------------------------------------------------------------------------ overlaps


def add_manifest_args(p: argparse.ArgumentParser) -> None:
    """The data-check options of ``covidct overlaps`` (the command itself lives in :mod:`covidct.cli.cards`)."""
    from covidct.fingerprint import DEFAULT_NEAR

    p.add_argument("--manifest", "-m", action="append", default=[], metavar="FILE",
                   help="a manifest from `covidct fingerprint` (repeat: every pair is compared, and each manifest "
                        "across its own splits)")
    p.add_argument("--near", type=int, default=DEFAULT_NEAR,
                   help=f"near duplicates: perceptual hashes within this many of 256 bits (default {DEFAULT_NEAR})")
    p.add_argument("--limit", type=int, default=10_000, help="most duplicate records to list in JSON")
    p.add_argument("--search-jobs", type=int, default=0, help="processes for the near-duplicate search (0: one per "
                   "core)")


def manifest_overlaps(ns: argparse.Namespace) -> int:
    """``covidct overlaps --manifest A --manifest B``: the duplicates in the data. Exit 1 when there are any."""
    _need_extra()
    from covidct.fingerprint.manifest import ManifestError
    from covidct.fingerprint.overlaps import OverlapError, find_overlaps, format_report

    try:
        rep = find_overlaps(ns.manifest, near=ns.near, limit=max(0, ns.limit), jobs=ns.search_jobs)
    except (ManifestError, OverlapError) as exc:
        raise UserFacingError(str(exc)) from None
    if ns.format == "json":
        echo(json.dumps(rep.to_json(), ensure_ascii=False, indent=2), as_json=True)
    else:
        echo(format_report(rep))
    return 1 if any(s.any for s in rep.summaries) else 0


# ------------------------------------------------------------------------------------------ leakage


def _leakage_args(p: argparse.ArgumentParser) -> None:
    from covidct.fingerprint import DEFAULT_NEAR

    _source_args(p)
    p.add_argument("--manifest", help="use this manifest (from `covidct fingerprint`) instead of reading the data")
    p.add_argument("--out", help="also keep the manifest made from the data here (reused by a rerun)")
    p.add_argument("--near", type=int, default=DEFAULT_NEAR, help=f"near-duplicate bits (default {DEFAULT_NEAR})")
    p.add_argument("--limit", type=int, default=10_000, help="most duplicate records to list in JSON")
    p.add_argument("--format", choices=["text", "json"], default="text")


@command("leakage", "images and patients found in more than one official split of a dataset (exact copies, same "
         "pixels, near duplicates, shared DICOM UIDs, shared patient ids); exit 1 when any")
@args(_leakage_args)
def cmd_leakage(ns: argparse.Namespace) -> int:
    _need_extra()
    from covidct.fingerprint.manifest import ManifestError
    from covidct.fingerprint.overlaps import OverlapError, find_overlaps

    with tempfile.TemporaryDirectory(prefix="covidct-leakage-") as tmp:
        if ns.manifest:
            if ns.id or ns.folder:
                raise UserFacingError("give --manifest, or a card id with --data-dir, not both")
            path = Path(ns.manifest)
        else:
            path = Path(ns.out) if ns.out else Path(tmp) / "manifest.parquet"
            _run(ns, path, quiet=True)
        try:
            rep = find_overlaps([path], near=ns.near, limit=max(0, ns.limit), jobs=_jobs(ns.jobs))
        except (ManifestError, OverlapError) as exc:
            raise UserFacingError(str(exc)) from None
    splits = sorted({s for (_m, s) in rep.rows.sides if s is not None})
    if len(rep.rows.sides) < 2:
        echo(f"{rep.rows.names[0]}: one split only ({splits[0] if splits else 'none'}): nothing can leak between "
             f"splits", err=True)
    if ns.format == "json":
        echo(json.dumps(rep.to_json(), ensure_ascii=False, indent=2), as_json=True)
    else:
        echo(leakage_text(rep))
    return 1 if any(s.any for s in rep.summaries) else 0


def leakage_text(rep: Any) -> str:
    from covidct.fingerprint.overlaps import format_report

    lines = [format_report(rep)]
    patients: dict[str, set[str]] = {}
    for p in rep.pairs:
        if p.kind == "patient":
            pid = p.a.get("patient", p.a.get("patient_id"))
            patients.setdefault(str(pid), set()).update(x for x in (p.a.get("split"), p.b.get("split")) if x)
    if patients:
        lines.append("")
        lines.append(f"{len(patients):,} patient(s) in more than one split:")
        for pid, splits in sorted(patients.items())[:20]:
            lines.append(f"  {pid}: {', '.join(sorted(splits))}")
        if len(patients) > 20:
            lines.append(f"  ... and {len(patients) - 20:,} more (--format json lists them)")
    if any(s.any for s in rep.summaries):
        lines.append("")
        lines.append("to train without it: covidct.load_dataset(..., split_by=\"patient\", manifests=[MANIFEST]) keeps "
                     "each patient and each group of duplicates on one side")
    return "\n".join(lines)
