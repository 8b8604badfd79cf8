"""covidct: a declarative registry of lung and COVID-19 imaging dataset cards.

>>> import covidct
>>> card = covidct.load_card("covidct/cncb")
>>> df = covidct.catalog()
>>> ds = covidct.load_dataset("covidct/cncb", "lesion-seg", data_dir="~/data/cncb")  # needs covidct[hf]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from covidct.version import __version__

if TYPE_CHECKING:
    from covidct.card.model import Card
    from covidct.registry import CardError, Registry, UnknownCard, catalog, load_card

# imported when first used: `covidct show` and `covidct list` with a warm index never load the card model
_LAZY = {"Card": "covidct.card.model", "CardError": "covidct.registry", "Registry": "covidct.registry",
         "UnknownCard": "covidct.registry", "catalog": "covidct.registry", "load_card": "covidct.registry"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'covidct' has no attribute {name!r}")

__all__ = ["Card", "CardError", "Registry", "UnknownCard", "__version__", "catalog", "combine", "load_card",
           "load_dataset"]


def load_dataset(ref: str, config: str | None = None, **kwargs: Any) -> Any:
    """Load a card's data as a ``datasets.DatasetDict`` (see :func:`covidct.hf.load.load_dataset`)."""
    from covidct.extras import require

    require("datasets", "hf")
    from covidct.hf.load import load_dataset as _load

    return _load(ref, config, **kwargs)


def combine(refs: Any, target: Any, data_dirs: Any = None, **kwargs: Any) -> Any:
    """Several datasets as one ``DatasetDict`` with labels mapped onto ``target`` (see :mod:`covidct.combined`)."""
    from covidct.combined import combine as _combine

    return _combine(refs, target, data_dirs, **kwargs)
