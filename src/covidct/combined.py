"""``covidct.combine`` (this module is ``covidct.combined``): datasets as one ``DatasetDict``, labels harmonised.

>>> import covidct
>>> ds = covidct.combine(["cncb", "covid-ct", "covid-ctset"], target="covid-pneumonia-ct",
...                      data_dirs={"cncb": "~/data/cncb", "covid-ct": "~/data/covid-ct",
...                                 "covid-ctset": "~/data/covid-ctset"},
...                      split_by="patient", test_size=0.2, seed=0)                     # doctest: +SKIP

Each source is loaded from its card (:func:`covidct.load_dataset`), its class label is mapped onto the
target's classes (:mod:`covidct.targets`), and the rows are pooled with these columns:

- ``image``; ``source`` (the card id); ``label``: a ``ClassLabel`` of the target's classes, ``None`` where
  the source class maps onto none (e.g. COVID-CT's NonCOVID, which mixes normal scans and other disease);
- ``original_label`` (the source's own class name, always kept) and ``original_split``;
- ``patient_id``, namespaced by source (``cncb:123``): ids of different datasets never collide;
- ``path`` (the example's file, relative to its source's data folder).

An example that a source lists in several splits (the five folds of COVID-CTset) is kept once. The
pooled rows are split at random into ``train`` and ``test`` by patient (``split_by="patient"``; or
``"scan"``, ``"example"``), so one patient never lands in two splits; ``test_size`` is the fraction of
groups in ``test``. Sources' official splits are kept in ``original_split`` only. A source that gives no
patient ids (COVID-CT) has each example split on its own, with a warning: only fingerprint manifests can
then keep its duplicates together.

``manifests`` (fingerprint manifests, from ``covidct fingerprint``) adds one more rule: examples whose
images are duplicates or near duplicates, within a source or across sources, are grouped like one
patient, so no duplicate crosses the split. Reading them needs the fingerprint package; without it,
passing manifests is an error, never silently ignored.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Mapping as MappingT
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from covidct.card.model import Card, Config, LabelDef
from covidct.targets import ClassMapping, MappingError, Target, class_label, load_target, map_classes

COLUMNS = ("image", "source", "label", "original_label", "original_split", "patient_id", "path")
SPLIT_BY = ("patient", "scan", "example")


@dataclass
class SourcePlan:
    """One source of a combination: its card, config, label and where each of its classes goes."""

    card: Card
    config: Config
    label: LabelDef
    mapping: list[ClassMapping]
    data_dir: str | os.PathLike[str] | None = None

    def lines(self, target: Target) -> list[str]:
        names = target.names()
        out = [f"{self.card.id}/{self.config.name} label {self.label.name!r}:"]
        for m in self.mapping:
            where = names[m.target] if m.target is not None else "None"
            pred = f" ({m.predicate.value}, {m.how})" if m.predicate else f" ({m.how})"
            out.append(f"  {m.original} -> {where}{pred}")
        return out


@dataclass
class Combination:
    target: Target
    sources: list[SourcePlan] = field(default_factory=list)

    def report(self) -> str:
        return "\n".join(line for s in self.sources for line in s.lines(self.target))


def plan(refs: Sequence[str], target: str | Target, *, configs: MappingT[str, str] | None = None,
         labels: MappingT[str, str] | None = None, cards_dir: str | os.PathLike[str] | None = None) -> Combination:
    """Which config and label of each source, and where each class goes (no data is read).

    A card with several configs that fit the target (COVID-CTset's 2D `folds` and 3D `full-scans`) takes
    the one whose dimensionality the other sources share, since the pooled rows have one image column;
    sources of different dimensionality are refused.
    """
    from covidct.registry import registry

    reg = registry(cards_dir)
    tgt = target if isinstance(target, Target) else load_target(target, cards_dir)
    combo = Combination(tgt)
    seen: set[str] = set()
    found: list[tuple[Card, list[_Fit]]] = []
    for ref in refs:
        card = reg.get(ref)
        if card.id in seen:
            raise MappingError(f"{card.id} is named twice")
        seen.add(card.id)
        if not {m.value for m in card.modality} & {m.value for m in tgt.modality}:
            raise MappingError(f"{card.id} is {', '.join(m.value for m in card.modality)}; target {tgt.id} is for "
                               f"{', '.join(m.value for m in tgt.modality)}")
        found.append((card, _fits(card, tgt, (configs or {}).get(card.id), (labels or {}).get(card.id))))
    settled = {fits[0][0].dimensionality for _, fits in found if len(fits) == 1}
    for card, fits in found:
        if len(fits) > 1 and len(settled) == 1:
            fits = [f for f in fits if f[0].dimensionality in settled] or fits
        if len(fits) > 1:
            raise MappingError(f"{card.id}: configs {[c.name for c, _, _ in fits]} all map onto {tgt.id}; choose "
                               f"one (configs={{{card.id!r}: ...}} or --config {card.id}=NAME)")
        combo.sources.append(SourcePlan(card, *fits[0]))
    dims = sorted({str(s.config.dimensionality.value) for s in combo.sources})
    if len(dims) > 1:
        raise MappingError(f"the sources mix {' and '.join(dims)} examples ("
                           + ", ".join(f"{s.card.id}/{s.config.name}" for s in combo.sources)
                           + "); one combined dataset has one kind of image: choose configs of one kind")
    return combo


_Fit = tuple[Config, LabelDef, list[ClassMapping]]


def _fits(card: Card, tgt: Target, config: str | None, label: str | None) -> list[_Fit]:
    """The configs of ``card`` (``config`` alone when given) whose class label maps onto ``tgt``."""
    if config is not None:
        try:
            cands = [card.config(config)]
        except KeyError as exc:
            raise MappingError(str(exc.args[0])) from None
    else:
        cands = card.loadable_configs
    found: list[_Fit] = []
    errors = []
    for cfg in cands:
        try:
            lab = class_label(card, cfg, label)
        except MappingError as exc:
            errors.append(str(exc))
            continue
        mapping = map_classes(tgt, card, cfg, lab)
        if any(m.target is not None for m in mapping):
            found.append((cfg, lab, mapping))
    if found and config is not None:
        return found[:1]
    if not found:
        why = "; ".join(errors) or "no class maps onto a target class"
        raise MappingError(f"{card.id}: no loadable config has a class label that maps onto target {tgt.id} ({why})")
    return found


def combine(
    refs: Sequence[str],
    target: str | Target,
    data_dirs: MappingT[str, str | os.PathLike[str]] | None = None,
    *,
    split_by: str = "patient",
    test_size: float = 0.2,
    seed: int = 0,
    configs: MappingT[str, str] | None = None,
    labels: MappingT[str, str] | None = None,
    manifests: Sequence[str | os.PathLike[str]] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    cards_dir: str | os.PathLike[str] | None = None,
) -> Any:
    """Load ``refs`` (card ids, names or aliases) and return one ``DatasetDict`` (see the module doc).

    ``data_dirs`` maps a card id to its data folder (a source without one is downloaded as its card says);
    ``configs`` and ``labels`` choose a config or label where a card has several that fit the target.
    """
    from covidct.extras import require

    require("datasets", "hf")
    if split_by not in SPLIT_BY:
        raise MappingError(f"split_by must be one of {', '.join(SPLIT_BY)}, not {split_by!r}")
    if not 0 < test_size < 1:
        raise MappingError(f"test_size must be between 0 and 1 (a fraction of the {split_by}s), not {test_size}")
    combo = plan(refs, target, configs=configs, labels=labels, cards_dir=cards_dir)
    dirs = _data_dirs(combo, data_dirs or {})
    links = duplicate_links(manifests, combo) if manifests else []
    parts = [_load_source(s, combo.target, dirs.get(s.card.id), cache_dir) for s in combo.sources]
    return _split(parts, combo, split_by, test_size, seed, links)


def _data_dirs(combo: Combination, given: MappingT[str, str | os.PathLike[str]]) -> dict[str, str]:
    from covidct.registry import registry

    out: dict[str, str] = {}
    ids = {s.card.id for s in combo.sources}
    for ref, d in given.items():
        cid = ref if ref in ids else registry().get(ref).id
        if cid not in ids:
            raise MappingError(f"a data folder is given for {ref!r}, which is not one of the sources {sorted(ids)}")
        out[cid] = os.path.expanduser(str(d))
    return out


def _load_source(src: SourcePlan, target: Target, data_dir: str | None, cache_dir: Any) -> tuple[Any, Any, dict]:
    """The source's image column (Arrow), its image feature, and the combined columns, each example once.

    Works on the Arrow tables directly: datasets' own select/concatenate copy the dataset info per call,
    which costs more than the columns themselves on small sources.
    """
    import pyarrow as pa

    from covidct.hf.builder import builder_for
    from covidct.hf.load import prepare

    dd = prepare(builder_for(src.card, src.config.name, data_dir=data_dir, cache_dir=cache_dir))
    splits = list(dd.keys())
    feats = dd[splits[0]].features
    missing = {"image", src.label.name, "path"} - set(feats)
    if missing:  # pragma: no cover - every loadable class config has them
        raise MappingError(f"{src.card.id}/{src.config.name} has no {sorted(missing)} column")
    names = feats[src.label.name].names
    to_target = {i: m.target for i, m in enumerate(src.mapping)}
    id_col = "patient_id" if "patient_id" in feats else None
    scan_col = "scan_id" if "scan_id" in feats else None
    meta: dict[str, list[Any]] = {k: [] for k in (*COLUMNS[1:], "scan_id")}
    images = []
    seen: set[str] = set()
    prefix = src.card.id + ":"
    for split in splits:
        table = dd[split].data.table
        cols = {c: table.column(c).to_pylist() for c in (src.label.name, "path", id_col, scan_col) if c}
        rows = []
        for i, (lab, path) in enumerate(zip(cols[src.label.name], cols["path"], strict=True)):
            if path in seen:
                continue  # listed in several splits (folds): one example
            seen.add(path)
            rows.append(i)
            meta["source"].append(src.card.id)
            meta["label"].append(to_target.get(lab) if lab is not None else None)
            meta["original_label"].append(names[lab] if lab is not None else None)
            meta["original_split"].append(split)
            pid = cols[id_col][i] if id_col else None
            meta["patient_id"].append(prefix + pid if pid is not None else None)
            sid = cols[scan_col][i] if scan_col else None
            meta["scan_id"].append(prefix + sid if sid is not None else None)
            meta["path"].append(path)
        column = table.column("image")
        images.append(column if len(rows) == len(column) else column.take(pa.array(rows, pa.int64())))
    return pa.chunked_array([c for im in images for c in im.chunks], type=images[0].type), feats["image"], meta


def _features(target: Target, image_feature: Any) -> Any:
    from datasets import ClassLabel, Features, Value

    return Features({"image": image_feature, "source": Value("string"), "label": ClassLabel(names=target.names()),
                     "original_label": Value("string"), "original_split": Value("string"),
                     "patient_id": Value("string"), "path": Value("string")})


def _split(parts: list[tuple[Any, Any, dict[str, list[Any]]]], combo: Combination, split_by: str, test_size: float,
           seed: int, links: list[tuple[tuple[str, str], tuple[str, str]]]) -> Any:
    import datasets
    import pyarrow as pa

    kinds = {repr(feat) for _, feat, _ in parts}
    if len(kinds) > 1 or len({im.type for im, _, _ in parts}) > 1:
        shown = ", ".join(f"{s.card.id}: {feat}" for s, (_, feat, _) in zip(combo.sources, parts, strict=True))
        raise MappingError(f"the sources' images differ in kind ({shown}); combine sources whose images load alike")
    meta: dict[str, list[Any]] = {k: [v for _, _, m in parts for v in m[k]] for k in (*COLUMNS[1:], "scan_id")}
    group = _groups(meta, split_by, links)
    order = sorted(set(group))
    random.Random(seed).shuffle(order)
    n_test = max(1, round(len(order) * test_size)) if len(order) > 1 else 0
    test_groups = set(order[:n_test])
    feats = _features(combo.target, parts[0][1])
    arrays = {"image": pa.chunked_array([c for im, _, _ in parts for c in im.chunks], type=parts[0][0].type)}
    for k in COLUMNS[1:]:
        arrays[k] = pa.array(meta[k], type=pa.int64() if k == "label" else pa.string())
    table = pa.table(arrays)
    info = datasets.DatasetInfo(features=feats)
    out = {}
    for name, keep in (("train", False), ("test", True)):
        idx = pa.array([i for i, g in enumerate(group) if (g in test_groups) is keep], pa.int64())
        part = table.take(idx).cast(feats.arrow_schema)
        out[name] = datasets.Dataset(datasets.table.InMemoryTable(part), info=info.copy(), split=name)
    return datasets.DatasetDict(out)


def _groups(meta: dict[str, list[Any]], split_by: str, links: list[tuple[tuple[str, str], tuple[str, str]]]
            ) -> list[int]:
    """A group number per row: rows of one group (patient, scan or example; and linked duplicates) share a split."""
    keys = meta["patient_id"] if split_by == "patient" else meta["scan_id"] if split_by == "scan" else None
    n = len(meta["path"])
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    first: dict[str, int] = {}
    if keys is not None:
        blind = sorted({meta["source"][i] for i, k in enumerate(keys) if k is None})
        if blind:
            import warnings

            warnings.warn(f"{', '.join(blind)} give(s) no {split_by} id for some examples: those are split one by "
                          f"one, so images of one {split_by} may land in both splits (give fingerprint manifests "
                          "to keep duplicates together)", stacklevel=3)
        for i, k in enumerate(keys):
            union(first.setdefault(k if k is not None else f"\0{meta['source'][i]}:{meta['path'][i]}", i), i)
    if links:
        row = {(s, p): i for i, (s, p) in enumerate(zip(meta["source"], meta["path"], strict=True))}
        for a, b in links:
            if a in row and b in row:
                union(row[a], row[b])
    return [find(i) for i in range(n)]


def duplicate_links(manifests: Sequence[str | os.PathLike[str]], combo: Combination
                    ) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """Pairs of ``(card id, example path)`` whose images are duplicates, read from fingerprint manifests.

    The one place that knows the fingerprint package: it groups the manifests' rows (same file, same
    pixels, near duplicates) and links the examples of the combined sources that fall into one group.
    """
    try:
        from covidct.fingerprint.overlaps import DEFAULT_NEAR, duplicate_groups, load_rows
    except ImportError:
        raise MappingError("fingerprint manifests need covidct's fingerprint package (`covidct fingerprint`), "
                           "which this installation lacks") from None
    rows = load_rows(manifests)
    groups = duplicate_groups(rows, DEFAULT_NEAR).tolist()
    ids = {s.card.id for s in combo.sources}
    examples = rows.cols["example"]
    heads: dict[int, tuple[str, str]] = {}
    links = []
    for i, (g, m) in enumerate(zip(groups, rows.manifest.tolist(), strict=True)):
        info = rows.infos[m]
        if info.card not in ids or examples[i] is None:
            continue
        me = (info.card, examples[i])
        head = heads.setdefault(g, me)
        if head != me:
            links.append((head, me))
    return links




# ------------------------------------------------------------------------------------------ export

_TERMS = (("nd", 8), ("nc", 4), ("sa", 2), ("by", 1))
_OPEN = {"cc0-1.0", "pddl-1.0", "odc-by-1.0", "mit", "apache-2.0", "bsd-3-clause", "cdla-permissive-2.0"}


def restrictiveness(card: Card) -> tuple[int, str]:
    """How restrictive a card's license is, for choosing the one that governs a combination.

    Creative Commons terms add up (no-derivatives 8, non-commercial 4, share-alike 2, attribution 1);
    permissive licenses count 0; custom (`other`) terms that name no such term, and unknown ones, count 16:
    whoever cannot read the terms must treat them as the strictest.
    """
    lic = card.license
    text = f"{lic.id} {lic.name or ''}".lower()
    if lic.id.lower() in _OPEN:
        return 0, lic.id
    tokens = set(re.split(r"[^a-z]+", text))
    score = sum(v for k, v in _TERMS if k in tokens)
    if lic.id in ("other", "unknown") and not score:
        score = 16
    return score, lic.id


def governing_license(cards: Sequence[Card]) -> Card:
    """The card whose license governs the combination (the most restrictive; ties: the first)."""
    return max(cards, key=lambda c: restrictiveness(c)[0])


def export_combined(ds: Any, combo: Combination, out: str | os.PathLike[str], *, name: str | None = None,
                    allow_unknown_license: bool = False) -> Path:
    """Write ``ds`` as a Parquet folder (images embedded) with a README, behind export's license gate.

    Every source must allow redistribution (:func:`covidct.hf.export.check_redistribution`, the same gate as
    ``covidct export``); the README's license is the most restrictive source's, and it lists each source's
    license and citation.
    """
    import datasets
    from datasets.table import embed_table_storage

    from covidct.fsutil import atomic_dir, atomic_write_text
    check_export(combo, allow_unknown_license=allow_unknown_license)
    folder = Path(out) / (name or f"combined-{combo.target.id}")
    with atomic_dir(folder) as tmp:
        data_files = []
        for split, d in ds.items():
            dest = tmp / "data" / f"{split}-00000-of-00001.parquet"
            dest.parent.mkdir(parents=True, exist_ok=True)
            embedded = d.with_format("arrow").map(embed_table_storage, batched=True, load_from_cache_file=False)
            datasets.Dataset.to_parquet(embedded.with_format(None), str(dest))
            data_files.append({"split": split, "path": f"data/{split}-*"})
        atomic_write_text(tmp / "README.md", combined_readme(ds, combo, data_files))
    return folder


def check_export(combo: Combination, *, allow_unknown_license: bool = False) -> None:
    """Export's license gate on every source (raises ``ExportRefused`` naming the first that forbids copies)."""
    from covidct.hf.export import check_redistribution

    for s in combo.sources:
        check_redistribution(s.card, allow_unknown_license=allow_unknown_license)


