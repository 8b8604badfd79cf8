"""``covidct.load_dataset``: a card (or an exported Hub folder) → ``datasets.DatasetDict``.

>>> import covidct
>>> ds = covidct.load_dataset("covidct/cncb", "lesion-seg", data_dir="~/data/cncb")     # doctest: +SKIP
>>> ds = covidct.load_dataset("covidct/cncb", "classification", data_dir="~/data/cncb",
...                           split_by="patient", test_size=0.2, seed=0)               # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypedDict

from covidct.card.model import Card
from covidct.hf.builder import CardBuilder, DataError, builder_for, layout_error_from

CARD_FILES = ("card.yaml", "card.json")


class PlanOptions(TypedDict, total=False):
    """How a card's examples are planned beyond the data folder: what :func:`load_dataset` takes, and what
    other readers of the same plan (``covidct.ray.read_dataset``) take as ``**options``."""

    split_by: str | None  # "patient" or "scan": a new split of that level (official splits replaced)
    test_size: float
    seed: int
    manifests: list[str | os.PathLike[str]] | None  # fingerprint manifests: near duplicates stay together
    cache_dir: str | os.PathLike[str] | None  # where downloads are kept when there is no data_dir
    cards_dir: str | os.PathLike[str] | None


def load_dataset(
    ref: str | os.PathLike[str] | Card,
    config: str | None = None,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    data_dirs: dict[str, str | os.PathLike[str]] | None = None,
    split: str | None = None,
    split_by: str | None = None,
    test_size: float = 0.2,
    seed: int = 0,
    manifests: list[str | os.PathLike[str]] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    streaming: bool = False,
    download_mode: str | None = None,
    verification_mode: str | None = None,
    num_proc: int | None = None,
    cards_dir: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> Any:
    """Load a card's data.

    ``ref`` is a card id (``cncb``, ``covidct/cncb``, a name or alias), a card file (``.yaml``), a
    :class:`~covidct.card.model.Card` (e.g. a draft from :func:`covidct.card.draft.load_draft`), or a
    folder exported for the Hub: with Parquet data and a README.md (read by stock ``datasets``), or with
    the card beside a loading script (``card.yaml``/``card.json``/``<id>.yaml``), then built here.

    ``split_by`` (``"patient"``, ``"scan"`` or ``"example"``) makes a random train/test split for configs
    without official splits, never putting one patient (scan, example) in both; ``test_size`` is the
    fraction of patients in ``test``. ``manifests`` (with ``split_by``): fingerprint manifests, one of
    them made from this config (``covidct fingerprint ID CONFIG``), others from any data: images that
    are copies or near duplicates of each other (also through another manifest's images) then stay on
    one side too, so no duplicate group crosses the split. Returns a ``DatasetDict`` (or one
    ``Dataset`` with ``split``; ``IterableDatasetDict`` with ``streaming=True``).

    A derived config (COVIDx, built from other datasets) takes ``data_dirs`` instead of ``data_dir``: the card's
    own id → the folder of its published split files, and each source card's id → your copy of that source;
    every example keeps its ``source`` card.
    """
    folder = Path(os.path.expanduser(str(ref))) if not isinstance(ref, Card) else None
    if folder is not None and folder.is_dir():
        card_file = card_in(folder)
        if card_file is None:
            return _load_exported(folder, config, split=split, cache_dir=cache_dir, streaming=streaming, **kwargs)
        ref = load_card_file(card_file)
    derived = _derived_config(ref, config, cards_dir)
    if derived is not None:
        from covidct.hf.derived import load_derived
        from covidct.registry import registry

        card, cfg = derived
        if data_dirs is None:
            raise DataError(card.unloadable_reason(cfg))
        return load_derived(card, cfg, data_dirs, cards=registry(cards_dir).cards(), split=split, cache_dir=cache_dir)
    if data_dirs is not None:
        raise DataError("data_dirs is for derived configs (built from other datasets); pass data_dir")
    builder = builder_for(ref if not isinstance(ref, os.PathLike) else str(ref), config, data_dir=data_dir,
                          cache_dir=cache_dir, split_by=split_by, manifests=manifests,
                          test_size=test_size, seed=seed, cards_dir=cards_dir, **kwargs)
    return prepare(builder, split=split, streaming=streaming, download_mode=download_mode,
                   verification_mode=verification_mode, num_proc=num_proc)


def prepare(builder: CardBuilder, *, split: str | None = None, streaming: bool = False,
            download_mode: str | None = None, verification_mode: str | None = None,
            num_proc: int | None = None) -> Any:
    """Download/prepare and return the datasets; errors from inside ``datasets`` are unwrapped."""
    import datasets

    try:
        if streaming:
            return builder.as_streaming_dataset(split=split)
        builder.download_and_prepare(download_mode=download_mode, verification_mode=verification_mode,
                                     num_proc=num_proc)
        return builder.as_dataset(split=split)
    except datasets.exceptions.DatasetGenerationError as exc:
        cause = layout_error_from(exc)
        if cause is not None:
            raise cause from None
        raise


def _derived_config(ref: Any, config: str | None, cards_dir: Any) -> tuple[Card, Any] | None:
    """(card, config) when ``ref``'s ``config`` is a derived one, else None (an unknown config is left to the
    builder, which names the configs there are)."""
    if isinstance(ref, Card):
        card = ref
    else:
        from covidct.registry import load_card

        card = load_card(str(ref), cards_dir)
    try:
        cfg = card.config(config)
    except KeyError:
        return None
    return (card, cfg) if cfg.derived is not None else None


def card_in(folder: Path) -> Path | None:
    for name in CARD_FILES:
        if (folder / name).is_file():
            return folder / name
    yamls = [p for p in folder.glob("*.yaml") if p.stem == folder.name]
    return yamls[0] if yamls else None


def _load_exported(folder: Path, config: str | None, **kwargs: Any) -> Any:
    if not (folder / "README.md").is_file():
        raise DataError(f"{folder} is neither a card id nor a dataset folder (no README.md, card.yaml or "
                        f"{folder.name}.yaml in it)")
    import datasets

    return datasets.load_dataset(str(folder), config, **{k: v for k, v in kwargs.items() if v is not None})


def load_card_file(path: Path) -> Any:
    """A card from ``card.yaml`` (validated like any card) or ``card.json`` (the model's JSON)."""
    from covidct.card.checks import check_card
    from covidct.card.issues import KINDS, Severity
    from covidct.card.model import Card
    from covidct.card.yamlload import MAX_BYTES
    from covidct.fsutil import UnsafePath, open_regular
    from covidct.registry import CardError, card_from_file

    if path.suffix == ".json":
        size = path.stat().st_size
        if size > 4 * MAX_BYTES:  # checked before reading: a card.json from a downloaded folder is untrusted
            raise CardError(f"{path} is {size:,} bytes; a card may have at most {4 * MAX_BYTES:,}")
        try:
            with open_regular(path, "card") as fh:  # a FIFO would block
                text = fh.read().decode("utf-8")
            card = Card.model_validate_json(text)
        except UnsafePath as exc:
            raise CardError(str(exc)) from None
        except ValueError as exc:
            raise CardError(f"{path} is not a valid card: {exc}") from None
        # the same semantic checks as `covidct validate` (safe paths, http(s) URLs, safe regexes)
        errors = [f"{'.'.join(map(str, f.path))}: {f.code} {f.message}" for f in check_card(card)
                  if KINDS[f.code].severity is Severity.ERROR]
        if errors:
            raise CardError(f"{path} is not a valid card", errors)
        return card
    return card_from_file(path, id_from_name=False)


__all__ = ["load_dataset", "prepare"]
