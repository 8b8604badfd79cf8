"""ONE generic ``datasets.GeneratorBasedBuilder`` that interprets a card's layout.

datasets 5.x has no loading scripts, so the builder is instantiated directly, configured by the card
and a config name (:func:`builder_for`). Its cache key is a hash of the card (and of the options
that change the examples), so editing a card rebuilds. Without a ``data_dir`` it downloads the
card's archives, checks their MD5/SHA-256 against the card and refuses a mismatch; a card whose files
must be fetched by hand makes it stop with the card's access instructions.

>>> b = builder_for("covidct/cncb", "lesion-seg", data_dir="~/data/cncb")   # doctest: +SKIP
>>> b.download_and_prepare(); ds = b.as_dataset()                          # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import datasets

from covidct.card.model import Card, Config
from covidct.card.vocab import ArchiveFormat
from covidct.hf.features import Encoder, image_plan, info_for, per_member
from covidct.layout.plan import Plan, make_plan
from covidct.layout.walk import LayoutError

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


def card_hash(card: Card, cfg: Config, **options: Any) -> str:
    """Hash of the card text as parsed, the config, the options and the layout interpreter version."""
    from covidct import __version__

    h = hashlib.sha256()
    h.update(card.model_dump_json().encode())
    h.update(f"\0{cfg.name}\0{LAYOUT_VERSION}\0{__version__}\0".encode())
    for k in sorted(options):
        h.update(f"{k}={options[k]!r}\0".encode())
    return h.hexdigest()[:16]


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

    @property
    def manual_download_instructions(self) -> str | None:  # type: ignore[override]
        if self._needs_manual():
            where = self.card.access.url or self.card.homepage
            return self.card.access.instructions or f"Obtain the files from {where}"
        return None

    def _needs_manual(self) -> bool:
        cfg = self.card_config
        lay = cfg.layout
        if lay is None or not lay.archives:
            return True
        downloads = {d.name: d for d in self.card.downloads}
        return any(downloads.get(a) is None or downloads[a].url is None for a in lay.archives)

    # ------------------------------------------------------------------------------------------ data

    def _roots(self, dl_manager: Any) -> list[str]:
        manual = getattr(dl_manager, "manual_dir", None)
        if manual:
            path = Path(os.path.expanduser(str(manual)))
            if not path.is_dir():
                raise DataError(f"data_dir {path} does not exist or is not a folder")
            return [str(path)]
        card, cfg = self.card, self.card_config
        if self._needs_manual():
            steps = card.access.instructions or ""
            url = card.access.url or card.homepage or ""
            raise ManualDownloadRequired(
                f"{card.id}/{cfg.name} must be downloaded by hand ({card.access.kind.value} access"
                + (f", {url}" if url else "") + "). Then pass its folder as data_dir "
                f"(`covidct load {card.id} {cfg.name} --data-dir DIR`).\n{steps}".rstrip()
            )
        if not isinstance(dl_manager, datasets.DownloadManager):  # streaming: fetch the archives once, locally
            dl_manager = datasets.DownloadManager(
                dataset_name=self.dataset_name,
                download_config=datasets.DownloadConfig(cache_dir=self._cache_downloaded_dir),
            )
        assert cfg.layout is not None
        downloads = {d.name: d for d in card.downloads}
        roots = []
        checksums = {}
        for name in cfg.layout.archives:
            d = downloads[name]
            assert d.url is not None
            check_url(d.url, d.name)  # before anything is fetched: a card may not point at local files
            local = dl_manager.download(d.url)
            checksums[d.url] = verify_download(local, d)
            if d.archive == ArchiveFormat.NONE:
                roots.append(_stage_single(local, d.name))
            elif d.archive in (ArchiveFormat.SEVEN_Z, ArchiveFormat.RAR):
                raise DataError(f"{d.name}: {d.archive.value} archives are not extracted automatically; extract it "
                                f"yourself and pass the folder as data_dir")
            else:
                check_archive(local, d.name)  # refuse members that would land outside the extraction folder
                roots.append(dl_manager.extract(local))
        self.info.download_checksums = checksums
        return roots

    def make_plan(self, dl_manager: Any) -> Plan:
        plan = make_plan(self.card, self.card_config, self._roots(dl_manager))
        if self.config.split_by:
            if self.card_config.layout and self.card_config.layout.splits is not None:
                import warnings

                from covidct.layout.plan import LayoutWarning

                warnings.warn(f"{self.card.id}/{self.config.name} has official splits {plan.splits}; "
                              f"split_by={self.config.split_by!r} replaces them", LayoutWarning, stacklevel=2)
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
        self._plan = self.make_plan(dl_manager)
        return [datasets.SplitGenerator(name=s, gen_kwargs={"split": s}) for s in self._plan.splits]

    def _generate_examples(self, split: str) -> Any:
        enc = Encoder(self.card, self.card_config, self.info.features, embed=self.config.embed)
        for rec in self._plan.records(split):
            yield rec.key, enc.encode(rec)


def check_url(url: str, name: str) -> None:
    """Downloads go over http(s) only: no file://, ftp://, data:, hf:// or bare local paths."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() or ord(c) < 32
                                                                                  for c in url):
        raise DataError(f"{name}: download URL {url!r} is refused: covidct downloads over http(s) only. Fix the "
                        "card, or fetch the file yourself and pass its folder as data_dir")


MAX_ARCHIVE_MEMBERS = 2_000_000
MAX_EXPANSION = 200  # unpacked bytes per archive byte, beyond which an archive is treated as a bomb


