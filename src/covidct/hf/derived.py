"""``covidct.load_dataset`` for a derived config (COVIDx): one ``DatasetDict`` rebuilt from the user's copies
of the source datasets (:mod:`covidct.layout.derived`), each image read as its own card reads it, with the
``source`` card of every example kept."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Any

from covidct.card.model import Card, Config
from covidct.hf.features import Encoder, features_for
from covidct.layout.derived import DerivedRecord, derived_records

# The examples of the splits being generated, by a token naming their content: ``Dataset.from_generator``
# hashes the generator's arguments for its cache, so it gets the token, never the records themselves.
_PENDING: dict[str, list[DerivedRecord]] = {}


def derived_features(cfg: Config) -> Any:
    """The columns of a derived config: the image, its labels (class names in value order), the patient, the
    source card and the image's path inside that source's folder."""
    from datasets import ClassLabel, Features, Image, Value

    feats: dict[str, Any] = {"image": Image()}
    for lab in cfg.labels:
        feats[lab.name] = ClassLabel(names=[c.name for c in sorted(lab.classes, key=lambda c: c.value)])
    feats.update(patient_id=Value("string"), source=Value("string"), source_path=Value("string"))
    return Features(feats)


def _token(card: Card, cfg: Config, split: str, recs: list[DerivedRecord]) -> str:
    h = hashlib.sha256(f"{card.model_dump_json()}\0{cfg.name}\0{split}".encode())
    for r in recs:
        for p in r.record.files.get("image", []):
            st = os.stat(p)
            h.update(f"\0{r.key}\0{p}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return h.hexdigest()


def _dtype(feature: Any) -> str | None:
    """The element type of an array feature (``List(List(Value('uint8')))`` → ``uint8``), None if unknown."""
    while not hasattr(feature, "dtype") or getattr(feature, "dtype", None) in (None, "list"):
        inner = getattr(feature, "feature", None)
        if inner is None:
            return None
        feature = inner
    return str(feature.dtype)


def _generate(token: str) -> Any:
    import numpy as np

    encoders: dict[str, Encoder] = {}
    for r in _PENDING[token]:
        enc = encoders.get(r.source)
        if enc is None:
            enc = encoders[r.source] = Encoder(r.source_card, r.source_config,
                                               features_for(r.source_card, r.source_config))
        image = enc.encode(r.record)["image"]
        if not isinstance(image, dict):  # an array (DICOM, NIfTI): the Image feature stores it as PNG
            image = np.asarray(image, dtype=_dtype(enc.features["image"]))
        yield {"image": image, **r.labels, "patient_id": r.patient, "source": r.source,
               "source_path": r.record.path}


def load_derived(card: Card, cfg: Config, data_dirs: Mapping[str, str | os.PathLike[str]], *,
                 cards: Mapping[str, Card], split: str | None = None,
                 cache_dir: str | os.PathLike[str] | None = None) -> Any:
    """A ``DatasetDict`` (one ``Dataset`` with ``split``) of a derived config."""
    import datasets

    dirs = {k: os.path.expanduser(os.fspath(v)) for k, v in data_dirs.items()}
    recs = derived_records(card, cfg, dirs, cards)
    features = derived_features(cfg)
    out = {}
    for name, split_recs in recs.items():
        if split is not None and name != split:
            continue
        if not split_recs:  # every row left out (sources without a card, warned) or an empty list:
            # an empty split, where `from_generator` would fail with "corresponds to no data"
            out[name] = datasets.Dataset.from_dict({k: [] for k in features}, features=features,
                                                   split=datasets.NamedSplit(name))
            continue
        token = _token(card, cfg, name, split_recs)
        _PENDING[token] = split_recs
        try:
            out[name] = datasets.Dataset.from_generator(
                _generate, features=features, gen_kwargs={"token": token},
                cache_dir=os.fspath(cache_dir) if cache_dir else None, split=datasets.NamedSplit(name))
        finally:
            del _PENDING[token]
    if split is not None:
        if split not in out:
            raise KeyError(f"{card.id}/{cfg.name} has splits {sorted(recs)}, not {split!r}")
        return out[split]
    return datasets.DatasetDict(out)
