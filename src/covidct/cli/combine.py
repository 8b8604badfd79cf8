"""``covidct combine``: several datasets as one, with labels mapped onto a target; optionally exported."""

from __future__ import annotations

import argparse
import warnings

from covidct.cli._common import UserFacingError, args, command, echo, show_warning


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values or []:
        key, sep, val = v.partition("=")
        if not sep or not key or not val:
            raise UserFacingError(f"{what} takes ID=VALUE (e.g. cncb=~/data/cncb), not {v!r}")
        out[key] = val
    return out


def _combine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("ids", nargs="+", metavar="ID", help="card ids, names or aliases of the datasets to combine")
    p.add_argument("--target", required=True, help="harmonisation target (cards/targets/<id>.yaml, or a file)")
    p.add_argument("--data-dir", action="append", metavar="ID=DIR", help="a dataset's data folder (repeatable)")
    p.add_argument("--config", action="append", metavar="ID=CONFIG", help="a dataset's config, where several fit")
    p.add_argument("--label", action="append", metavar="ID=LABEL", help="a dataset's class label, where several")
    p.add_argument("--split-by", choices=["patient", "scan", "example"], default="patient")
    p.add_argument("--test-size", type=float, default=0.2, help="fraction of patients (scans...) in test")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--manifest", action="append", help="a fingerprint manifest (keeps duplicates in one split)")
    p.add_argument("--cache-dir", help="datasets cache folder (default: the Hugging Face cache)")
    p.add_argument("--out", help="export the result as a Parquet folder (with a README) under this folder")
    p.add_argument("--allow-unknown-license", action="store_true",
                   help="export even where a card does not say whether copies are allowed (with permission)")
    p.add_argument("--plan", action="store_true", help="only print where each class goes; read no data")


@command("combine", "combine datasets into one DatasetDict: labels mapped onto a target, patients never in two "
         "splits; --out exports it as Parquet")
@args(_combine_args)
def cmd_combine(ns: argparse.Namespace) -> int:
    from covidct.card.issues import ignore_data_warnings
    from covidct.combined import check_export, combine, export_combined, plan

    configs, labels = _pairs(ns.config, "--config"), _pairs(ns.label, "--label")
    combo = plan(ns.ids, ns.target, configs=configs, labels=labels, cards_dir=getattr(ns, "cards", None))
    echo(combo.report())
    if ns.plan:
        return 0
    from covidct.extras import require

    require("datasets", "hf")

    if ns.out:  # refuse before reading any data
        check_export(combo, allow_unknown_license=ns.allow_unknown_license)

    with warnings.catch_warnings():
        warnings.showwarning = show_warning
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", module="datasets")
        ignore_data_warnings("L506")  # a combined dataset's counts are not one card's
        ds = combine(ns.ids, combo.target, _pairs(ns.data_dir, "--data-dir"), split_by=ns.split_by,
                     test_size=ns.test_size, seed=ns.seed, configs=configs, labels=labels,
                     manifests=ns.manifest, cache_dir=ns.cache_dir, cards_dir=getattr(ns, "cards", None))
        echo(ds)
        if ns.out:
            folder = export_combined(ds, combo, ns.out, allow_unknown_license=ns.allow_unknown_license)
            echo(f"wrote {folder}")
    return 0
