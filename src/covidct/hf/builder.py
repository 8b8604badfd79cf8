"""ONE generic ``datasets.GeneratorBasedBuilder`` that interprets a card's layout.

datasets 5.x has no loading scripts, so the builder is instantiated directly, configured by the card
and a config name (:func:`builder_for`). Its cache key is a hash of the card (and of the options
that change the examples) and of the state of the data folder (paths, sizes and times of the files
the layout reads), so editing the card or the data prepares again. Without a ``data_dir`` it downloads the
card's archives, checks their MD5/SHA-256 against the card and refuses a mismatch; a card whose files
must be fetched by hand makes it stop with the card's access instructions.

>>> b = builder_for("covidct/cncb", "lesion-seg", data_dir="~/data/cncb")   # doctest: +SKIP
>>> b.download_and_prepare(); ds = b.as_dataset()                          # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import datasets

from covidct.card.issues import warn_data
from covidct.card.model import Card, Config
from covidct.card.vocab import ArchiveFormat
from covidct.fsutil import first_dir
from covidct.hf.features import Encoder, image_plan, info_for, per_member
from covidct.layout.plan import FoundFiles, Plan, PlanPart, find_files, make_plan
from covidct.layout.walk import LayoutError

if TYPE_CHECKING:
    from covidct.download import Digests

# bump when the interpretation of layouts changes, so caches built by older code are not reused
LAYOUT_VERSION = "2"  # 2: boxes/points as records, one slice-order attribute per scan


def layout_error_from(exc: BaseException) -> LayoutError | None:
    """The LayoutError that datasets wrapped in a DatasetGenerationError, if any (its message is for users)."""
    cause = exc.__cause__
    while cause is not None and not isinstance(cause, LayoutError) and cause.__cause__ is not None:
        cause = cause.__cause__
    return cause if isinstance(cause, LayoutError) else None


class DataError(LayoutError):
    """The data cannot be prepared: the message says what to do."""


class ManualDownloadRequired(DataError):
    pass


class ChecksumMismatch(DataError):
    pass


class DownloadFailed(DataError):
    """A card's download could not be fetched (or was refused); the message says which URL, why and what to do."""


class DataNotice(UserWarning):
    """Something covidct did with the user's data that they should know (the CLI prints it as a plain line)."""


def card_hash(card: Card, cfg: Config, **options: Any) -> str:
    """Hash of the card text as parsed, the config, the options and the layout interpreter version."""
    from covidct.version import __version__

    h = hashlib.sha256()
    h.update(card.model_dump_json().encode())
    h.update(f"\0{cfg.name}\0{LAYOUT_VERSION}\0{__version__}\0".encode())
    for k in sorted(options):
        h.update(f"{k}={options[k]!r}\0".encode())
    return h.hexdigest()[:16]


class PickledShard:
    """One shard of a split (a :class:`PlanPart`: whole scans, without the card), pickled by the standard pickler.

    ``datasets`` sends each ``num_proc`` worker its part of ``gen_kwargs`` with dill, whose pickler is
    written in Python: a plan of 6,000 slices took it about a second of the main process's CPU, one job
    after the other, so the last worker began that much later (1.7 s after the first on a loaded machine),
    later with every slice more. The C pickler does the same in a few dozen milliseconds, and dill passes
    the bytes through as they are. The card is not in it: the worker has the builder's, and unpickling a
    card for each shard cost milliseconds.
    """

    __slots__ = ("data",)

    def __init__(self, part: PlanPart):
        self.data = pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL)

    def plan(self, card: Card, config: Config) -> Plan:
        part: PlanPart = pickle.loads(self.data)  # bytes that this process, or its parent, pickled just before
        return part.plan(card, config)


