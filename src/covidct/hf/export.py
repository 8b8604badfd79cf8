"""`covidct export ID --data-dir DIR --out build/hub`: a script-free Hub repository folder.

``<out>/covidct/<id>/`` gets, for every loadable config, Parquet shards written by covidct's builder
(``download_and_prepare(file_format="parquet")``, which embeds the image bytes rather than paths),
rewritten as ``data/<config>/<split>-0000k-of-0000N.parquet`` with ``N`` sized for parallel readers
(:func:`write_shards`), and a README.md whose YAML front matter has
``configs`` (data_files per split) and ``dataset_info`` (features with ClassLabel names, splits with
num_examples and num_bytes, sizes), the license, task categories, size category, pretty name and
tags. Stock ``datasets`` reads the folder with no custom code; with the working directory at
``<out>``, ``datasets.load_dataset("covidct/<id>", CONFIG)`` resolves the local folder.

The folder holds no ``<id>.py``: datasets >= 4 refuses a folder holding a script named after it, and
datasets < 4 reads Parquet + ``configs`` natively, so the script is not needed where data is. The
folder is replaced whole (written aside, then renamed), so a failed export leaves the old one.

Export refuses, saying why, when the card's license forbids redistribution, and (unless told the
publisher has permission) when the card does not know. A synthesized fixture may always be exported
(it holds no real data): its README says so and ``covidct publish`` refuses it.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from covidct.card.model import ORG, Card, Config
from covidct.card.vocab import Redistribution
from covidct.errors import CovidctError
from covidct.hf.manifest import MANIFEST, read_manifest, write_manifest  # noqa: F401 (importable from here too)

DEFAULT_MAX_SHARD_SIZE = "500MB"
MAX_SHARDS = 99_999  # the file names have 5 digits


class ExportRefused(CovidctError):
    """The card's terms do not allow a Hub copy; the message says why and what to do instead."""


@dataclass
class ExportResult:
    folder: Path
    splits: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)  # config → split → (n, bytes)
    files: list[Path] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # config → why (its files are not in data_dir)

    def summary(self) -> str:
        parts = [
            f"{cfg}: " + ", ".join(f"{s} {n:,}" for s, (n, _) in splits.items()) for cfg, splits in self.splits.items()
        ]
        return f"{self.folder} ({'; '.join(parts)})"


def check_redistribution(card: Card, *, allow_unknown_license: bool = False) -> None:
    lic = card.license
    name = lic.name or lic.id
    if lic.redistribution is Redistribution.FORBIDDEN:
        raise ExportRefused(
            f"{card.id}: the license ({name}) forbids redistribution, so covidct will not make a Hub copy of "
            f"the data. Load it from your own copy instead: covidct.load_dataset({json.dumps(card.id)}, "
            f"data_dir=...), or publish the loading script (`covidct scripts`), which holds no data."
        )
    if lic.redistribution is Redistribution.UNKNOWN and not allow_unknown_license:
        raise ExportRefused(
            f"{card.id}: the card does not say whether the license ({name}) allows redistribution. Export only "
            f"with the distributor's permission, and then pass --allow-unknown-license."
        )


WORKER_COUNTS = 8  # a split's default shard count is a multiple of this: even for 1, 2, 4 or 8 nodes or readers
ROW_GROUP_BYTES = 100 << 20  # a row group holds about this much data (the Hub viewer wants 100-300 MB)


