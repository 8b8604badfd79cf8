"""Splits that keep duplicates together: which examples of a card config must share a side.

``covidct.load_dataset(..., split_by="patient", manifests=[...])`` reads the manifests, links rows
that are the same file, the same pixels, near duplicates or the same DICOM instance (transitively,
also through rows of other datasets' manifests), and hands the layout interpreter the pairs of
examples that must land in the same split (:meth:`covidct.layout.plan.Plan.resplit`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from covidct.errors import CovidctError
from covidct.fingerprint.overlaps import DEFAULT_NEAR, duplicate_groups, load_rows


class SplitLinkError(CovidctError, ValueError):
    pass


def example_links(manifests: Sequence[str | os.PathLike[str]], card_id: str, config: str,
                  near: int = DEFAULT_NEAR) -> list[tuple[str, str]]:
    """Pairs of example ids of ``card_id``/``config`` whose images are duplicates of each other.

    At least one manifest must have been made from that config (``covidct fingerprint ID CONFIG``):
    its ``example`` column names the examples. Other manifests only link them through their rows.
    """
    from covidct.fingerprint import require_extra

    require_extra()
    rows = load_rows(manifests)
    own = [i for i, info in enumerate(rows.infos) if info.card == card_id and info.config == config]
    if not own:
        made = ", ".join(info.name for info in rows.infos)
        raise SplitLinkError(
            f"none of the manifests was made from {card_id}/{config} (they are: {made}); make one with "
            f"`covidct fingerprint {card_id} {config} --data-dir DIR --out FILE.parquet`")
    groups = duplicate_groups(rows, near)
    examples = rows.cols["example"]
    first: dict[int, str] = {}
    links: set[tuple[str, str]] = set()
    mine = set(own)
    for i, (g, m) in enumerate(zip(groups.tolist(), rows.manifest.tolist(), strict=True)):
        ex = examples[i]
        if m not in mine or ex is None:
            continue
        head = first.setdefault(g, ex)
        if head != ex:
            links.add((head, ex))
    return sorted(links)


__all__ = ["SplitLinkError", "example_links"]
