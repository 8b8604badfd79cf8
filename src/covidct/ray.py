"""Ray Data: a card's data as a ``ray.data.Dataset``, read and decoded in parallel Ray tasks (``covidct[ray]``).

>>> import covidct.ray
>>> ds = covidct.ray.read_dataset("covidct/cncb", "lesion-seg", data_dir="~/data/cncb", split="train")  # doctest: +SKIP
>>> for row in ds.iter_rows(): ...                                                              # doctest: +SKIP

The layout is planned once, on the driver, by the same builder as :func:`covidct.load_dataset`
(:meth:`covidct.hf.builder.CardBuilder.make_plan`: roots, downloads, tables, splits, ``split_by``).
Its records go to Ray with ``ray.data.from_items`` (one pickled record per row); ``map_batches`` then
reads and decodes their files in Ray tasks with covidct's readers, through the builder's own
record → example function (:class:`covidct.hf.features.Encoder`), and decodes the example the way
``datasets`` does (:func:`decode_row`). Files are opened by path in the tasks (through ``fsutil``: a
regular file inside the data folder), not by ``ray.data.read_binary_files``, because one example may
be many files (the slices of a scan) that the plan has already ordered.

Rows hold what ``covidct.load_dataset(...)`` rows hold, with images and arrays as NumPy arrays (as
``Dataset.with_format("numpy")`` gives them): a raster image is its decoded pixels
(``np.asarray(PIL image)``), a DICOM slice or volume an int16/uint8/uint16/float32 array, a class
label its ``ClassLabel`` index, ``spacing`` a float32 array, texts and ids strings. Row order is
Ray's (it may differ from ``load_dataset``'s unless ``DataContext.execution_options.preserve_order``
is set); ``path`` identifies a row within a split.

A Parquet folder written by ``covidct export`` reads with stock Ray and decodes with one line::

    ds = ray.data.read_parquet(folder).map_batches(covidct.ray.decoder(folder), batch_format="pyarrow")

On a Ray cluster, call ``ray.init(address="auto")`` first: the same call plans on the driver and
decodes on the cluster's nodes, which need covidct installed and the data folder at the same path.

Note on the name: this module is ``covidct.ray``; ``import ray`` inside it is the Ray package, as
every import is absolute in Python 3 (the module would shadow Ray only if ``src/covidct`` itself were
on ``sys.path``, which nothing does).
"""

from __future__ import annotations

import json
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from covidct.card.model import Card
from covidct.extras import require

if TYPE_CHECKING:
    import datasets
    import ray.data
    from typing_extensions import Unpack

    from covidct.hf.load import PlanOptions


