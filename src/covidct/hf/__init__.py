"""Hugging Face ``datasets`` integration: features from a card, the generic builder, ``load_dataset``.

Importing this package is cheap; ``datasets`` is imported by the submodules that need it.

- :mod:`covidct.hf.features` — ``datasets.Features`` from a card config, and example encoding.
- :mod:`covidct.hf.builder` — ``builder_for(card, config, data_dir=..., cache_dir=...)``: the one builder.
- :mod:`covidct.hf.load` — ``load_dataset(ref, config, data_dir=..., split_by="patient")``.
"""

from __future__ import annotations

from typing import Any

# How a user saves a Hub token: `hf auth login` since huggingface_hub 0.34 (the only command from 1.0
# on); `huggingface-cli login` before 0.34 (covidct[hf] allows huggingface_hub>=0.24).
HUB_LOGIN = "`hf auth login` (`huggingface-cli login` with huggingface_hub < 0.34)"


def builder_for(*args: Any, **kwargs: Any) -> Any:
    """See :func:`covidct.hf.builder.builder_for`."""
    from covidct.hf.builder import builder_for as _b

    return _b(*args, **kwargs)


def load_dataset(*args: Any, **kwargs: Any) -> Any:
    """See :func:`covidct.hf.load.load_dataset`."""
    from covidct.hf.load import load_dataset as _l

    return _l(*args, **kwargs)


__all__ = ["builder_for", "load_dataset"]
