"""`covidct export ID --data-dir DIR --out build/hub`: a script-free Hub repository folder.

``<out>/covidct/<id>/`` gets, for every loadable config, Parquet shards written by covidct's builder
(``download_and_prepare(file_format="parquet")``, which embeds the image bytes rather than paths)
under ``data/<config>/<split>-00000-of-0000N.parquet``, and a README.md whose YAML front matter has
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

from covidct.card.model import ORG, Card
from covidct.card.vocab import Redistribution
from covidct.errors import CovidctError
from covidct.hf.manifest import MANIFEST, read_manifest, write_manifest  # noqa: F401 (importable from here too)

DEFAULT_MAX_SHARD_SIZE = "500MB"


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
) -> ExportResult:
    """Prepare ``card``'s data from ``data_dir`` and write ``out/covidct/<id>/`` (see the module doc).

    ``data_dir`` may map config names to folders (one fixture per config); ``None`` downloads the
    card's archives (checksums verified by the builder).
    """
    from covidct.extras import require

    require("datasets", "hf")
    from covidct.fsutil import atomic_dir, atomic_write_text
    from covidct.hf.builder import DataError, builder_for
    from covidct.hf.readme import render_readme
    from covidct.layout.walk import LayoutError

    if not synthetic:
        check_redistribution(card, allow_unknown_license=allow_unknown_license)
    loadable = card.loadable_configs
    if configs:
        unknown = sorted(set(configs) - {c.name for c in card.configs})
        if unknown:
            raise DataError(f"{card.id} has no config {unknown}; it has {[c.name for c in card.configs]}")
        loadable = [c for c in loadable if c.name in configs]
    if not loadable:
        raise DataError(f"{card.id}: no config with a `layout` to export; the card must describe the files first")
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
                shards = _shards(builder.cache_dir, builder.dataset_name, split)
                if not shards:  # pragma: no cover - datasets changed its file names
                    raise RuntimeError(f"no Parquet file for split {split!r} in {builder.cache_dir}")
                dest = tmp / "data" / cfg.name
                dest.mkdir(parents=True, exist_ok=True)
                for k, shard in enumerate(shards):
                    target = dest / f"{split}-{k:05d}-of-{len(shards):05d}.parquet"
                    os.replace(shard, target)
                    parquet_bytes += target.stat().st_size
                    result.files.append(folder / target.relative_to(tmp))
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
    card: Card, out: str | os.PathLike[str], *, configs: list[str] | None = None, per_class: int | None = None
) -> ExportResult:
    """Synthesize a fixture of every (or the named) loadable config and export it, marked synthetic."""
    from covidct.fixtures import synthesize

    loadable = [c for c in card.loadable_configs if not configs or c.name in configs]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".covidct-fixture-", dir=out) as work, warnings.catch_warnings():
        # a fixture holds a few examples per class: the count warnings against the card are expected
        warnings.filterwarnings("ignore", message=".*card counts.*")
        warnings.filterwarnings("ignore", message=".*differ from the card.*")
        dirs: dict[str, str | os.PathLike[str]] = {}
        for cfg in loadable:
            target = Path(work) / cfg.name
            synthesize(card, cfg, target, per_class=per_class)
            dirs[cfg.name] = target
        return export(card, dirs, out, configs=[c.name for c in loadable] or configs, synthetic=True)