def combined_readme(ds: Any, combo: Combination, data_files: list[dict[str, str]]) -> str:
    from covidct.hf.readme import dump_front_matter, hub_license, md_fence, md_inline, md_link, md_table

    gov = governing_license([s.card for s in combo.sources])
    fm: dict[str, Any] = {**hub_license(gov), "pretty_name": f"Combined: {combo.target.name}",
                          "tags": ["covidct", "combined", combo.target.id],
                          "configs": [{"config_name": "default", "data_files": data_files}]}
    names = combo.target.names()
    counts = [[md_inline(split), *[str(sum(1 for v in d["label"] if v == k)) for k in range(len(names))],
               str(sum(1 for v in d["label"] if v is None))] for split, d in ds.items()]
    lines = [
        f"# {md_inline(combo.target.name)}",
        "",
        f"Made with `covidct combine` from {len(combo.sources)} datasets, labels mapped onto the target "
        f"{md_inline(combo.target.id)}; `original_label` keeps each source's own class, `label` is empty where "
        "a source class maps onto none. Patients (and duplicates, when fingerprint manifests were given) never "
        "cross the train/test split.",
        "",
        "## Labels",
        "",
        md_table(["Split", *[md_inline(n) for n in names], "None"], counts),
        "",
        "## Sources, their licenses and citations",
        "",
        f"The most restrictive license governs the whole: **{md_inline(gov.license.name or gov.license.id)}** "
        f"(from {md_inline(gov.id)}).",
        "",
    ]
    rows = []
    for s in combo.sources:
        c = s.card
        lic = md_link(c.license.name or c.license.id, c.license.url)
        cit = (c.citation.text or (f"doi:{c.citation.doi}" if c.citation.doi else "")) if c.citation else ""
        rows.append([md_inline(c.id), md_inline(s.config.name), lic, md_inline(cit or c.name)])
    lines += [md_table(["Source", "Config", "License", "Citation"], rows), "", "## Class mapping", ""]
    lines += [md_fence(combo.report(), "text"), ""]
    return dump_front_matter(fm) + "\n" + "\n".join(lines)


__all__ = ["Combination", "SourcePlan", "combine", "duplicate_links", "export_combined", "governing_license", "plan",
           "restrictiveness"]