def shard_count(rows: int, size: int, max_shard_size: int) -> int:
    """How many Parquet files a split of ``rows`` rows and ``size`` bytes is written as, by default.

    No file over ``max_shard_size``, and a multiple of :data:`WORKER_COUNTS`, so that
    ``split_dataset_by_node`` and DataLoader workers reading a stream each get whole, equal files. A
    split with fewer rows than that gets the largest power of two it can fill (at least one file).
    """
    by_size = max(1, -(-size // max(1, max_shard_size)))
    n = -(-by_size // WORKER_COUNTS) * WORKER_COUNTS
    if n <= rows:
        return n
    fit = 1
    while fit * 2 <= min(rows, WORKER_COUNTS):
        fit *= 2
    return fit


def write_shards(sources: list[Path], dest: Path, split: str, num_shards: int | None,
                 max_shard_size: int) -> list[Path]:
    """The rows of ``sources`` (Parquet files, in order) rewritten as ``dest/<split>-0000k-of-0000N.parquet``.

    ``N`` is ``num_shards``, or :func:`shard_count`. File ``k`` holds ``rows // N`` rows, one more for
    the first ``rows % N``: readers given every ``w``-th file (``split_dataset_by_node``, DataLoader
    workers) get row counts that differ by at most one when ``w`` divides ``N``. The order of the rows
    is kept. Row groups hold about :data:`ROW_GROUP_BYTES` (at least one row: a CT volume is one row),
    so a streaming reader holds one such group at a time. The schema, with the features ``datasets``
    stored in its metadata, is kept.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = [pq.ParquetFile(p) for p in sources]
    try:
        rows = sum(f.metadata.num_rows for f in files)
        raw = sum(f.metadata.row_group(i).total_byte_size for f in files for i in range(f.metadata.num_row_groups))
        n = num_shards or shard_count(rows, sum(p.stat().st_size for p in sources), max_shard_size)
        group_rows = max(1, ROW_GROUP_BYTES // max(1, raw // max(1, rows)))
        counts = [rows // n + (k < rows % n) for k in range(n)]
        schema = files[0].schema_arrow
        batches = (b for f in files for b in f.iter_batches(batch_size=min(group_rows, 1024)))
        pending = None  # the rest of a batch that the previous row group or file could not take
        out = []
        for k, want in enumerate(counts):
            path = dest / f"{split}-{k:05d}-of-{n:05d}.parquet"
            with pq.ParquetWriter(path, schema) as writer:
                if want == 0:  # more files asked for than there are rows
                    writer.write_table(schema.empty_table())
                have = 0
                while have < want:
                    group: list[Any] = []
                    size = min(group_rows, want - have)
                    got = 0
                    while got < size:
                        batch = pending if pending is not None else next(batches)
                        take = min(size - got, batch.num_rows)
                        pending = batch.slice(take) if take < batch.num_rows else None
                        group.append(batch.slice(0, take))
                        got += take
                    writer.write_table(pa.Table.from_batches(group, schema=schema), row_group_size=size)
                    have += got
            out.append(path)
        return out
    finally:
        for f in files:
            f.close()


def _shards(cache_dir: str, dataset_name: str, split: str) -> list[Path]:
    rx = re.compile(rf"^{re.escape(dataset_name)}-{re.escape(split)}(?:-\d{{5}})?(?:-\d{{5}}-of-\d{{5}})?\.parquet$")
    return sorted(p for p in Path(cache_dir).iterdir() if rx.match(p.name))


def _prepare(builder: Any, max_shard_size: str | int, num_proc: int | None) -> None:
    import datasets

    from covidct.hf.builder import layout_error_from

    try:
        builder.download_and_prepare(file_format="parquet", max_shard_size=max_shard_size, num_proc=num_proc)
    except datasets.exceptions.DatasetGenerationError as exc:
        cause = layout_error_from(exc)
        if cause is not None:
            raise cause from None
        raise


def export(
    card: Card,
    data_dir: str | os.PathLike[str] | dict[str, str | os.PathLike[str]] | None,
    out: str | os.PathLike[str],
    *,
    configs: list[str] | None = None,
    allow_unknown_license: bool = False,
    synthetic: bool = False,
    max_shard_size: str | int = DEFAULT_MAX_SHARD_SIZE,
    num_proc: int | None = None,
    num_shards: int | None = None,
) -> ExportResult:
    """Prepare ``card``'s data from ``data_dir`` and write ``out/covidct/<id>/`` (see the module doc).

    ``data_dir`` may map config names to folders (one fixture per config); ``None`` downloads the
    card's archives (checksums verified by the builder). Each split is written as ``num_shards``
    Parquet files, by default as many as :func:`shard_count` says (see :func:`write_shards`).
    """
    from covidct.extras import require

    require("datasets", "hf")
    from datasets.utils.py_utils import convert_file_size_to_int

    from covidct.fsutil import atomic_dir, atomic_write_text
    from covidct.hf.builder import DataError, builder_for
    from covidct.hf.readme import render_readme
    from covidct.layout.walk import LayoutError

    if num_shards is not None and not 1 <= num_shards <= MAX_SHARDS:
        raise DataError(f"num_shards must be between 1 and {MAX_SHARDS:,}, not {num_shards}")
    size_limit = convert_file_size_to_int(max_shard_size)
    if not synthetic:
        check_redistribution(card, allow_unknown_license=allow_unknown_license)
    loadable = _selected_configs(card, configs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    folder = out / ORG / card.id
    result = ExportResult(folder=folder)
    hub_configs: list[dict[str, Any]] = []
    infos: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix=".covidct-export-", dir=out) as work, atomic_dir(folder) as tmp:
        for cfg in loadable:
            cfg_dir = data_dir.get(cfg.name) if isinstance(data_dir, dict) else data_dir
            if isinstance(data_dir, dict) and cfg_dir is None:
                result.skipped[cfg.name] = "no data folder given for it"
                continue
            builder = builder_for(card, cfg.name, data_dir=cfg_dir, cache_dir=Path(work) / cfg.name)
            try:
                _prepare(builder, max_shard_size, num_proc)
            except LayoutError as exc:
                # without --config, a config whose files are not there is skipped (e.g. only one of
                # a dataset's archives was downloaded); it is an error when asked for by name
                if configs or len(loadable) == 1:
                    raise
                result.skipped[cfg.name] = str(exc)
                continue
            info = builder.info
            splits: dict[str, tuple[int, int]] = {}
            data_files = []
            parquet_bytes = 0
            for split, si in info.splits.items():
                parquet_bytes += _move_shards(builder, cfg.name, split, tmp, folder, num_shards, size_limit, result)
                splits[split] = (si.num_examples, si.num_bytes)
                data_files.append({"split": split, "path": f"data/{cfg.name}/{split}-*"})
            result.splits[cfg.name] = splits
            entry: dict[str, Any] = {"config_name": cfg.name, "data_files": data_files}
            if not hub_configs:
                entry["default"] = True
            hub_configs.append(entry)
            info.download_size = parquet_bytes
            info.dataset_size = sum(b for _, b in splits.values())
            infos.append({"config_name": cfg.name, **_plain(info._to_yaml_dict())})
        if not hub_configs:
            raise DataError(
                f"{card.id}: no config could be exported from {data_dir}: "
                + "; ".join(f"{c}: {why}" for c, why in result.skipped.items())
            )
        readme = render_readme(
            card, "parquet", configs=hub_configs, dataset_info=infos, splits=result.splits, synthetic=synthetic
        )
        atomic_write_text(tmp / "README.md", readme)
        write_manifest(
            tmp,
            card,
            "parquet",
            synthetic=synthetic,
            extra={"configs": {c: {s: n for s, (n, _) in sp.items()} for c, sp in result.splits.items()}},
        )
    result.files.append(folder / "README.md")
    return result


def _selected_configs(card: Card, configs: list[str] | None) -> list[Config]:
    """The loadable configs to export (all, or the named ones); a name the card lacks is an error."""
    from covidct.hf.builder import DataError

    loadable = card.loadable_configs
    if configs:
        unknown = sorted(set(configs) - {c.name for c in card.configs})
        if unknown:
            raise DataError(f"{card.id} has no config {unknown}; it has {[c.name for c in card.configs]}")
        loadable = [c for c in loadable if c.name in configs]
    if not loadable:
        raise DataError(f"{card.id}: no config with a `layout` to export; the card must describe the files first")
    return loadable


def _move_shards(builder: Any, config: str, split: str, tmp: Path, folder: Path, num_shards: int | None,
                 size_limit: int, result: ExportResult) -> int:
    """Rewrite one prepared split as the Hub folder's shards (listed in ``result``); their total size."""
    prepared = _shards(builder.cache_dir, builder.dataset_name, split)
    if not prepared:  # pragma: no cover - datasets changed its file names
        raise RuntimeError(f"no Parquet file for split {split!r} in {builder.cache_dir}")
    dest = tmp / "data" / config
    dest.mkdir(parents=True, exist_ok=True)
    size = 0
    for target in write_shards(prepared, dest, split, num_shards, size_limit):
        size += target.stat().st_size
        result.files.append(folder / target.relative_to(tmp))
    for p in prepared:
        p.unlink()
    return size


def _plain(value: Any) -> Any:
    """Only plain YAML types (dict/list/str/int/float/bool/None), so safe_dump accepts it."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return str(value)


def export_fixture(
    card: Card, out: str | os.PathLike[str], *, configs: list[str] | None = None, per_class: int | None = None,
    num_shards: int | None = None,
) -> ExportResult:
    """Synthesize a fixture of every (or the named) loadable config and export it, marked synthetic."""
    from covidct.card.issues import ignore_data_warnings
    from covidct.fixtures import synthesize
    from covidct.layout.plan import COUNT_WARNINGS

    loadable = [c for c in card.loadable_configs if not configs or c.name in configs]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".covidct-fixture-", dir=out) as work, warnings.catch_warnings():
        # a fixture holds a few examples per class: the count warnings against the card are expected
        ignore_data_warnings(*COUNT_WARNINGS)
        dirs: dict[str, str | os.PathLike[str]] = {}
        for cfg in loadable:
            target = Path(work) / cfg.name
            synthesize(card, cfg, target, per_class=per_class)
            dirs[cfg.name] = target
        return export(card, dirs, out, configs=[c.name for c in loadable] or configs, synthetic=True,
                      num_shards=num_shards)
