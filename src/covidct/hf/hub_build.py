"""The `hub` and `croissant` steps of `covidct build` (no network, no `datasets` needed by default).

``hub`` writes ``<out>/hub/covidct/<id>/`` for every card:

- a card with a layout: the loading script ``<id>.py`` + ``card.json`` + README.md;
- a card without one: the README.md alone (a dataset card that documents it);
- a card named in ``$COVIDCT_HUB_DATA`` (``id=DIR`` entries separated by ``:``): a Parquet export
  of that local copy instead (needs ``covidct[hf]``); a refused export (license) is reported and
  the script folder is written instead.

``$COVIDCT_HUB_FIXTURES`` (``all`` or ids separated by ``,``) also exports synthesized fixtures to
``<out>/hub-fixtures/covidct/<id>/``: a separate root, so a fixture is never mistaken for the data.
Folders of cards that no longer exist are removed (only folders that covidct wrote).

``croissant`` writes ``<out>/croissant/<id>.json`` for every card.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

from covidct.card.model import ORG, Card
from covidct.settings import HUB_DATA_ENV, HUB_FIXTURES_ENV, SettingError, settings
from covidct.steps import step


def _remove_stale(root: Path, cards: dict[str, Card]) -> int:
    from covidct.hf.manifest import read_manifest

    removed = 0
    base = root / ORG
    if not base.is_dir():
        return 0
    for folder in base.iterdir():
        if folder.is_dir() and folder.name not in cards and read_manifest(folder) is not None:
            shutil.rmtree(folder)
            removed += 1
    return removed


def _exported_from(folder: Path, card: Card) -> bool:
    """Whether the export in ``folder`` was made from this very card (its manifest holds the card's hash)."""
    from covidct.hf.manifest import card_sha256, read_manifest

    man = read_manifest(folder) or {}
    return man.get("card_sha256") == card_sha256(card)


def write_card_folder(card: Card, folder: Path) -> None:
    """README-only folder for a card whose files are not described."""
    from covidct.fsutil import atomic_dir, atomic_write_text
    from covidct.hf.manifest import write_manifest
    from covidct.hf.readme import render_readme

    with atomic_dir(folder) as tmp:
        atomic_write_text(tmp / "README.md", render_readme(card, "card"))
        write_manifest(tmp, card, "card")


def build_hub(
    out: Path, cards: dict[str, Card], *, data_dirs: dict[str, str] | None = None, fixtures: list[str] | None = None
) -> str:
    from covidct.hf.scripts import write_script_folder

    root = out / "hub"
    data_dirs = data_dirs or {}
    unknown = sorted(set(data_dirs) - set(cards))
    if unknown:
        raise SettingError(f"{HUB_DATA_ENV} names unknown card(s) {unknown}: use ids of cards in the cards folder")
    n_scripts = n_readme = n_parquet = 0
    notes: list[str] = []
    kept: list[str] = []
    for card in cards.values():
        folder = root / ORG / card.id
        if card.id in data_dirs:
            from covidct.hf.export import ExportRefused, export
            from covidct.layout.walk import LayoutError

            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = export(card, data_dirs[card.id], root)
                n_parquet += 1
                notes += [f"{card.id}/{c} not exported (its files are not in the data folder)" for c in res.skipped]
                continue
            except ExportRefused as exc:
                notes.append(str(exc).split(".")[0])
            except LayoutError as exc:  # DataError too: the data folder does not match the card
                notes.append(f"{card.id} not exported: {exc}")
        if card.loadable_configs:
            if write_script_folder(card, folder, force=card.id in data_dirs):
                n_scripts += 1
            else:  # an earlier `covidct export` is kept: it is one of this build's Parquet folders
                n_parquet += 1
                kept.append(card.id + ("" if _exported_from(folder, card) else " (from an older card: export again)"))
        else:
            write_card_folder(card, folder)
            n_readme += 1
    removed = _remove_stale(root, cards)
    summary = (
        f"{n_scripts + n_readme + n_parquet} folder(s) in {root / ORG}: {n_scripts} loading script(s), "
        f"{n_readme} README-only, {n_parquet} Parquet export(s)"
    )
    if kept:
        summary += f" ({len(kept)} kept from earlier exports: {', '.join(kept)})"
    if removed:
        summary += f"; removed {removed} stale"
    if fixtures:
        from covidct.hf.export import export_fixture

        froot = out / "hub-fixtures"
        for card_id in fixtures:
            if card_id not in cards:
                raise ValueError(f"{HUB_FIXTURES_ENV} names unknown card {card_id!r}")
            export_fixture(cards[card_id], froot)
        summary += f"; {len(fixtures)} fixture export(s) in {froot / ORG}"
    if notes:
        summary += "; " + "; ".join(notes)
    return summary


@step("hub")
def hub_step(cards_dir: Path, out: Path, cards: dict[str, Card]) -> str:
    del cards_dir
    env = settings()
    fixtures = env.hub_fixtures
    if fixtures == "all":
        fixtures = [i for i, c in cards.items() if c.loadable_configs]
    data_dirs = env.hub_data
    return build_hub(out, cards, data_dirs=data_dirs, fixtures=fixtures)


@step("croissant")
def croissant_step(cards_dir: Path, out: Path, cards: dict[str, Card]) -> str:
    from covidct.export.croissant import croissant_json
    from covidct.fsutil import atomic_write_text

    del cards_dir
    folder = out / "croissant"
    for card in cards.values():
        atomic_write_text(folder / f"{card.id}.json", croissant_json(card))
    for stale in folder.glob("*.json"):
        if stale.stem not in cards:
            stale.unlink()
    return f"{len(cards)} Croissant file(s) in {folder}"
