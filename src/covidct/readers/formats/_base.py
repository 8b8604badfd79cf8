"""The :class:`Format` record every format module of ``covidct.readers.formats`` fills in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from covidct.card.vocab import FileFormat

Sniffer = Callable[[bytes, str], bool]  # (first 512 bytes, file name) -> is this format

# sniffing ranks: lower runs first
MAGIC_FIRST = 0  # a signature that may wrap another one (DICOM's preamble may hold a TIFF header)
MAGIC = 10  # fixed bytes at a fixed offset
HEURISTIC = 20  # text keys (MetaImage)
STRUCTURE = 25  # element structure (DICOM without preamble)
HEADER_BY_NAME = 30  # a header without magic, told by its suffix (Analyze .hdr)
BY_SIBLING = 40  # a data file told by the header file next to it (.raw of a .mhd)
BY_SUFFIX = 50  # text formats: the suffix is all they have


@dataclass(frozen=True)
class SliceFacts:
    """Where one synthesized DICOM slice sits in its scan (fixtures choose; the writer records them)."""

    scan: int  # the scan's index: seeds its UIDs
    position: int  # the slice's position in the listing: seeds its UID
    z: float  # SliceLocation and ImagePositionPatient[2]
    instance: int  # InstanceNumber
    patient: str
    attributes: tuple[tuple[str, str], ...] = ()  # (keyword, value) set last: a layout's header values


@dataclass(frozen=True)
class WriteSpec:
    """What a format's writer needs besides the pixels (fixtures only)."""

    name: str  # the file name (``.gz``: compressed)
    mask: bool = False  # a label image: values kept as they are
    channels: int = 1  # the card's channels (3: an RGB picture)
    slice: SliceFacts | None = None


@dataclass(frozen=True)
class Format:
    """Everything covidct knows about one file format."""

    fmt: FileFormat
    mime: str
    suffixes: tuple[str, ...] = ()  # lower-case, with the dot; the first is the usual one
    image: bool = False  # holds an image (Croissant ImageObject; `covidct new` looks for images among these)
    raster: bool = False  # a 2-D picture stored as encoded bytes (Pillow or tifffile): the Hub's Image feature
    volume: bool = False  # a file usually holds a whole volume
    slice_per_file: bool = False  # the fixture synthesizer writes one 2-D slice per file
    spacing: bool = False  # the header gives the pixel spacing in mm
    table: bool = False  # a label table (csv, xlsx...)
    gzip_inner: bool = False  # a gzip stream of this format is read as this format (.nii.gz)
    suffix_guess: bool = False  # `covidct new` may guess it from the suffix when the bytes name no format
    family: str | None = None  # the covidct.readers module that reads it
    library: str | None = None  # the top-level Python package that reads (and writes) it
    sniffers: tuple[tuple[int, Sniffer], ...] = ()  # (rank, test)
    reader: Callable[[], ModuleType] | None = None  # imports the reader module (a function: libraries load late)
    writer: Callable[[Any, Path, WriteSpec], None] | None = None  # writes a synthetic file (fixtures)

    @property
    def value(self) -> str:
        return self.fmt.value

    def _reader_module(self, src: Any) -> ModuleType:
        if self.reader is None:
            from covidct.readers._common import ReadError

            raise ReadError(src, f"{self.value} files hold no image; there is no image reader for them")
        return self.reader()

    def read(self, src: Any, *, mask: bool = False) -> Any:
        """Decode ``src`` with this format's reader (``covidct.readers.read`` also checks the content)."""
        return self._reader_module(src).read(src, mask=mask)

    def operation(self, op: str, src: Any) -> Callable[..., Any]:
        """Function ``op`` of this format's reader module (``read``, ``read_header``, DICOM's ``read_values``)."""
        return getattr(self._reader_module(src), op)  # type: ignore[no-any-return]

    def read_header(self, src: Any) -> dict[str, object]:
        return self._reader_module(src).read_header(src)  # type: ignore[no-any-return]

    def write(self, arr: Any, target: Path, spec: WriteSpec) -> None:
        """Write ``arr`` as a file of this format at ``target`` (atomically where the library allows)."""
        if self.writer is None:
            raise ValueError(f"format {self.value!r} cannot be synthesized")
        self.writer(arr, target, spec)


def magic(offset: int, *signatures: bytes) -> Sniffer:
    """A test for any of ``signatures`` at ``offset``."""

    def test(head: bytes, name: str) -> bool:
        return any(head[offset:offset + len(s)] == s for s in signatures)

    return test


def write_bytes(target: Path, data: bytes) -> None:
    from covidct.fsutil import atomic_write_bytes

    atomic_write_bytes(target, data)


def sibling(name: str, suffixes: tuple[str, ...]) -> bool:
    """Whether a file with the same stem and one of ``suffixes`` lies next to ``name``."""
    import os

    stem = os.path.splitext(name)[0]
    return any(os.path.isfile(stem + s) for s in suffixes)