class CardBuilderConfig(datasets.BuilderConfig):
    """A card config plus the options that change the examples (patient-level split)."""

    def __init__(self, card: Card | None = None, split_by: str | None = None, test_size: float = 0.2,
                 seed: int = 0, embed: bool = False, manifests: list[str] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.card = card
        self.manifests = list(manifests or [])
        self.embed = embed
        self.split_by = split_by
        self.test_size = test_size
        self.seed = seed


class CardBuilder(datasets.GeneratorBasedBuilder):
    """Builds any card config that has a ``layout``; see :func:`builder_for`."""

    BUILDER_CONFIG_CLASS = CardBuilderConfig
    VERSION = datasets.Version("1.0.0")
    DEFAULT_WRITER_BATCH_SIZE = 100

    config: CardBuilderConfig
    _walked: FoundFiles | None = None  # the data folder as walked for the cache key (see builder_for)
    _num_proc: int | None = None  # the processes download_and_prepare was asked for

    # ------------------------------------------------------------------------------------------ info

    @property
    def card(self) -> Card:
        assert self.config.card is not None
        return self.config.card

    @property
    def card_config(self) -> Config:
        return self.card.config(self.config.name)

    def _info(self) -> datasets.DatasetInfo:
        return info_for(self.card, self.card_config)

    def download_and_prepare(self, output_dir: str | None = None, download_config: Any = None,
                             download_mode: Any = None, *args: Any, **kwargs: Any) -> None:
        """Prepare the cache; preparing again (``force_redownload``) starts from the card's info.

        datasets restores the info of an earlier preparation from the cache folder and then checks the
        new split sizes against it, so data that changed could never be prepared again
        (NonMatchingSplitsSizesError). The split sizes are facts of the data, recorded after each
        preparation, not expectations: a new preparation forgets them.
        """
        self._num_proc = kwargs.get("num_proc")
        mode = datasets.DownloadMode(download_mode or datasets.DownloadMode.REUSE_DATASET_IF_EXISTS)
        if mode != datasets.DownloadMode.REUSE_DATASET_IF_EXISTS:
            self.info.splits = None
        super().download_and_prepare(output_dir, download_config, download_mode, *args, **kwargs)
        if output_dir is None and self.config.data_dir and os.path.isdir(self.config.data_dir):
            self._remove_superseded()

    def _remove_superseded(self) -> None:
        """Delete what was prepared from earlier states of the same data folder (same card, config and
        options), so that each change of the data does not leave a copy behind. An earlier state is
        reached again only if a change is undone exactly, ctimes included (a file added, then deleted);
        it is then prepared again."""
        version_dir, current = os.path.split(self._cache_dir)
        for name in _prepared_states(version_dir):
            if name != current:
                shutil.rmtree(os.path.join(version_dir, name), ignore_errors=True)

    @property
    def manual_download_instructions(self) -> str | None:  # type: ignore[override]
        if self._needs_manual():
            where = self.card.access.url or self.card.homepage
            return self.card.access.instructions or f"Obtain the files from {where}"
        return None

    def _check_manual_download(self, dl_manager: Any) -> None:
        """Nothing: datasets 4.x would raise its own generic ManualDownloadError here, before ``_roots``
        raises covidct's (the card's instructions and the `covidct load --data-dir` line); datasets 5 has no
        such check. Overridden so the error is the same under every datasets version."""

    def _needs_manual(self) -> bool:
        cfg = self.card_config
        lay = cfg.layout
        if lay is None or not lay.archives:
            return True
        downloads = {d.name: d for d in self.card.downloads}
        return any(downloads.get(a) is None or downloads[a].url is None for a in lay.archives)

    # ------------------------------------------------------------------------------------------ data

    def _roots(self, dl_manager: Any) -> list[str]:
        """The folders the layout is read from: data_dir, or the card's archives, downloaded and extracted.

        Downloads and extraction are covidct's own (:mod:`covidct.download`, :mod:`covidct.archives`), in
        streaming mode too, into ``<downloads cache>/covidct``: ``files/`` holds verified downloads,
        ``unpacked/`` one folder per archive, named by its SHA-256 and created whole or not at all.
        """
        card, cfg = self.card, self.card_config
        force = bool(getattr(getattr(dl_manager, "download_config", None), "force_download", False))
        manual = getattr(dl_manager, "manual_dir", None)
        if manual:
            path = Path(os.path.expanduser(str(manual)))
            if not path.is_dir():
                raise DataError(f"data_dir {path} does not exist or is not a folder")
            packed = self._archives_in(path)
            if packed is None:
                return [str(path)]
            return self._unpack_local(path, packed, force)
        if self._needs_manual():
            steps = card.access.instructions or ""
            url = card.access.url or card.homepage or ""
            raise ManualDownloadRequired(
                f"{card.id}/{cfg.name} must be downloaded by hand ({card.access.kind.value} access"
                + (f", {url}" if url else "") + "). Then pass its folder as data_dir "
                f"(`covidct load {card.id} {cfg.name} --data-dir DIR`).\n{steps}".rstrip()
            )
        assert cfg.layout is not None
        downloads = {d.name: d for d in card.downloads}
        wanted = [downloads[name] for name in cfg.layout.archives]
        for d in wanted:  # before anything is fetched
            assert d.url is not None
            check_url(d.url, d.name)  # a card may not point at local files
            _foreign_archive(d)
        roots = []
        checksums = {}
        for d in wanted:
            local, got = self._download(d, force)
            checksums[d.url] = {"num_bytes": got.size, "checksum": got.sha256}
            with open(local, "rb") as fh:
                roots.append(str(self._unpack(fh, local, d, got, force)))
        recorded = getattr(dl_manager, "_recorded_sizes_checksums", None)
        if isinstance(recorded, dict):  # so that verification_mode="all_checks" compares like with like
            recorded.update(checksums)
            self.info.download_checksums = checksums
        return roots

    @property
    def _covidct_cache(self) -> Path:
        return Path(self._cache_downloaded_dir) / "covidct"

    def _download(self, d: Any, force: bool) -> tuple[Path, Digests]:
        """The verified local copy of download ``d`` (fetched unless a verified copy is cached)."""
        from covidct.download import DownloadError, fetch

        key = hashlib.sha256("\0".join([d.url, d.sha256 or "", d.md5 or "", str(d.size_bytes)]).encode())
        local = self._covidct_cache / "files" / key.hexdigest()[:24] / d.name
        if local.is_file() and not force:
            try:
                with open(local, "rb") as fh:
                    return local, _check_digests(_digests(fh), d, f"the cached copy {local}")
            except ChecksumMismatch:
                local.unlink(missing_ok=True)  # a damaged cache entry: fetch it again
        try:
            got = fetch(d.url, local, size=d.size_bytes, verify=lambda g: _check_digests(g, d, None, warn=False))
        except DownloadError as exc:
            raise self._download_failed(d, exc) from None
        return local, _check_digests(got, d, None)

    def _download_failed(self, d: Any, exc: Any) -> DataError:
        from covidct.download import printable

        card, cfg = self.card, self.card_config
        steps = (card.access.instructions or "").strip()
        where = exc.url if exc.url == printable(d.url) else f"{exc.url} (redirected from {printable(d.url)})"
        return DownloadFailed(
            f"{card.id}/{cfg.name}: cannot download {d.name} from {where}: {exc.why}.\n"
            + (f"{exc.hint}\n" if exc.hint else "")
            + f"To load it without downloading: get {d.name} yourself (`covidct show {card.id}` says how), put it "
            f"in a folder and pass that folder as data_dir (`covidct load {card.id} {cfg.name} --data-dir DIR`); "
            "covidct checks and extracts it." + (f"\nThe card's instructions: {steps}" if steps else "")
        )

    def _archives_in(self, data_dir: Path) -> list[Any] | None:
        """The config's downloads when data_dir holds its archives unextracted, else ``None``.

        A folder whose files the layout finds is used as it is (the user extracted the archives, maybe
        beside them); the archives are used only when the layout finds no image in the folder itself.
        """
        lay = self.card_config.layout
        if lay is None or not lay.archives:
            return None
        downloads = {d.name: d for d in self.card.downloads}
        wanted = [downloads[a] for a in lay.archives if a in downloads]
        present = [d for d in wanted if d.archive != ArchiveFormat.NONE and os.path.lexists(data_dir / d.name)]
        if not present or _layout_finds_images(lay, data_dir):
            return None
        missing = [d.name for d in wanted if not os.path.lexists(data_dir / d.name)]
        if missing:
            raise DataError(
                f"{data_dir} holds {', '.join(d.name for d in present)} of {self.card.id}/{self.card_config.name} "
                f"but not {', '.join(missing)}: put {'them' if len(missing) > 1 else 'it'} beside it, or extract "
                "the archives there yourself")
        for d in wanted:
            _foreign_archive(d)
        return wanted

    def _unpack_local(self, data_dir: Path, wanted: list[Any], force: bool) -> list[str]:
        """Verify the archives lying in data_dir and extract them into the cache, like downloads."""
        import warnings

        roots = []
        for d in wanted:
            path = data_dir / d.name
            with _open_regular(path) as fh:
                got = _check_digests(_digests(fh), d, str(path))
                roots.append(str(self._unpack(fh, path, d, got, force)))
        names = ", ".join(d.name for d in wanted)
        warnings.warn(f"{data_dir} holds {names} unextracted: checksums checked, extracted into "
                      f"{self._covidct_cache / 'unpacked'} (reused next time)", DataNotice, stacklevel=2)
        return roots

    def _unpack(self, fh: Any, path: Path, d: Any, got: Digests, force: bool) -> Path:
        """The folder holding download ``d`` unpacked (or, for ``archive: none``, the file alone)."""
        from covidct.archives import ArchiveError, extract

        key = hashlib.sha256(f"{got.sha256}\0{d.archive.value}\0{d.name}".encode()).hexdigest()[:32]
        dest = self._covidct_cache / "unpacked" / key
        if dest.is_dir():
            if not force:
                return dest
            shutil.rmtree(dest)
        if d.archive == ArchiveFormat.NONE:
            return _stage_single(str(path), d.name, dest)
        fh.seek(0)
        try:
            return extract(fh, d.archive.value, dest, d.name)
        except ArchiveError as exc:
            raise DataError(str(exc)) from None

    def make_plan(self, dl_manager: Any) -> Plan:
        walked, self._walked = self._walked, None  # the walk behind the cache key, used once
        plan = make_plan(self.card, self.card_config, self._roots(dl_manager), found=walked)
        if self.config.split_by:
            if self.card_config.layout and self.card_config.layout.splits is not None:
                warn_data("L508", f"{self.card.id}/{self.config.name}", splits=plan.splits,
                          split_by=self.config.split_by)
            links: list[tuple[str, str]] = []
            if self.config.manifests:
                from covidct.fingerprint.manifest import ManifestError
                from covidct.fingerprint.split import SplitLinkError, example_links

                try:
                    links = example_links(self.config.manifests, self.card.id, self.config.name)
                except (ManifestError, SplitLinkError) as exc:
                    raise DataError(str(exc)) from None
            plan.resplit(self.config.split_by, self.config.test_size, self.config.seed, links)
        return plan

    def _split_generators(self, dl_manager: Any) -> list[datasets.SplitGenerator]:
        """One generator per split, each with a list of shards (ranges of whole scans, see
        :meth:`Plan.shards`): ``datasets`` hands contiguous runs of them to its ``num_proc`` workers and
        joins their files in shard order, so the rows are those of one process, in the same order; a
        stream has as many shards to divide among readers."""
        plan = self.make_plan(dl_manager)
        n = _shard_count(self._num_proc)
        return [datasets.SplitGenerator(name=s, gen_kwargs={"split": s, "shards": [PickledShard(p) for p in
                                                                                 plan.parts(s, n)]})
                for s in plan.splits]

    def _generate_examples(self, split: str, shards: list[PickledShard]) -> Any:
        enc = Encoder(self.card, self.card_config, self.info.features, embed=self.config.embed)
        for shard in shards:
            for rec in shard.plan(self.card, self.card_config).records(split):
                yield rec.key, enc.encode(rec)

    def _prepare_split_single(self, *args: Any, **kwargs: Any) -> Any:
        """datasets' writer loop, with a covidct error raised as itself: from a worker process, datasets'
        wrapping would arrive without its cause (the message that says what to do)."""
        try:
            yield from super()._prepare_split_single(*args, **kwargs)
        except datasets.exceptions.DatasetGenerationError as exc:
            cause = layout_error_from(exc)
            if cause is None:
                raise
            raise cause from None


def check_url(url: str, name: str) -> None:
    """Downloads go over http(s) only: no file://, ftp://, data:, hf:// or bare local paths, no credentials."""
    from covidct.download import DownloadError
    from covidct.download import check_url as check

    try:
        check(url)
    except DownloadError as exc:
        raise DataError(f"{name}: download URL {url!r} is {exc.why}. Fix the card, or fetch the file yourself and "
                        "pass its folder as data_dir") from None


def _foreign_archive(d: Any) -> None:
    if d.archive in (ArchiveFormat.SEVEN_Z, ArchiveFormat.RAR):
        raise DataError(f"{d.name}: {d.archive.value} archives are not extracted automatically; extract it "
                        f"yourself and pass the folder as data_dir")


def _layout_finds_images(lay: Any, data_dir: Path) -> bool:
    from covidct.layout.walk import Walker, resolve_roots

    roots = resolve_roots([data_dir], lay)
    return bool(roots) and bool(Walker(lay).find(roots).roles.get("image"))


def _open_regular(path: Path) -> Any:
    """Open a file of the data folder for reading: a regular file, not a link, never blocking on a FIFO.

    (A minimal stand-in for the containment helper of covidct.fsutil; the lead unifies them.)
    """
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise DataError(f"{path} cannot be opened ({exc.strerror}); it must be a regular file, not a link") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise DataError(f"{path} is not a regular file; refused")
    return os.fdopen(fd, "rb")


def _digests(fh: Any) -> Digests:
    from covidct.download import Digests

    md5 = hashlib.md5(usedforsecurity=False)
    sha = hashlib.sha256()
    size = 0
    fh.seek(0)
    while chunk := fh.read(1 << 20):
        md5.update(chunk)
        sha.update(chunk)
        size += len(chunk)
    return Digests(size, md5.hexdigest(), sha.hexdigest())


def _check_digests(got: Digests, d: Any, where: str | None, *, warn: bool = True) -> Digests:
    """Refuse a file whose MD5/SHA-256/size differ from the card; warn (naming its SHA-256) when the card has none.

    ``where`` names a kept file (data_dir, cache); ``None`` for a download, which is then not kept.
    """
    what = f"{d.name} ({where or d.url})"
    fix = ("It is not the file the card describes: get it again" if where else
           "The download was not kept: try again later")
    for algo in ("sha256", "md5"):
        want = getattr(d, algo)
        if want and want != getattr(got, algo):
            raise ChecksumMismatch(f"{what}: {algo} is {getattr(got, algo)}, the card says {want}; the file is "
                                   f"refused. {fix}; if the published file changed, update the card.")
    if d.size_bytes is not None and d.size_bytes != got.size:
        raise ChecksumMismatch(f"{what}: {got.size:,} bytes, the card says {d.size_bytes:,}; the file is refused. "
                               f"{fix}.")
    if warn and not (d.md5 or d.sha256):
        warn_data("L509", d.name, sha256=got.sha256)
    return got


def verify_download(path: str, d: Any) -> dict[str, Any]:
    """Check a local file against the card's MD5/SHA-256/size; a mismatch refuses the file."""
    with _open_regular(Path(path)) as fh:
        got = _check_digests(_digests(fh), d, str(path))
    return {"num_bytes": got.size, "checksum": got.sha256}


def _stage_single(path: str, name: str, dest: Path) -> Path:
    """A non-archive download alone in ``dest`` under its card name (hard link, else copy), created whole."""
    with first_dir(dest) as tmp:
        try:
            os.link(path, tmp / name, follow_symlinks=False)  # a link swapped in is staged as a link: refused
        except OSError:
            shutil.copyfile(path, tmp / name, follow_symlinks=False)
    return dest


SHARDS = 64  # shards per split: divides evenly among 2, 4, 8, 16, 32 or 64 processes or stream readers


def _shard_count(num_proc: int | None) -> int:
    """How many shards to cut a split into: :data:`SHARDS`, rounded up to a multiple of ``num_proc`` so that
    each process gets as many (ranges of scans, balanced by files; fewer when there are fewer scans)."""
    if not num_proc or num_proc <= 1 or SHARDS % num_proc == 0:
        return SHARDS
    return -(-SHARDS // num_proc) * num_proc


def _writer_batch_size(cfg: Config) -> int:
    ip = image_plan(cfg)
    if ip.kind == "raster":
        return 100
    if ip.ndim == 3:
        return 1
    return 32


def builder_for(
    card: Card | str,
    config: str | None = None,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    split_by: str | None = None,
    test_size: float = 0.2,
    seed: int = 0,
    cards_dir: str | os.PathLike[str] | None = None,
    writer_batch_size: int | None = None,
    embed: bool = False,
    manifests: list[str | os.PathLike[str]] | None = None,
    **kwargs: Any,
) -> CardBuilder:
    """The builder of one card config. ``card`` is a :class:`Card` or a reference (``covidct/cncb``).

    Raster images are stored as the paths of the original files (like ``imagefolder``; Parquet export
    embeds their bytes); ``embed=True`` copies the bytes into the Arrow cache so it outlives data_dir.
    """
    if isinstance(card, str):
        from covidct.registry import load_card

        card = load_card(card, cards_dir)
    try:
        cfg = card.config(config)
    except KeyError as exc:
        raise DataError(str(exc.args[0])) from None
    if cfg.layout is None:
        raise DataError(
            f"{card.unloadable_reason(cfg)}; configs with a layout: {[c.name for c in card.loadable_configs] or 'none'}"
        )
    data = str(Path(os.path.expanduser(str(data_dir))).resolve()) if data_dir else None
    # the cache folder is <name>/<config>-<key>/<version>/<hash>: `key` names the card, config and options,
    # `hash` adds the state of the data folder (FoundFiles.signature), so each state of the data has its own
    paths = [str(Path(os.path.expanduser(str(m))).resolve()) for m in manifests or []]
    if paths and not split_by:
        raise DataError("manifests= keeps duplicates together in a new split: it goes with split_by= "
                        "('patient', 'scan' or 'example')")
    for m in paths:
        if not Path(m).is_file():
            raise DataError(f"manifest {m} does not exist; make it with `covidct fingerprint {card.id} {cfg.name} "
                            f"--data-dir DIR --out FILE.parquet`")
    extra = {"manifests": [hashlib.sha256(Path(m).read_bytes()).hexdigest() for m in paths]} if paths else {}
    key = card_hash(card, cfg, data_dir=data, split_by=split_by, test_size=test_size if split_by else None,
                    seed=seed if split_by else None, embed=embed, **extra)
    walked, signature = _walk_data(card, cfg, data) if data else (None, None)
    h = key if signature is None else hashlib.sha256(f"{key}\0{signature}".encode()).hexdigest()[:16]

    def make(h: str) -> CardBuilder:
        builder = CardBuilder(
            cache_dir=str(cache_dir) if cache_dir is not None else None,
            dataset_name=card.id.replace("-", "_"),
            config_name=cfg.name,
            hash=h,
            config_id=f"{cfg.name}-{key}",
            data_dir=data,
            card=card,
            split_by=split_by,
            test_size=test_size,
            seed=seed,
            embed=embed,
            manifests=paths,
            writer_batch_size=writer_batch_size or _writer_batch_size(cfg),
            **kwargs,
        )
        builder._walked = walked
        return builder

    builder = make(h)
    if data and not os.path.isdir(data):
        # the folder is gone: what was prepared from it before is still what it held (embed=True, arrays)
        earlier = _prepared_states(os.path.dirname(builder.cache_dir))
        if earlier:
            warn_data("L510", f"{card.id}/{cfg.name}", folder=data,
                      prepared=os.path.join(os.path.dirname(builder.cache_dir), earlier[0]))
            builder = make(earlier[0])
    return builder


def _walk_data(card: Card, cfg: Config, data: str) -> tuple[FoundFiles | None, str]:
    """The data folder's files found once, and their signature for the cache key (:meth:`FoundFiles.signature`).

    datasets fixes the cache folder when the builder is made, so the folder is walked here, and the
    plan reuses this walk when it is prepared. A folder that cannot be walked gets a key of its own;
    preparing then reports why.
    """
    try:
        walked = find_files(card, cfg, [data])
        return walked, walked.signature()
    except (LayoutError, OSError) as exc:
        return None, f"unreadable: {exc}"


def _prepared_states(version_dir: str) -> list[str]:
    """The data states prepared in one config's cache folder (``<hash>`` folders holding a dataset_info.json),
    newest first."""
    try:
        names = [n for n in os.listdir(version_dir) if _is_state(n)]
    except OSError:
        return []
    done = [n for n in names if os.path.isfile(os.path.join(version_dir, n, datasets.config.DATASET_INFO_FILENAME))]
    return sorted(done, key=lambda n: os.stat(os.path.join(version_dir, n)).st_mtime_ns, reverse=True)


def _is_state(name: str) -> bool:
    return len(name) == 16 and all(c in "0123456789abcdef" for c in name)


__all__ = ["CardBuilder", "CardBuilderConfig", "ChecksumMismatch", "DataError", "DataNotice", "DownloadFailed",
           "ManualDownloadRequired",
           "builder_for", "card_hash", "per_member", "verify_download"]
