"""``covidct fixture`` and ``covidct load``: synthesize a miniature dataset, prepare a real one."""

from __future__ import annotations

import argparse
import os
import warnings
from pathlib import Path
from typing import Any

from covidct.cli._common import UserFacingError, args, command, echo, show_warning


def _fixture_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="card id, covidct/<id>, name or alias")
    p.add_argument("--out", required=True, help="folder to write (the data root of the miniature copy)")
    p.add_argument("--config", help="one config (default: every config with a layout, each in OUT/<config>)")
    p.add_argument("--per-class", type=int, help="examples per class and split (default 2; 1 scan for series)")


@command("fixture", "write a miniature copy of a dataset (real formats, same names), synthesized from its card")
@args(_fixture_args)
def cmd_fixture(ns: argparse.Namespace) -> int:
    from covidct.fixtures import FixtureError, synthesize
    from covidct.registry import load_card

    if ns.per_class is not None and ns.per_class < 1:
        raise UserFacingError(f"--per-class must be at least 1, not {ns.per_class}")
    card = load_card(ns.id, getattr(ns, "cards", None))
    configs = [card.config(ns.config)] if ns.config else card.loadable_configs
    if ns.config and configs[0].layout is None:
        raise UserFacingError(f"{card.id}/{ns.config} has no layout: nothing to synthesize")
    if not configs:
        raise UserFacingError(f"{card.id} has no config with a layout: nothing to synthesize")
    out = Path(ns.out)
    for cfg in configs:
        target = out if (ns.config or len(configs) == 1) else out / cfg.name
        try:
            m = synthesize(card, cfg, target, per_class=ns.per_class)
        except (FixtureError, KeyError) as exc:
            raise UserFacingError(f"{card.id}/{cfg.name}: {exc}") from None
        except OSError as exc:
            raise UserFacingError(f"{card.id}/{cfg.name}: cannot write the fixture in {target}: "
                                  f"{exc.strerror or exc}") from None
        splits = ", ".join(f"{s} {m.count(s)}" for s in m.splits)
        echo(f"{card.id}/{cfg.name}: {len(m.files)} files, {m.count()} examples ({splits}) in {target}")
        if m.capped:
            echo(f"  fixture capped at {'; '.join(m.capped)}")
        ref = ns.id if ns.id.endswith((".yaml", ".yml")) else card.id  # a card file is tried as itself
        echo(f"  try: covidct load {ref} {cfg.name} --data-dir {target}")
    return 0


def _load_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="card id, covidct/<id>, name or alias, or an exported Hub folder")
    p.add_argument("config", nargs="?", help="config name (needed when the card has several)")
    p.add_argument("--data-dir", help="folder holding the dataset's files (else the card's archives are downloaded)")
    p.add_argument("--source-dir", action="append", metavar="CARD=DIR",
                   help="for a config built from other datasets (COVIDx): the folder of the card's own split files "
                        "(`covidx=DIR`) and your copy of each source (`rsna-pneumonia=DIR`) (repeatable)")
    p.add_argument("--cache-dir", help="datasets cache folder (default: the Hugging Face cache)")
    p.add_argument("--split-by", choices=["patient", "scan", "example"],
                   help="random train/test split for configs without official splits")
    p.add_argument("--test-size", type=float, default=0.2, help="fraction of patients (scans...) in test")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="prepare again even if cached")
    p.add_argument("--allow-private-hosts", action="store_true",
                   help="let the card's downloads come from private, loopback or link-local addresses (refused by "
                        "default; same as COVIDCT_ALLOW_PRIVATE_HOSTS=1)")


def _source_dirs(pairs: list[str] | None) -> dict[str, str] | None:
    """``--source-dir CARD=DIR`` options as the ``data_dirs`` of a derived config."""
    if not pairs:
        return None
    out: dict[str, str] = {}
    for pair in pairs:
        card, sep, folder = pair.partition("=")
        if not sep or not card or not folder:
            raise UserFacingError(f"--source-dir {pair!r}: write CARD=DIR, e.g. rsna-pneumonia=~/data/rsna")
        if card in out:
            raise UserFacingError(f"--source-dir names {card!r} twice")
        out[card] = folder
    return out


def _card_or_draft(path: str) -> Any:
    """A card file, or a draft of one (TODOs left by `covidct new`) when only fields the loader does not
    read are unfinished: its layout can be tried before its facts are filled in."""
    from covidct.card.draft import load_draft
    from covidct.registry import CardError

    draft = load_draft(path)
    if draft.card is None:
        others = len(draft.problems) - len(draft.blockers)
        more = f" ({others} other problem(s): `covidct validate {path}`)" if others > 0 else ""
        raise CardError(f"{path} cannot be tried yet: the loader reads these fields, fix them first{more}",
                        [b.format() for b in draft.blockers])
    if draft.problems:
        echo(f"covidct: note: {draft.notice()}", err=True)
    return draft.card


@command("load", "prepare a dataset from its card (with a progress bar) and print the DatasetDict")
@args(_load_args)
def cmd_load(ns: argparse.Namespace) -> int:
    from covidct.extras import require

    require("datasets", "hf")
    from covidct.download import ALLOW_PRIVATE_ENV
    from covidct.hf.load import load_dataset

    if getattr(ns, "allow_private_hosts", False):
        os.environ[ALLOW_PRIVATE_ENV] = "1"
    ref: Any = ns.id
    if ns.id.endswith((".yaml", ".yml")) and Path(ns.id).is_file():
        ref = _card_or_draft(ns.id)

    with warnings.catch_warnings():
        warnings.showwarning = show_warning
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", module="datasets")
        ds = load_dataset(ref, ns.config, data_dir=ns.data_dir, data_dirs=_source_dirs(ns.source_dir),
                          cache_dir=ns.cache_dir, split_by=ns.split_by,
                          test_size=ns.test_size, seed=ns.seed, download_mode="force_redownload" if ns.force else None,
                          cards_dir=getattr(ns, "cards", None))
    echo(ds)
    first = next(iter(ds.values()), None) if hasattr(ds, "values") else ds
    if first is not None:
        echo("features:")
        for name, feat in first.features.items():
            echo(f"  {name}: {feat}")
    return 0
