"""What every reader shares: the result type, the error type, rescaling and plain metadata values.

Kept free of heavy imports: numpy is imported inside the functions that need it, so that importing
``covidct.readers`` (e.g. from the layout interpreter) stays cheap.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from covidct.card.vocab import Intensity
from covidct.errors import CovidctError

if TYPE_CHECKING:
    import numpy

INSTALL_HINT = "pip install 'covidct[readers]'"


class ReadError(CovidctError):
    """A file could not be read. The message names the file and says what to install or do.

    ``path`` holds the file (as given); ``hint`` the action, when there is one (e.g. a pip command).
    """

    def __init__(self, path: object, problem: str, hint: str | None = None) -> None:
        self.path = path
        self.problem = problem
        self.hint = hint
        msg = f"{describe_path(path)}: {problem}"
        if hint:
            msg += f"; {hint}"
        super().__init__(msg)


class MissingLibrary(ReadError):
    """A library (or a DICOM decoder plugin) needed for this file is not installed; ``hint`` says which."""


def check_regular(src: Any) -> None:
    """Refuse a path that is not a regular file before any library opens it (a FIFO would block)."""
    if not isinstance(src, (str, os.PathLike)):
        return  # a file object: the caller opened it
    from covidct.fsutil import require_regular

    with opening(src):
        require_regular(src)


@contextmanager
def opening(src: Any) -> Iterator[None]:
    """Turn the errors of opening ``src`` (missing, not a regular file, unreadable) into one ``ReadError``."""
    from covidct.fsutil import UnsafePath

    try:
        yield
    except FileNotFoundError:
        raise ReadError(src, "no such file") from None
    except UnsafePath as exc:
        raise ReadError(src, exc.problem) from None
    except OSError as exc:
        raise ReadError(src, f"cannot open ({exc.strerror or exc})") from None


MAX_DECODED_DEFAULT = 1 << 30  # 1 GiB: ~4x the largest real image in the registry (512x512x~1000 int16 CT)


def max_decoded_bytes(src: object = None) -> int:
    """The most bytes one file may decode to: ``COVIDCT_MAX_DECODED_BYTES``, else 1 GiB."""
    from covidct.settings import settings

    try:
        value = settings().max_decoded_bytes
    except ValueError as exc:
        raise ReadError(src, str(exc)) from None
    return MAX_DECODED_DEFAULT if value is None else value


def check_decoded_size(src: object, what: str, shape: Sequence[Any], itemsize: int) -> int:
    """Refuse a file whose header declares more decoded bytes than the limit, BEFORE anything decodes it.

    ``shape`` and ``itemsize`` come from the header (the declared size, never the file's size: a few
    kilobytes of compressed zeros can declare gigabytes). Returns the declared byte count.
    """
    dims = [int(n) for n in shape]
    if any(n < 0 for n in dims) or int(itemsize) < 0:
        raise ReadError(src, f"its {what} declares a negative size {tuple(dims)}; the header is damaged")
    total = int(itemsize)
    for n in dims:
        total *= n
    limit = max_decoded_bytes(src)
    if total > limit:
        from covidct.settings import MAX_DECODED_ENV

        size = "x".join(str(n) for n in dims) or "1"
        raise ReadError(
            src,
            f"its {what} declares {size} x {int(itemsize)} bytes = {total:,} bytes decoded, "
            f"more than the limit of {limit:,} bytes; refused before decoding",
            f"if the file is genuine, raise the limit with {MAX_DECODED_ENV}=<bytes>",
        )
    return total


INFLATE_RATIO = 50  # a gzip or deflate stream inside an image file may inflate to this many times its size...
INFLATE_FLOOR = 64 << 20  # ...or to this many bytes (any real slice, a binary SEG volume), whichever is larger


def inflate_allowance(src: object, compressed: int) -> tuple[int, str]:
    """The most bytes a compressed stream of ``compressed`` bytes in ``src`` may inflate to, and why.

    Like an archive's: :data:`INFLATE_RATIO` times the compressed size, at least :data:`INFLATE_FLOOR`, at
    most the decoded limit; ``COVIDCT_MAX_DECODED_BYTES``, when set, replaces it. A bomb is then refused
    after time linear in its own size, whatever it declares.
    """
    from covidct.settings import MAX_DECODED_ENV, settings

    try:
        override = settings().max_decoded_bytes
    except ValueError as exc:
        raise ReadError(src, str(exc)) from None
    if override is not None:
        return override, f"{MAX_DECODED_ENV}={override:,}"
    allowance = min(MAX_DECODED_DEFAULT, max(INFLATE_FLOOR, INFLATE_RATIO * compressed))
    return allowance, (f"{INFLATE_RATIO}x its {compressed:,} compressed bytes, at least {INFLATE_FLOOR:,}, at most "
                       f"{MAX_DECODED_DEFAULT:,}")


def count_inflated(fh: Any, inflater: Any, cap: int, stored: int | None = None) -> tuple[int, bool]:
    """Inflate ``fh`` from its position through ``inflater`` (a ``zlib.decompressobj``), counting and
    dropping the output: stops once past ``cap`` bytes, at the end of the stream, at the end of the file,
    or after ``stored`` input bytes. Returns the bytes counted and whether the stream ended.

    One chunk of memory and time linear in what is read, whatever the stream would inflate to; a damaged
    stream raises ``zlib.error`` for the caller to word.
    """
    total = 0
    left = stored
    while not inflater.eof and total <= cap:
        data = inflater.unconsumed_tail
        if not data:
            want = 1 << 16 if left is None else min(1 << 16, left)
            data = fh.read(want) if want > 0 else b""
            if not data:
                break
            if left is not None:
                left -= len(data)
        total += len(inflater.decompress(data, 1 << 20))
    return total, bool(inflater.eof)


def inflate_refused(src: object, what: str, allowance: int, why: str) -> ReadError:
    from covidct.settings import MAX_DECODED_ENV

    return ReadError(src, f"its {what} inflates to more than {allowance:,} bytes ({why}); refused before decoding: "
                     "the file is a decompression bomb or damaged",
                     f"if the file is genuine, raise the limit with {MAX_DECODED_ENV}=<bytes>")


def gunzipped(src: Any, shown: Any = None) -> Any:
    """A gzip-compressed file (``src``: a path or a seekable file object) as an in-memory file, inflated
    within :func:`inflate_allowance`; None when ``src`` is not gzip (then it is left at its position).

    For the formats the sniffer also recognises inside gzip (DICOM, NPY: ``Format.gzip_inner``), whose
    libraries would otherwise read the compressed bytes as the format itself. ``shown`` names ``src`` in
    messages (default: ``src``).
    """
    import gzip
    import io
    import zlib

    from covidct.fsutil import UnsafePath, open_regular

    own = not hasattr(src, "read")
    name = src if shown is None else shown
    try:
        fh = open_regular(src) if own else src
    except FileNotFoundError:
        raise ReadError(src, "no such file") from None
    except UnsafePath as exc:
        raise ReadError(src, exc.problem) from None
    pos = fh.tell()
    try:
        if fh.read(2) != b"\x1f\x8b":
            return None
        compressed = fh.seek(0, os.SEEK_END) - pos
        fh.seek(pos)
        allowance, why = inflate_allowance(name, compressed)
        out = io.BytesIO()
        try:
            for keep in (False, True):  # counted first, chunk by chunk: a bomb never takes its allowance in memory
                fh.seek(pos)
                total = 0
                with gzip.GzipFile(fileobj=fh, mode="rb") as gz:
                    while chunk := gz.read(1 << 20):
                        total += len(chunk)
                        if total > allowance:
                            raise inflate_refused(name, "gzip stream", allowance, why)
                        if keep:
                            out.write(chunk)
        except (OSError, EOFError, zlib.error) as exc:
            raise damaged(name, "inflate the gzip stream", exc) from None
        out.seek(0)
        out.name = describe_path(name)  # type: ignore[attr-defined]  # messages name the file, not a buffer
        return out
    finally:
        if own:
            fh.close()
        else:
            fh.seek(pos)


def companion(path: str, name: str, what: str) -> str:
    """The real path of ``name`` (a file another file refers to: a .raw beside its .mhd, an Analyze
    .img) if it lies inside ``path``'s folder and is a regular file; else a :class:`ReadError`.

    A header in the data folder must not make a reader load ``/home/me/.ssh/id_rsa`` as pixels, or
    follow a symbolic link out of the folder, or block on a FIFO.
    """
    from covidct.fsutil import UnsafePath, resolve_inside

    try:
        return resolve_inside(os.path.dirname(os.path.abspath(path)), name, what)
    except FileNotFoundError:
        raise ReadError(path, f"its {what} {name} is missing") from None
    except UnsafePath as exc:
        raise ReadError(path, f"its {what} {name!r} {exc.problem}") from None


def damaged(path: object, what: str, exc: BaseException) -> ReadError:
    """The error for a file a library failed on: ``cannot <what> (<library message>)``."""
    problem = f"cannot {what} ({type(exc).__name__}: {exc}); the file may be truncated or damaged"
    return ReadError(path, problem)


def describe_path(path: object) -> str:
    if isinstance(path, (str, os.PathLike)):
        return os.fsdecode(path)
    name = getattr(path, "name", None)  # open file objects
    if isinstance(name, str):
        return name
    return f"<{type(path).__name__}>"


@dataclass
class Decoded:
    """One decoded file.

    ``array``: raster (H, W) or (H, W, C); DICOM one slice (rows, cols) or multi-frame (F, rows, cols);
    NIfTI / MetaImage / NRRD volumes (z, y, x) (reversed storage axes, no resampling, no reorientation).
    ``spacing``: mm per array axis, in array axis order, only when the file says it.
    ``intensity``: what the values are, as far as the file alone can tell (the card may refine it: an
    8-bit PNG of a CT slice is ``photometric-8bit`` here and ``windowed-8bit`` on the card).
    ``meta``: plain Python values (str, int, float, bool, lists of them) describing the file.

    Arrays are not copied needlessly: raster arrays come straight from Pillow's buffer and may be
    read-only; copy one before modifying it in place.
    """

    array: numpy.ndarray
    spacing: tuple[float, ...] | None
    intensity: Intensity
    meta: dict[str, object] = field(default_factory=dict)


def intensity_of(dtype: Any, *, mask: bool = False) -> Intensity:
    """The honest file-level intensity for an array of this dtype (no modality knowledge)."""
    if mask:
        return Intensity.UNKNOWN
    kind, size = dtype.kind, dtype.itemsize
    if kind == "f":
        return Intensity.FLOAT
    if kind in "iu" and size == 1:
        return Intensity.PHOTOMETRIC_8BIT
    if kind in "iu" and size == 2:
        return Intensity.RAW_16BIT
    return Intensity.UNKNOWN


def _integral(x: float) -> bool:
    return float(x).is_integer()


def rescale(
    raw: numpy.ndarray,
    slope: float,
    intercept: float,
    *,
    stored_range: tuple[int, int] | None = None,
    owned: bool = False,
) -> numpy.ndarray:
    """``raw * slope + intercept`` without loss and with as few copies as possible.

    Integral slope and intercept give signed integers: int16 when the results fit (every possible
    one, from ``stored_range`` or the raw dtype, else the actual ones), int32 (or int64) otherwise.
    Anything else gives float32 (float64 when ``raw`` already is float64). ``owned`` says the caller
    may have ``raw`` modified in place.
    """
    import numpy as np

    slope, intercept = float(slope), float(intercept)
    if raw.dtype.kind == "f" or not (_integral(slope) and _integral(intercept)):
        target = np.float64 if raw.dtype == np.float64 else np.float32
        out = raw.astype(target, copy=not owned)
        if slope != 1.0:
            out *= target(slope)
        if intercept != 0.0:
            out += target(intercept)
        return out
    s, i = int(slope), int(intercept)
    if stored_range is not None:
        lo, hi = stored_range
    elif raw.dtype.kind in "iu" and raw.dtype.itemsize <= 2:
        info = np.iinfo(raw.dtype)
        lo, hi = int(info.min), int(info.max)
    else:
        lo, hi = _actual_range(raw)
    target = _fitting_int(lo * s + i, hi * s + i)
    if target is not np.int16 and raw.size and raw.dtype.kind == "u":
        # the possible range is too wide for int16: the actual values decide (int16 whenever they fit);
        # for unsigned values try [0, max] first, one pass instead of two
        hi = int(raw.max())
        target = _fitting_int(i, hi * s + i)
    if target is not np.int16 and raw.size:
        lo, hi = _actual_range(raw)
        target = _fitting_int(lo * s + i, hi * s + i)
    if s == 1 and i == 0 and raw.dtype == target:
        return raw
    # Integer arithmetic wraps modulo 2**bits: since every true result fits ``target``, computing in
    # ``target`` (even through an intermediate wrap) gives exactly the true result.
    bits = np.iinfo(target).bits
    out = raw.astype(target, copy=not owned)
    if s != 1:
        np.multiply(out, _wrap(s, bits), out=out, casting="unsafe")
    if i != 0:
        np.add(out, _wrap(i, bits), out=out, casting="unsafe")
    return out


def _actual_range(raw: numpy.ndarray) -> tuple[int, int]:
    return (int(raw.min()), int(raw.max())) if raw.size else (0, 0)


def _fitting_int(a: int, b: int) -> Any:
    import numpy as np

    for cand in (np.int16, np.int32, np.int64):
        info = np.iinfo(cand)
        if info.min <= min(a, b) and max(a, b) <= info.max:
            return cand
    raise OverflowError(f"rescaled values {a}..{b} do not fit a 64-bit integer")


def _wrap(value: int, bits: int) -> Any:
    """``value`` as a ``bits``-bit signed integer (two's complement wrap), typed so numpy accepts it."""
    import numpy as np

    half = 1 << (bits - 1)
    wrapped = ((value + half) % (1 << bits)) - half
    return {16: np.int16, 32: np.int32, 64: np.int64}[bits](wrapped)


def plain(value: Any) -> Any:
    """A metadata value as plain Python (str/int/float/bool/None or lists of them)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        # subclasses (pydicom DSfloat, IS, UID) become their base type
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return float(value)
        return str(value)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        return plain(tolist())
    try:  # pydicom MultiValue and other sequences
        return [plain(v) for v in value]
    except TypeError:
        return str(value)