def check_archive(path: str, name: str) -> None:
    """Refuse an archive whose members would land outside the extraction folder, before extracting it.

    ``datasets`` only logs and skips such members (and resolves hard-link targets from the member's
    folder while tarfile resolves them from the archive root), so covidct checks first and refuses the
    whole file: absolute names, ``..``, links of any kind, devices, and archive bombs.
    """
    import stat
    import tarfile
    import zipfile

    size = max(os.path.getsize(path), 1)
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith((b"7z\xbc\xaf\x27\x1c", b"Rar!\x1a\x07")):
        raise DataError(f"{name}: 7z/RAR archives are not extracted automatically; extract it yourself and pass "
                        "the folder as data_dir")

    def member(n: str, kind: str = "") -> None:
        norm = n.replace("\\", "/")
        segs = [s for s in norm.split("/") if s not in ("", ".")]
        drive = len(norm) > 1 and norm[1] == ":" and norm[0].isalpha()
        if norm.startswith("/") or drive or ".." in segs or "\x00" in n:
            raise DataError(f"{name}: archive member {n!r} would be written outside the extraction folder; "
                            "the file is refused")
        if kind:
            raise DataError(f"{name}: archive member {n!r} is a {kind}; archives with links or special files "
                            "are refused (extract it yourself and pass the folder as data_dir)")

    total = count = 0
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                mode = info.external_attr >> 16
                member(info.filename, "symbolic link" if stat.S_ISLNK(mode) else "")
                total += info.file_size
                count += 1
                if count > MAX_ARCHIVE_MEMBERS:
                    break
    elif tarfile.is_tarfile(path):
        with tarfile.open(path, "r:*") as tf:
            for m in tf:
                kind = ("symbolic link" if m.issym() else "hard link" if m.islnk()
                        else "" if (m.isfile() or m.isdir()) else "special file")
                member(m.name, kind)
                total += m.size
                count += 1
                if count > MAX_ARCHIVE_MEMBERS:
                    break
    else:
        return  # a single compressed file (gzip, bz2, xz...): it unpacks to one file
    if count > MAX_ARCHIVE_MEMBERS:
        raise DataError(f"{name}: more than {MAX_ARCHIVE_MEMBERS:,} archive members; the file is refused")
    if total > MAX_EXPANSION * size and total > 1 << 30:
        raise DataError(f"{name}: unpacks to {total:,} bytes from {size:,} (more than {MAX_EXPANSION}x); "
                        "treated as an archive bomb and refused")


def verify_download(path: str, d: Any) -> dict[str, Any]:
    """Check a downloaded file against the card's MD5/SHA-256; a mismatch refuses the file."""
    md5 = hashlib.md5(usedforsecurity=False)
    sha = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            md5.update(chunk)
            sha.update(chunk)
            size += len(chunk)
    got = {"md5": md5.hexdigest(), "sha256": sha.hexdigest()}
    for algo in ("sha256", "md5"):
        want = getattr(d, algo)
        if want and want != got[algo]:
            raise ChecksumMismatch(
                f"{d.name} ({d.url}): {algo} is {got[algo]}, the card says {want}; the file is refused. Delete "
                f"{path} and download it again; if the published file changed, update the card."
            )
    if d.size_bytes is not None and d.size_bytes != size:
        raise ChecksumMismatch(f"{d.name}: {size:,} bytes, the card says {d.size_bytes:,}; the file is refused")
    if not (d.md5 or d.sha256):
        import warnings

        from covidct.layout.plan import LayoutWarning

        warnings.warn(f"{d.name}: the card gives no checksum; downloaded file has sha256 {got['sha256']}",
                      LayoutWarning, stacklevel=2)
    return {"num_bytes": size, "checksum": got["sha256"]}


def _stage_single(path: str, name: str) -> str:
    """A non-archive download in a folder of its own, under its card name (hard link, else copy)."""
    folder = Path(path + ".covidct")
    target = folder / name
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{name}.tmp"
        try:
            os.link(path, tmp)
        except OSError:
            shutil.copyfile(path, tmp)
        os.replace(tmp, target)
    return str(folder)


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
            f"{card.id}/{cfg.name} has no `layout` in its card, so covidct cannot load it; "
            f"configs with a layout: {[c.name for c in card.configs if c.layout is not None] or 'none'}"
        )
    data = str(Path(os.path.expanduser(str(data_dir))).resolve()) if data_dir else None
    paths = [str(Path(os.path.expanduser(str(m))).resolve()) for m in manifests or []]
    if paths and not split_by:
        raise DataError("manifests= keeps duplicates together in a new split: it goes with split_by= "
                        "('patient', 'scan' or 'example')")
    for m in paths:
        if not Path(m).is_file():
            raise DataError(f"manifest {m} does not exist; make it with `covidct fingerprint {card.id} {cfg.name} "
                            f"--data-dir DIR --out FILE.parquet`")
    extra = {"manifests": [hashlib.sha256(Path(m).read_bytes()).hexdigest() for m in paths]} if paths else {}
    h = card_hash(card, cfg, data_dir=data, split_by=split_by, test_size=test_size if split_by else None,
                  seed=seed if split_by else None, embed=embed, **extra)
    return CardBuilder(
        cache_dir=str(cache_dir) if cache_dir is not None else None,
        dataset_name=card.id.replace("-", "_"),
        config_name=cfg.name,
        hash=h,
        config_id=f"{cfg.name}-{h}",
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


__all__ = ["CardBuilder", "CardBuilderConfig", "ChecksumMismatch", "DataError", "ManualDownloadRequired",
           "builder_for", "card_hash", "per_member", "verify_download"]
