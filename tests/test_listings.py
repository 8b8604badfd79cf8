"""Every layout proven against the real dataset's file names (tests/listings/<id>/).

Each card with a layout has a folder tests/listings/<id>/ with SOURCE.yaml (where the names come from,
at which commit or date, which part of the dataset) and per config a listing `<config>.txt.gz` of the
real relative paths, plus the real label tables under `tables/` where their license allows copying
(`.gz`-compressed copies are unpacked here). `covidct check` runs on every listing: every data file
must match, no mask may be left unpaired, and the counts must equal the card's (or, for a listing of
part of a dataset, the counts of that part, `expect` in SOURCE.yaml, from its source). The card's
`verified` record must name the listing and say what the check says.
"""

from __future__ import annotations

import gzip
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from covidct.card.vocab import CheckResult
from covidct.layout.check import check, format_report
from covidct.registry import registry

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "layout"))
from cardkit import both_paths  # noqa: E402

LISTINGS = REPO / "tests" / "listings"
CARDS = registry(REPO / "cards").cards()


def _sources() -> dict[str, dict[str, Any]]:
    return {p.parent.name: yaml.safe_load(p.read_text(encoding="utf-8"))
            for p in sorted(LISTINGS.glob("*/SOURCE.yaml"))}


SOURCES = _sources()
LAYOUT_CONFIGS = [(c.id, cfg.name) for c in CARDS.values() for cfg in c.configs if cfg.layout is not None]
LISTED = [(cid, name) for cid, src in SOURCES.items() for name, entry in (src.get("configs") or {}).items()
          if entry.get("listing")]


def test_every_config_with_a_layout_has_a_listing_or_says_why_not() -> None:
    missing = []
    for cid, name in LAYOUT_CONFIGS:
        entry = (SOURCES.get(cid, {}).get("configs") or {}).get(name)
        # no listing: SOURCE.yaml must say what was searched and why nothing real was found (notes/result)
        if entry is None or not (entry.get("listing") or entry.get("notes") or entry.get("result")):
            missing.append(f"{cid}/{name}")
    assert not missing, f"configs with a layout and no real listing (nor a stated reason): {missing}"


def _tables(cid: str, tmp: Path) -> Path | None:
    """The card's real tables, unpacked into ``tmp`` at their relative paths (None: none are kept)."""
    src = LISTINGS / cid / "tables"
    if not src.is_dir():
        return None
    for f in src.rglob("*"):
        if not f.is_file():
            continue
        rel = f.relative_to(src)
        out = tmp / (rel.with_suffix("") if f.suffix == ".gz" else rel)
        out.parent.mkdir(parents=True, exist_ok=True)
        if f.suffix == ".gz":
            out.write_bytes(gzip.decompress(f.read_bytes()))
        else:
            shutil.copyfile(f, out)
    return tmp


@pytest.mark.parametrize(("cid", "config"), LISTED, ids=[f"{c}/{n}" for c, n in LISTED])
def test_the_layout_matches_the_real_listing(cid: str, config: str, tmp_path: Path) -> None:
    entry = SOURCES[cid]["configs"][config]
    card = CARDS[cid]
    cfg = card.config(config)
    listing = LISTINGS / cid / entry["listing"]
    report = check(card, cfg, listing=listing, data_dir=_tables(cid, tmp_path / "tables"))
    text = format_report(report)
    expect = entry.get("expect")
    if expect:  # a listing of part of the dataset: the counts of that part, from its source
        part_ok = True
        for key in ("examples", "patients", "scans", "classes"):
            for split, want in (expect.get(key) or {}).items():
                part_ok &= getattr(report, key).get(split) == want
        counts_ok = part_ok
    else:
        counts_ok = report.count_differences == 0
    fits = report.error is None and not report.unmatched and not any(report.unpaired.values()) and counts_ok
    if entry.get("files") is not None:
        assert report.files == entry["files"], text
    v = cfg.verified
    assert v is not None, f"{cid}/{config}: the card has no `verified` record of this listing"
    assert v.listing == str(listing.relative_to(REPO)), f"{cid}/{config}: `verified` names another listing"
    # what the card says of its layout is what the check finds: a match stays a match, and a recorded
    # difference (e.g. a listing of an older release) fails the test once it no longer differs
    assert (v.result == CheckResult.MATCH) == fits, f"card says {v.result.value}; the check says:\n{text}"


@pytest.mark.parametrize(("cid", "config"), LISTED, ids=[f"{c}/{n}" for c, n in LISTED])
def test_the_fast_check_gives_the_full_checks_report(cid: str, config: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    listing = LISTINGS / cid / SOURCES[cid]["configs"][config]["listing"]
    full, fast, _used = both_paths(CARDS[cid], config, monkeypatch, listing=listing,
                                   data_dir=_tables(cid, tmp_path / "tables"))
    assert fast == full


def test_the_fast_path_serves_the_large_real_listings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # not only fallbacks compared with themselves: the largest sets take the fast path
    for cid, config in (("cncb", "classification"), ("nih-chestxray14", "classification")):
        if (cid, config) not in LISTED:
            pytest.fail(f"{cid}/{config} has no listing any more: pick another large one")
        listing = LISTINGS / cid / SOURCES[cid]["configs"][config]["listing"]
        full, fast, used = both_paths(CARDS[cid], config, monkeypatch, listing=listing,
                                      data_dir=_tables(cid, tmp_path / cid))
        assert used, f"{cid}/{config}: the fast path handed over"
        assert fast == full


# cards whose DICOM comes from the NBIA Data Retriever, which writes metadata.csv at the top of every download
NBIA_DICOM_CARDS = ["4d-lung", "covid-19-ar", "lidc-idri", "lung-pet-ct-dx", "nsclc-radiomics", "qin-lung-ct"]


@pytest.mark.parametrize("cid", NBIA_DICOM_CARDS)
def test_an_nbia_downloads_metadata_csv_is_not_a_data_file(cid: str, tmp_path: Path) -> None:
    # the real NBIA download of tests/listings/lung-pet-ct-dx (Lung_Dx-A000N/... slices, metadata.csv, LICENSE):
    # every card that reads NBIA DICOM must match its slices and leave metadata.csv out, not report it unmatched
    card = CARDS[cid]
    cfg = next(c for c in card.configs if c.layout is not None)
    listing = LISTINGS / "lung-pet-ct-dx" / "default.txt.gz"
    if cid != "lung-pet-ct-dx":  # the download itself, without the Lung-PET-CT-Dx annotation folder beside it
        names = [n for n in gzip.decompress(listing.read_bytes()).decode().splitlines()
                 if not n.startswith("Annotation/")]
        listing = tmp_path / "download.txt"
        listing.write_text("\n".join(names) + "\n")
    report = check(card, cfg, listing=listing)
    assert not report.unmatched, format_report(report)
