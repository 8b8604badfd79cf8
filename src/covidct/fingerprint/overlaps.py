"""Duplicates between manifests, and across the splits of one manifest.

Every manifest row belongs to a *side*: its manifest and its split. Two rows on different sides (two
manifests, or two splits of one manifest) are compared; rows on the same side are not (a duplicate
inside one training split leaks nothing). Kinds, strongest first; a pair is reported under the
strongest image kind only:

- ``file``: the same SHA-256 of the file;
- ``pixels``: the same decoded pixels (:func:`covidct.fingerprint.hashing.pixel_sha256`), another file;
- ``near``: perceptual hashes within ``near`` bits (Hamming distance, of 256), other pixels;
- ``uid``: the same DICOM SOP Instance UID, other pixels;
- ``patient``: the same patient id (the card's, or DICOM PatientID) on two sides; one record per id.

Near pairs are found without comparing all pairs: multi-index hashing splits each 256-bit hash into
16 blocks of 16 bits; two hashes within ``K`` bits differ by more than ``r = K // 16`` bits in at most
``K // (r + 1)`` blocks, so they agree within ``r`` bits on at least one of any ``K // (r + 1) + 1``
blocks (pigeonhole): only those blocks are indexed, and only rows whose block is that close are compared
in full (:func:`probed_blocks`). This is exact: every pair within ``K`` is found.

JSON (``covidct overlaps --manifest A --manifest B --format json``, also ``covidct leakage``)::

    {"near": 24, "bits": 256,
     "manifests": [{"name": "cncb/classification", "file": "cncb.parquet", "card": "cncb",
                    "config": "classification", "folder": null, "rows": 1200, "errors": 0,
                    "complete": true, "splits": {"train": 900, "test": 300}}, ...],
     "summaries": [{"scope": "manifests" | "splits",
                    "a": {"manifest": "cncb/classification"[, "split": "test"]}, "b": {...},
                    "file": 3, "pixels": 0, "near": 12, "uid": 0, "patient": 1,
                    "shared_series": 0, "shared_studies": 0, "images_a": 14, "images_b": 15}, ...],
     "pairs": [{"a": {"manifest": ..., "path": "covid/1.png", "frame": 0, "split": ..., "example": ...,
                      "patient": ..., "patient_id": ..., "sop_uid": ...},
                "b": {...}, "kind": "file" | "pixels" | "near" | "uid", "distance": 0..47 | null},
               {"a": {"manifest": ..., "patient": "P002", "images": 133, "split": ...}, "b": {...},
                "kind": "patient", "distance": null}, ...],
     "pairs_total": 16, "truncated": false}

``summaries`` has one entry per pair of manifests (all their splits together) and one per pair of
splits inside each manifest; ``images_a``/``images_b`` count the images of each side with at least
one image-level duplicate on the other. ``pairs`` lists at most ``--limit`` records (``truncated``
says when there were more; the summaries always count them all). ``distance`` is the Hamming
distance for ``near``, 0 for ``file`` and ``pixels``, null for ``uid`` and ``patient``. Fields that a
manifest does not have (a folder has no splits or examples) are left out of ``a``/``b``.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from covidct.errors import CovidctError
from covidct.fingerprint import DEFAULT_NEAR
from covidct.fingerprint.hashing import PHASH_BITS

KINDS = ("file", "pixels", "near", "uid", "patient")
MAX_NEAR = 47  # K // 16 <= 2: at most 137 probes per block
BLOCKS = 16
QUERY_CHUNK = 4096
MAX_CANDIDATES = 400_000_000  # stop a pathological cluster (thousands of near-identical blank slices)


class OverlapError(CovidctError):
    pass


# ------------------------------------------------------------------------------------------ rows


@dataclass
class Rows:
    """The rows of several manifests side by side, as arrays (errors left out)."""

    names: list[str]
    manifest: Any  # int32 per row
    side: Any  # int32 per row: index into ``sides``
    sides: list[tuple[int, str | None]]  # (manifest, split)
    cols: dict[str, Any]  # column name → numpy object array (path, frame, split, patient, ...)
    phash: Any  # (n, 32) uint8
    errors: list[int]  # unreadable rows per manifest
    infos: list[Any]
    files: list[str]

    @property
    def n(self) -> int:
        return len(self.side)

    def describe(self, i: int) -> dict[str, Any]:
        c = self.cols
        out: dict[str, Any] = {"manifest": self.names[int(self.manifest[i])], "path": c["path"][i]}
        for k in ("frame", "split", "example", "patient", "patient_id", "sop_uid"):
            v = c[k][i]
            if v is not None and v == v:  # not None / NaN
                out[k] = int(v) if k == "frame" else v
        return out


def load_rows(paths: Sequence[str | os.PathLike[str]]) -> Rows:
    import numpy as np
    import pyarrow.compute as pc

    from covidct.fingerprint.manifest import read_manifest

    names: list[str] = []
    parts, infos, errors = [], [], []
    for p in paths:
        table, info = read_manifest(p)
        name = info.name
        while name in names:  # two folders named alike: tell them apart by file name
            name = f"{name} ({os.path.basename(os.fspath(p))})"
        names.append(name)
        infos.append(info)
        err = pc.is_valid(table.column("error"))
        usable = pc.and_(pc.and_(pc.is_valid(table.column("phash")), pc.is_valid(table.column("sha256"))),
                         pc.is_valid(table.column("pixel_sha256")))
        ok = pc.and_(pc.invert(err), usable)
        errors.append(table.num_rows - int(pc.sum(ok.cast("int64")).as_py() or 0))
        parts.append(table.filter(ok))
    keep = ("path", "frame", "split", "example", "patient", "patient_id", "study_uid", "series_uid", "sop_uid",
            "sha256", "pixel_sha256")
    cols: dict[str, list[Any]] = {k: [] for k in keep}
    manifest, phash = [], []
    for mi, t in enumerate(parts):
        for k in keep:
            cols[k].append(t.column(k).to_numpy(zero_copy_only=False))
        manifest.append(np.full(t.num_rows, mi, np.int32))
        flat = t.column("phash").combine_chunks()
        buf = np.frombuffer(flat.buffers()[1], np.uint8)[flat.offset * 32:(flat.offset + len(flat)) * 32]
        phash.append(buf.reshape(-1, 32))
    arrays = {k: (np.concatenate(v) if v else np.array([], object)) for k, v in cols.items()}
    man = np.concatenate(manifest) if manifest else np.array([], np.int32)
    split_codes, split_names = _factorize(arrays["split"])  # -1: no split
    combined = man.astype(np.int64) * (len(split_names) + 1) + split_codes + 1
    side_codes, firsts = _factorize(combined)
    side = side_codes.astype(np.int32)
    sides: list[tuple[int, str | None]] = []
    for value in firsts.tolist():
        m, code = divmod(int(value), len(split_names) + 1)
        sides.append((m, None if code == 0 else str(split_names[code - 1])))
    ph = np.concatenate(phash) if phash else np.zeros((0, 32), np.uint8)
    return Rows(names, man, side, sides, arrays, ph, errors, infos, [os.fspath(p) for p in paths])


def _factorize(values: Any) -> tuple[Any, Any]:
    """Codes in order of first appearance (-1 for missing values) and the distinct values."""
    import pandas as pd

    codes, uniques = pd.factorize(pd.Series(values), use_na_sentinel=True)
    return codes, uniques


def _codes(values: Any) -> Any:
    """Integer codes of a column, -1 for missing values."""
    import pandas as pd

    codes, _ = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    return codes


# ------------------------------------------------------------------------------------------ near search


def popcount(x: Any) -> Any:
    """Set bits per row of a (n, words) uint64 array, as int32 (numpy >= 2 has a ufunc; older ones a table)."""
    import numpy as np

    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x).sum(axis=1, dtype=np.int32)
    table = np.array([bin(v).count("1") for v in range(256)], np.uint8)
    return table[np.ascontiguousarray(x).view(np.uint8)].reshape(len(x), -1).sum(axis=1, dtype=np.int32)


def _words(ph: Any) -> Any:
    import numpy as np

    return np.ascontiguousarray(ph).view(">u8").astype(np.uint64)


def _variants(r: int) -> Any:
    import numpy as np

    masks = [0]
    for k in range(1, r + 1):
        for bits in combinations(range(16), k):
            masks.append(sum(1 << b for b in bits))
    return np.array(masks, np.uint16)


def _popcount1(x: Any) -> Any:
    import numpy as np

    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x)
    return popcount(x.reshape(-1, 1))


_CTX: dict[str, Any] = {}  # the arrays of the running search, inherited by forked workers
PARALLEL_MIN = 20_000  # fewer query rows are searched in this process


def near_pairs(ph_q: Any, ph_i: Any, k: int, *, self_join: bool = False, jobs: int = 1) -> tuple[Any, Any, Any]:
    """All (query row, index row, distance) with Hamming distance <= ``k`` (multi-index hashing).

    ``self_join``: ``ph_q`` is ``ph_i``; each unordered pair once, no row with itself. Each of the 16
    blocks of the index rows is bucketed by value (a counting sort: the rows holding a value are found
    by two array lookups, no search); the candidates of a query are the rows in the buckets of its
    blocks' values within ``k // 16`` bits. A candidate is first checked on one 64-bit word (its
    distance there cannot exceed the whole distance), then on all four. ``jobs`` > 1 splits the query
    rows between that many forked processes (Linux), which share the index.
    """
    import numpy as np

    if not 0 <= k <= MAX_NEAR:
        raise OverlapError(f"--near must be between 0 and {MAX_NEAR} bits (of {PHASH_BITS}), not {k}")
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32))
    if len(ph_q) == 0 or len(ph_i) == 0:
        return empty
    bi = np.ascontiguousarray(ph_i).view(">u2").astype(np.uint16)  # uint16: argsort is a radix sort
    wq, wi = _words(ph_q), _words(ph_i)
    index = []
    for j in range(probed_blocks(k)):
        col = np.ascontiguousarray(bi[:, j])
        order = np.argsort(col, kind="stable")
        starts = np.zeros(65537, np.int64)
        np.cumsum(np.bincount(col, minlength=65536), out=starts[1:])
        index.append((order, starts))
    _CTX.update(bq=np.ascontiguousarray(ph_q).view(">u2").astype(np.int64), wq=wq, wi=wi, n_i=len(bi),
                w0q=np.ascontiguousarray(wq[:, 0]), w0i=np.ascontiguousarray(wi[:, 0]), index=index, k=k,
                masks=_variants(k // BLOCKS).astype(np.int64), self_join=self_join)
    n = len(ph_q)
    try:
        if jobs > 1 and n >= PARALLEL_MIN and sys.platform == "linux":
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            step = -(-n // (jobs * 4))
            ranges = [(a, min(a + step, n)) for a in range(0, n, step)]
            with ProcessPoolExecutor(jobs, mp_context=mp.get_context("fork")) as ex:
                parts = list(ex.map(_search_range, ranges))
        else:
            parts = [_search_range((0, n))]
    finally:
        _CTX.clear()
    parts = [p for p in parts if len(p[0])]
    if not parts:
        return empty
    fq = np.concatenate([p[0] for p in parts])
    fi = np.concatenate([p[1] for p in parts])
    return fq, fi, popcount(wq[fq] ^ wi[fi])


def probed_blocks(k: int) -> int:
    """How many of the 16 blocks must be searched, within ``k // 16`` bits each, to find every pair within ``k``.

    A pair within ``k`` bits has at most ``k // (r + 1)`` blocks that differ by more than ``r`` bits, so
    any ``k // (r + 1) + 1`` blocks hold one that differs by ``r`` or fewer: 13 blocks at the default
    ``k`` = 24 (not 16: a fifth less work), all 16 at 47.
    """
    r = k // BLOCKS
    return min(BLOCKS, k // (r + 1) + 1)


def _search_range(bounds: tuple[int, int]) -> tuple[Any, Any]:
    """The pairs of query rows ``start..end`` (see :func:`near_pairs`; arrays in :data:`_CTX`)."""
    import numpy as np

    c = _CTX
    bq, wq, wi, w0q, w0i, index, k, masks = (c[x] for x in ("bq", "wq", "wi", "w0q", "w0i", "index", "k", "masks"))
    out_q, out_i = [], []
    budget = MAX_CANDIDATES
    nm = len(masks)
    first, last = bounds
    for start in range(first, last, QUERY_CHUNK):
        q = np.arange(start, min(start + QUERY_CHUNK, last))
        found_q, found_i = [], []
        w0_keys = np.repeat(w0q[q], nm)  # the query's first word, once per probed key
        for j, (order, starts) in enumerate(index):
            keys = (bq[q, j][:, None] ^ masks[None, :]).ravel()
            lo = starts[keys]
            cnt = starts[keys + 1] - lo
            total = int(cnt.sum())
            if total == 0:
                continue
            budget -= total
            if budget < 0:
                raise OverlapError(
                    f"more than {MAX_CANDIDATES:,} candidate pairs: a very large group of near-identical images "
                    f"(blank or uniform slices?); lower --near or drop such images from the manifests")
            ends = np.cumsum(cnt)
            ii = order[np.arange(total) - np.repeat(ends - cnt - lo, cnt)]
            # the one-word prefilter first, on every candidate; the query row only for the survivors
            hit = np.flatnonzero(_popcount1(np.repeat(w0_keys, cnt) ^ w0i[ii]) <= k)
            if len(hit) == 0:
                continue
            qq = q[np.searchsorted(ends, hit, "right") // nm]
            ii = ii[hit]
            keep = popcount(wq[qq] ^ wi[ii]) <= k
            if c["self_join"]:
                keep &= qq < ii
            found_q.append(qq[keep])
            found_i.append(ii[keep])
        if found_q:
            fq, fi = np.concatenate(found_q), np.concatenate(found_i)
            if len(fq):
                key = np.unique(fq * c["n_i"] + fi)  # a pair may agree on several blocks
                out_q.append(key // c["n_i"])
                out_i.append(key % c["n_i"])
    if not out_q:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(out_q), np.concatenate(out_i)


# ------------------------------------------------------------------------------------------ report


@dataclass
class Summary:
    """The duplicates between two sides: two manifests (``split`` None: all splits), or two splits of one."""

    a: str
    b: str
    split_a: str | None
    split_b: str | None
    scope: str  # "manifests" or "splits"
    counts: Counter[str] = field(default_factory=Counter)
    series: int = 0
    study: int = 0
    rows_a: set[int] = field(default_factory=set)
    rows_b: set[int] = field(default_factory=set)
    patients: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "a": {"manifest": self.a, **({"split": self.split_a} if self.scope == "splits" else {})},
            "b": {"manifest": self.b, **({"split": self.split_b} if self.scope == "splits" else {})},
            **{k: self.counts.get(k, 0) for k in KINDS},
            "shared_series": self.series,
            "shared_studies": self.study,
            "images_a": len(self.rows_a),
            "images_b": len(self.rows_b),
        }

    @property
    def title(self) -> str:
        if self.scope == "splits":
            return f"{self.a}: split {self.split_a} vs split {self.split_b}"
        return f"{self.a} vs {self.b}"

    @property
    def any(self) -> bool:
        return any(self.counts.values()) or self.series > 0 or self.study > 0


@dataclass
class Pair:
    a: dict[str, Any]
    b: dict[str, Any]
    kind: str
    distance: int | None

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "kind": self.kind, "distance": self.distance}


@dataclass
class Report:
    rows: Rows
    near: int
    summaries: list[Summary]
    pairs: list[Pair]
    limit: int
    total_pairs: int = 0

    @property
    def truncated(self) -> bool:
        return self.total_pairs > len(self.pairs)

    def to_json(self) -> dict[str, Any]:
        r = self.rows
        manifests = []
        for i, name in enumerate(r.names):
            info = r.infos[i]
            splits = Counter(s for (m, s) in [r.sides[x] for x in r.side[r.manifest == i]])
            manifests.append({"name": name, "file": r.files[i], "card": info.card, "config": info.config,
                              "folder": info.folder, "rows": int((r.manifest == i).sum()), "errors": r.errors[i],
                              "complete": info.complete, "splits": {str(k): v for k, v in splits.items()}})
        return {"near": self.near, "bits": PHASH_BITS, "manifests": manifests,
                "summaries": [s.to_json() for s in self.summaries],
                "pairs": [p.to_json() for p in self.pairs],
                "pairs_total": self.total_pairs, "truncated": self.truncated}


def _summary_key(rows: Rows, sa: int, sb: int) -> tuple[int, int, str | None, str | None]:
    (ma, xa), (mb, xb) = rows.sides[sa], rows.sides[sb]
    if ma == mb:
        xa, xb = sorted((xa, xb), key=lambda s: (s is None, str(s)))
        return (ma, mb, xa, xb)
    if ma > mb:
        ma, mb = mb, ma
    return (ma, mb, None, None)


class _Collector:
    def __init__(self, rows: Rows, limit: int):
        self.rows = rows
        self.limit = limit
        self.summaries: dict[tuple[int, int, str | None, str | None], Summary] = {}
        self.pairs: list[Pair] = []
        self.total = 0

    def summary(self, sa: int, sb: int) -> tuple[Summary, bool]:
        """The summary of the two sides, and whether side ``sa`` is its ``a``."""
        key = _summary_key(self.rows, sa, sb)
        s = self.summaries.get(key)
        if s is None:
            ma, mb, xa, xb = key
            s = Summary(self.rows.names[ma], self.rows.names[mb], xa, xb, "splits" if ma == mb else "manifests")
            self.summaries[key] = s
        ma, xa = self.rows.sides[sa]
        first = ma == key[0] and (key[0] != key[1] or xa == key[2])
        return s, first

    def add(self, i: int, j: int, kind: str, distance: int | None) -> None:
        r = self.rows
        s, first = self.summary(int(r.side[i]), int(r.side[j]))
        if not first:
            i, j = j, i
        s.counts[kind] += 1
        s.rows_a.add(int(i))
        s.rows_b.add(int(j))
        self.total += 1
        if len(self.pairs) < self.limit:
            self.pairs.append(Pair(r.describe(i), r.describe(j), kind, distance))

    def add_block(self, a: Any, b: Any, kind: str, distance: int, exclude: Any) -> None:
        """All pairs of rows ``a`` x ``b`` (two sides, one hash each): counted, a few listed."""
        self._add_pairs(a, b, int(self.rows.side[a[0]]), int(self.rows.side[b[0]]), kind, distance, exclude)

    def add_group(self, members: Any, kind: str, exclude: Any | None) -> None:
        """A large group of rows with one hash: pairs counted per pair of sides; a few listed."""
        import numpy as np

        side = self.rows.side[members]
        for sa, sb in combinations(np.unique(side).tolist(), 2):
            self._add_pairs(members[side == sa], members[side == sb], sa, sb, kind,
                            0 if kind != "uid" else None, exclude)

    def _add_pairs(self, a: Any, b: Any, sa: int, sb: int, kind: str, distance: int | None,
                   exclude: Any | None) -> None:
        """Count the pairs ``a`` x ``b`` of sides ``sa``, ``sb`` (less those ``exclude`` puts in one group)."""
        n = len(a) * len(b)
        if exclude is not None:
            ca, cb = Counter(exclude[a].tolist()), Counter(exclude[b].tolist())
            n -= sum(k * cb[code] for code, k in ca.items() if code >= 0)
        if n <= 0:
            return
        s, first = self.summary(sa, sb)
        if not first:
            a, b = b, a
        s.counts[kind] += n
        s.rows_a.update(a.tolist())
        s.rows_b.update(b.tolist())
        self.total += n
        for i, j in zip(a[:3].tolist(), b[:3].tolist(), strict=False):
            if len(self.pairs) < self.limit and (exclude is None or exclude[i] != exclude[j] or exclude[i] < 0):
                self.pairs.append(Pair(self.rows.describe(i), self.rows.describe(j), kind, distance))


EXPLICIT_GROUP = 2000  # larger groups of pairs (identical hashes) are counted per pair of sides, not listed


def _exact(c: _Collector, kind: str, col: Any, exclude: Any | None) -> None:
    """Record the pairs of rows on different sides with the same code in ``col`` (and, with ``exclude``,
    different codes there: the pair is not already a stronger kind)."""
    import numpy as np

    side = c.rows.side
    idx = np.nonzero(col >= 0)[0]
    if len(idx) == 0:
        return
    order = idx[np.argsort(col[idx], kind="stable")]
    vals = col[order]
    starts = np.nonzero(np.r_[True, vals[1:] != vals[:-1]])[0]
    ends = np.r_[starts[1:], len(order)]
    big = (ends - starts) > 1
    for a, b in zip(starts[big].tolist(), ends[big].tolist(), strict=True):
        members = order[a:b]
        if len(np.unique(side[members])) < 2:
            continue
        if len(members) > EXPLICIT_GROUP:
            c.add_group(members, kind, exclude)
            continue
        x, y = np.triu_indices(len(members), 1)
        i, j = members[x], members[y]
        keep = side[i] != side[j]
        if exclude is not None:
            keep &= (exclude[i] != exclude[j]) | (exclude[i] < 0)
        for p, q in zip(i[keep].tolist(), j[keep].tolist(), strict=True):
            c.add(p, q, kind, 0 if kind in ("file", "pixels") else None)


def find_overlaps(paths: Sequence[str | os.PathLike[str]], *, near: int = DEFAULT_NEAR, limit: int = 10_000,
                  jobs: int = 0) -> Report:
    """Every duplicate between the manifests ``paths`` and across the splits of each (see the module docstring)."""
    rows = load_rows(paths)
    if not 0 <= near <= MAX_NEAR:
        raise OverlapError(f"--near must be between 0 and {MAX_NEAR} bits (of {PHASH_BITS}), not {near}")
    col = rows.cols
    sha, pix, sop = _codes(col["sha256"]), _codes(col["pixel_sha256"]), _codes(col["sop_uid"])
    c = _Collector(rows, limit)
    for si, sj in combinations(range(len(rows.sides)), 2):  # every pair of sides gets a summary, even empty
        c.summary(si, sj)
    _exact(c, "file", sha, None)
    _exact(c, "pixels", pix, sha)
    _near(c, near, pix, jobs if jobs > 0 else (os.cpu_count() or 1))
    _exact(c, "uid", sop, pix)
    _shared_ids(rows, c)
    for key_col, attr in (("series_uid", "series"), ("study_uid", "study")):
        _shared_counts(rows, c, key_col, attr)
    order = sorted(c.summaries.values(), key=lambda s: (s.scope != "manifests", s.a, s.b, str(s.split_a),
                                                        str(s.split_b)))
    return Report(rows, near, order, c.pairs, limit, c.total)


def _groups_of_equal(ph: Any) -> tuple[Any, list[Any]]:
    """The distinct hashes of ``ph`` and, for each, the positions holding it (blank slices share one)."""
    import numpy as np

    flat = np.ascontiguousarray(ph).view("S32").ravel()  # fixed width: equal strings are equal hashes
    keys, inverse = np.unique(flat, return_inverse=True)
    inverse = inverse.ravel()
    uniq = keys.astype("S32").view(np.uint8).reshape(-1, 32)
    order = np.argsort(inverse, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(inverse, minlength=len(uniq)))]
    return uniq, [order[bounds[x]:bounds[x + 1]] for x in range(len(uniq))]


def _near(c: _Collector, k: int, pix: Any, jobs: int = 1) -> None:
    """Near pairs between every two sides. Each side is searched once against the rows of all later sides
    together, on distinct hashes only (a thousand identical blank slices cost one comparison); a large
    group of pairs is counted, not listed pair by pair."""
    import numpy as np

    rows = c.rows
    side = rows.side
    for s in range(len(rows.sides) - 1):
        mine, later = np.flatnonzero(side == s), np.flatnonzero(side > s)
        if len(mine) == 0 or len(later) == 0:
            continue
        qa, qmembers = _groups_of_equal(rows.phash[mine])
        ib, imembers = _groups_of_equal(rows.phash[later])
        q, i, d = near_pairs(qa, ib, k, jobs=jobs)
        for x, y, dist in zip(q.tolist(), i.tolist(), d.tolist(), strict=True):
            a, b_all = mine[qmembers[x]], later[imembers[y]]
            b_sides = side[b_all]
            for t in np.unique(b_sides).tolist():
                b = b_all[b_sides == t]
                if len(a) * len(b) > EXPLICIT_GROUP:
                    c.add_block(a, b, "near", dist, pix)
                    continue
                for r1 in a.tolist():
                    for r2 in b.tolist():
                        if pix[r1] != pix[r2] or pix[r1] < 0:
                            c.add(r1, r2, "near", dist)


def _shared_ids(rows: Rows, c: _Collector) -> None:
    """One ``patient`` record per id found on two sides (card patient ids and DICOM PatientIDs apart)."""
    for colname in ("patient", "patient_id"):
        for pid, sides in _on_several_sides(rows, colname).items():
            for sa, sb in combinations(sorted(sides), 2):
                s, first = c.summary(sa, sb)
                if not first:
                    sa, sb = sb, sa
                s.counts["patient"] += 1
                s.patients.append(pid)
                c.total += 1
                if len(c.pairs) < c.limit:
                    (ma, xa), (mb, xb) = rows.sides[sa], rows.sides[sb]
                    one = {"manifest": rows.names[ma], colname: pid, "images": sides[sa]}
                    two = {"manifest": rows.names[mb], colname: pid, "images": sides[sb]}
                    if xa is not None:
                        one["split"] = xa
                    if xb is not None:
                        two["split"] = xb
                    c.pairs.append(Pair(one, two, "patient", None))


def _on_several_sides(rows: Rows, colname: str) -> dict[str, Counter[int]]:
    """The values of a column found on two sides or more, with their row count per side."""
    import pandas as pd

    df = pd.DataFrame({"v": rows.cols[colname], "s": rows.side})
    df = df[df["v"].notna() & (df["v"] != "")]
    if df.empty:
        return {}
    n_sides = df.groupby("v", sort=False)["s"].nunique()
    several = df[df["v"].isin(n_sides.index[n_sides >= 2])]
    out: dict[str, Counter[int]] = {}
    for (value, side), n in several.groupby(["v", "s"], sort=True).size().items():
        out.setdefault(value, Counter())[int(side)] = int(n)
    return out


def _shared_counts(rows: Rows, c: _Collector, colname: str, attr: str) -> None:
    for sides in _on_several_sides(rows, colname).values():
        for sa, sb in combinations(sorted(sides), 2):
            s, _ = c.summary(sa, sb)
            setattr(s, attr, getattr(s, attr) + 1)


# ------------------------------------------------------------------------------------------ groups


def duplicate_groups(rows: Rows, near: int = DEFAULT_NEAR) -> Any:
    """A group id per row: rows linked by the same file, the same pixels, a near hash or a shared SOP
    Instance UID (on any side, transitively) share one."""
    import numpy as np

    n = rows.n
    parent = np.arange(n)

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    col = rows.cols
    for name in ("sha256", "pixel_sha256", "sop_uid"):
        codes = _codes(col[name])
        first: dict[int, int] = {}
        for i, code in enumerate(codes.tolist()):
            if code >= 0:
                if code in first:
                    union(first[code], i)
                else:
                    first[code] = i
    uniq, members = _groups_of_equal(rows.phash)
    for m in members:  # identical hashes: one group
        for x in m[1:].tolist():
            union(int(m[0]), x)
    q, i, _ = near_pairs(uniq, uniq, near, self_join=True)
    for a, b in zip(q.tolist(), i.tolist(), strict=True):
        union(int(members[a][0]), int(members[b][0]))
    return np.array([find(x) for x in range(n)], np.int64)


# ------------------------------------------------------------------------------------------ text


def format_report(rep: Report, *, examples: int = 5) -> str:
    r = rep.rows
    lines = []
    for i, name in enumerate(r.names):
        n = int((r.manifest == i).sum())
        err = f", {r.errors[i]:,} unreadable" if r.errors[i] else ""
        partial = "" if r.infos[i].complete else " (INCOMPLETE: the fingerprint run was interrupted)"
        lines.append(f"{name}: {n:,} image(s){err}, {r.files[i]}{partial}")
    lines.append(f"near = perceptual hashes within {rep.near} of {PHASH_BITS} bits")
    lines.append("")
    by_summary: dict[int, list[Pair]] = {}
    for p in rep.pairs:
        by_summary.setdefault(id(_which(rep, p)), []).append(p)
    for s in rep.summaries:
        if s.any:
            counts = ", ".join(f"{s.counts.get(k, 0):,} {_KIND_TEXT[k]}" for k in KINDS)
            lines.append(f"{s.title}: {counts}")
            extra = []
            if s.series:
                extra.append(f"{s.series:,} shared DICOM series")
            if s.study:
                extra.append(f"{s.study:,} shared DICOM studies")
            extra.append(f"images involved: {len(s.rows_a):,} | {len(s.rows_b):,}")
            lines.append("  " + "; ".join(extra))
            shown = [p for p in by_summary.get(id(s), []) if p.kind != "patient"][:examples]
            for p in shown:
                d = f" d={p.distance}" if p.kind == "near" else ""
                lines.append(f"  {p.kind}{d}: {_where(p.a)}  ~  {_where(p.b)}")
            if s.patients:
                more = f" (+{len(s.patients) - 8:,} more)" if len(s.patients) > 8 else ""
                lines.append(f"  shared patient ids: {', '.join(map(str, s.patients[:8]))}{more}")
        else:
            lines.append(f"{s.title}: no duplicates")
    if rep.truncated:
        lines.append(f"(JSON would list the first {rep.limit:,} of {rep.total_pairs:,} records; --limit raises it)")
    return "\n".join(lines)


_KIND_TEXT = {"file": "identical files", "pixels": "same pixels", "near": "near duplicates", "uid": "shared SOP UIDs",
              "patient": "shared patient ids"}


def _where(d: dict[str, Any]) -> str:
    frame = f"[{d['frame']}]" if "frame" in d else ""
    split = f" ({d['split']})" if "split" in d else ""
    return f"{d['path']}{frame}{split}"


def _which(rep: Report, p: Pair) -> Summary:
    for s in rep.summaries:
        if s.a == p.a["manifest"] and s.b == p.b["manifest"] and (
                s.scope == "manifests" or (s.split_a == p.a.get("split") and s.split_b == p.b.get("split"))):
            return s
    return rep.summaries[0]


__all__ = ["DEFAULT_NEAR", "KINDS", "OverlapError", "Pair", "Report", "Rows", "Summary", "duplicate_groups",
           "find_overlaps", "format_report", "load_rows", "near_pairs"]