def read_dataset(
    ref: str | os.PathLike[str] | Card,
    config: str | None = None,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    split: str | None = None,
    rows_per_task: int | None = None,
    **options: Unpack[PlanOptions],
) -> ray.data.Dataset | dict[str, ray.data.Dataset]:
    """A card config's data as Ray Datasets: one per split (a dict), or the one ``split``.

    ``ref``, ``config`` and the ``options`` (:class:`covidct.hf.load.PlanOptions`: ``split_by``,
    ``test_size``, ``seed``, ``manifests`` for a patient-level split; ``cache_dir``, where downloads are
    kept when there is no ``data_dir``; ``cards_dir``) mean what they mean for :func:`covidct.load_dataset`
    (a card id, card file, :class:`Card` or a folder holding a card). A folder exported by
    ``covidct export`` is read from its Parquet files instead.
    ``rows_per_task``: examples decoded by one Ray task (default: from the size of an example).

    Nothing is read until the dataset is consumed (Ray Data is lazy); a file that cannot be decoded
    then raises covidct's error for it (a :class:`~covidct.layout.walk.LayoutError`).
    """
    require("ray", "ray")
    require("datasets", "hf")
    import ray.data

    from covidct.hf.builder import DataError, builder_for
    from covidct.hf.load import PlanOptions, card_in, load_card_file

    if rows_per_task is not None and (not isinstance(rows_per_task, int) or rows_per_task < 1):
        raise DataError(f"rows_per_task must be a whole number of at least 1, not {rows_per_task!r}")

    if not isinstance(ref, Card):
        folder = Path(os.path.expanduser(str(ref)))
        if folder.is_dir():
            card_file = card_in(folder)
            if card_file is None:
                return _read_exported(folder, config, split)
            ref = load_card_file(card_file)
        else:
            ref = str(ref)
    unknown = set(options) - set(PlanOptions.__annotations__)
    if unknown:
        raise TypeError(f"read_dataset() got unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    builder = builder_for(ref, config, data_dir=data_dir, **options)
    plan = builder.make_plan(_LocalFiles(builder.config.data_dir))
    if split is not None and split not in plan.splits:
        raise DataError(f"{builder.card.id}/{builder.config.name} has no split {split!r}; its splits: "
                        f"{', '.join(plan.splits)}")
    decode = _DecodeRecords(builder.card, builder.config.name, builder.info.features)
    per_task = rows_per_task or _rows_per_task(builder.card_config)
    out = {}
    for s in [split] if split is not None else plan.splits:
        items = [{"record": pickle.dumps(rec, protocol=pickle.HIGHEST_PROTOCOL)} for rec in plan.records(s)]
        blocks = max(1, -(-len(items) // per_task))
        ds = ray.data.from_items(items, override_num_blocks=blocks).map_batches(
            decode, batch_size=None, batch_format="numpy")
        # covidct's error (which file, what to do) rather than Ray's generic UserCodeException around
        # it; the setting belongs to this dataset (and those derived from it), not to the session
        ds.context.raise_original_map_exception = True
        out[s] = ds
    return out[split] if split is not None else out


MAX_FOOTER_BYTES = 32 << 20  # a Parquet footer (schema, features JSON, row-group facts); real exports: kilobytes


def decoder(exported: str | os.PathLike[str]) -> _DecodeExported:
    """The ``map_batches`` function that decodes rows of Parquet files written by ``covidct export``.

    ``exported`` is one of the Parquet files or a folder holding them (the features are read from the
    ``huggingface`` metadata ``datasets`` writes into each file's schema):
    ``ray.data.read_parquet(folder).map_batches(covidct.ray.decoder(folder), batch_format="pyarrow")``.

    The folder is untrusted like any data folder: its ``*.parquet`` must be regular files inside it (no
    link, FIFO or device), each footer at most :data:`MAX_FOOTER_BYTES`, and anything that is not an
    export's Parquet (damaged file, features JSON that is not JSON, nested thousands deep, or names types
    ``datasets`` does not have) is a :class:`~covidct.hf.builder.DataError`, never another exception.
    """
    require("datasets", "hf")
    import datasets

    from covidct.fsutil import walk_entries
    from covidct.hf.builder import DataError

    path = Path(os.path.expanduser(str(exported)))
    if path.is_dir():
        files = []
        try:
            for rel, entry in walk_entries(str(path)):
                if not rel.endswith(".parquet") or entry.is_dir(follow_symlinks=False):
                    continue
                if not entry.is_file(follow_symlinks=False):
                    raise DataError(f"{entry.path}: not a regular file (a link or a special file); an export "
                                    "folder holds only the Parquet files covidct wrote")
                files.append(Path(entry.path))
        except OSError as exc:
            raise DataError(f"{exc.filename or path}: cannot list it ({exc.strerror or exc})") from None
    else:
        files = [path]
    if not files or not files[0].exists():
        raise DataError(f"{path}: no Parquet file there; export one with `covidct export ID --data-dir DIR --out DIR`")
    found: dict[bytes, Path] = {}
    schemas = {}
    for f in files:  # footers only; several configs (different features) in one folder cannot share a decoder
        schema = _schema(f)
        meta = (schema.metadata or {}).get(b"huggingface")
        if not meta:
            raise DataError(f"{f} has no `datasets` features in its metadata; is it from `covidct export`?")
        if meta not in found:
            found[meta] = f
            schemas[meta] = schema
    if len(found) > 1:
        a, b = list(found.values())[:2]
        raise DataError(f"{path} holds Parquet files of different features ({a} and {b}): read one config's "
                        f"folder (data/<config>)")
    (meta, first), = found.items()
    try:
        info = json.loads(meta)
        if not isinstance(info, dict):
            raise ValueError(f"a JSON {type(info).__name__}, not an object")
        features = datasets.Features.from_arrow_schema(schemas[meta])
    except RecursionError:
        raise DataError(f"{first}: its `datasets` features are nested too deep; is it from `covidct export`?") from None
    except Exception as exc:
        raise DataError(f"{first}: unreadable `datasets` features ({type(exc).__name__}: {str(exc)[:200]}); is it "
                        "from `covidct export`?") from None
    return _DecodeExported(features)


def _schema(f: Path) -> Any:
    """The Arrow schema in ``f``'s footer, read from a regular file after its footer size is checked."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from covidct.fsutil import UnsafePath, open_regular
    from covidct.hf.builder import DataError

    try:
        with open_regular(f, "Parquet file") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size >= 12:
                fh.seek(size - 8)
                tail = fh.read(8)
                footer = int.from_bytes(tail[:4], "little")
                if tail[4:] == b"PAR1" and footer > MAX_FOOTER_BYTES:
                    raise DataError(f"{f}: its Parquet footer declares {footer:,} bytes, more than the "
                                    f"{MAX_FOOTER_BYTES:,} an export needs; the file is damaged or hostile")
            fh.seek(0)
            return pq.read_schema(fh)
    except UnsafePath as exc:
        raise DataError(f"{f}: {exc.problem}") from None
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"{f}: not a readable Parquet file ({str(exc)[:200]}); is it from `covidct export`?") from None


# ------------------------------------------------------------------------------------------ decoding


def decode_row(features: datasets.Features, example: dict[str, Any]) -> dict[str, Any]:
    """An encoded example (as stored in Arrow or Parquet) as a Ray row: decoded like ``datasets`` does,
    with images and arrays as NumPy arrays of the feature's dtype (``with_format("numpy")``)."""
    import numpy as np

    dec = features.decode_example(example)
    row: dict[str, Any] = {}
    for name, feat in features.items():
        v = dec.get(name)
        if v is None:
            row[name] = None
        elif _is_image(feat):
            row[name] = np.asarray(v)
        elif (dtype := _array_dtype(feat)) is not None:
            row[name] = np.asarray(v, dtype=dtype)
        else:
            row[name] = v
    return row


def _is_image(feat: Any) -> bool:
    import datasets

    return isinstance(feat, datasets.Image)


def _array_dtype(feat: Any) -> str | None:
    """The NumPy dtype of an array feature (``Array2D``/``Array3D``, lists of lists of a numeric
    ``Value``), else None (class labels, texts, records stay Python values)."""
    import datasets

    if isinstance(feat, (datasets.Array2D, datasets.Array3D)):
        return str(feat.dtype)
    inner = feat
    while (nested := getattr(inner, "feature", None)) is not None and not isinstance(inner, dict):
        inner = nested
    if inner is not feat and isinstance(inner, datasets.Value) and inner.dtype.startswith(("int", "uint", "float")):
        return str(inner.dtype)
    return None


def _columns(features: datasets.Features, rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {name: [r[name] for r in rows] for name in features}


@dataclass
class _DecodeRecords:
    """``map_batches`` function: pickled layout records → decoded rows (runs in the Ray tasks)."""

    card: Card
    config: str
    features: datasets.Features
    _encoder: Any = field(default=None, repr=False, compare=False)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        from covidct.hf.features import Encoder

        if self._encoder is None:  # once per task (the function is shipped to each task)
            # embed: raster bytes are read here, through fsutil, and decoded from them
            self._encoder = Encoder(self.card, self.card.config(self.config), self.features, embed=True)
        enc = self._encoder
        rows = [decode_row(self.features, self.features.encode_example(enc.encode(pickle.loads(b))))
                for b in batch["record"]]
        return _columns(self.features, rows)


@dataclass
class _DecodeExported:
    """``map_batches`` function: rows of an exported Parquet file → decoded rows."""

    features: datasets.Features

    def __call__(self, batch: Any) -> dict[str, list[Any]]:
        import pyarrow as pa

        if not isinstance(batch, pa.Table):  # NumPy batches would hand over arrays where Arrow has lists
            raise TypeError("covidct.ray.decoder(...) decodes Arrow batches: pass batch_format=\"pyarrow\" to "
                            "map_batches")
        return _columns(self.features, [decode_row(self.features, r) for r in batch.to_pylist()])


@dataclass
class _LocalFiles:
    """What :meth:`CardBuilder.make_plan` reads of a ``datasets`` download manager: the data folder
    (``None``: the card's downloads, fetched and verified on the driver) and whether to fetch again."""

    manual_dir: str | None
    download_config: Any = field(default_factory=lambda: _NoForce())


@dataclass
class _NoForce:
    force_download: bool = False


def _rows_per_task(cfg: Any) -> int:
    """Examples per Ray task: many small images, a few slices, one volume (as the builder's writer batches)."""
    from covidct.imageplan import image_plan

    ip = image_plan(cfg)
    if ip.kind == "raster":
        return 64
    return 1 if ip.ndim == 3 else 16


def _read_exported(folder: Path, config: str | None, split: str | None) -> Any:
    """An exported folder (``data/<config>/<split>-*.parquet``) read with ``ray.data.read_parquet``."""
    import ray.data

    from covidct.hf.builder import DataError

    data = folder / "data"
    configs = sorted(p.name for p in data.iterdir() if p.is_dir()) if data.is_dir() else []
    if not configs:
        raise DataError(f"{folder} is neither a card id nor an exported folder (no card.yaml, no data/<config>/)")
    if config is None and len(configs) > 1:
        raise DataError(f"{folder} holds configs {', '.join(configs)}: name one")
    name = config or configs[0]
    if name not in configs:
        raise DataError(f"{folder} has no config {name!r}; it holds {', '.join(configs)}")
    files = sorted((data / name).glob("*.parquet"))
    splits = sorted({f.name.split("-", 1)[0] for f in files})
    if split is not None and split not in splits:
        raise DataError(f"{folder} has no split {split!r} of {name}; it holds {', '.join(splits)}")
    out = {}
    for s in [split] if split is not None else splits:
        paths = [str(f) for f in files if f.name.split("-", 1)[0] == s]
        ds = ray.data.read_parquet(paths).map_batches(decoder(paths[0]), batch_format="pyarrow")
        ds.context.raise_original_map_exception = True  # as in read_dataset
        out[s] = ds
    return out[split] if split is not None else out


__all__ = ["decode_row", "decoder", "read_dataset"]
