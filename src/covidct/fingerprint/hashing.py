"""The three fingerprints of one image: the file's bytes, its pixels, and what it looks like.

- ``sha256``: of the file as stored (an exact copy under another name has the same one).
- ``pixel_sha256``: of the decoded pixels in a canonical form (:func:`canonical_pixels`): the same
  values in another container (a DICOM slice and a lossless 16-bit TIFF of it, an RGB PNG of a grey
  image and the grey PNG) hash the same; any changed value changes it.
- ``phash``: a 256-bit perceptual hash (:func:`perceptual_hash`) that stays within a few bits under
  re-encoding (PNG → JPEG), resizing, small crops and 16 → 8-bit export with a lung window.

The perceptual hash is computed on an 8-bit view of the image (:func:`view8`): CT in Hounsfield units
through a fixed lung window, so that a DICOM slice and an 8-bit lung-window PNG exported from it agree;
other images of more than 8 bits scaled from their minimum to maximum. The view is then cropped and
scaled around an anchor found in the image itself (:func:`_anchor`: the centroid and spread of the dark
regions enclosed by brighter tissue, i.e. the lungs, else the mirror axis of the bright foreground's
outline and the spread of its rows near that axis), so that a crop that does not cut the anchor gives
the same framing, also when the body reaches past the image's border. Only then is the DCT hash of
``imagehash`` taken. Every step is fixed here and named by :data:`PHASH_SPEC`; manifests record it, and manifests
made with another spec are not compared.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

PIXELS_SPEC = "covidct-pixels/1"
PHASH_SPEC = "covidct-phash256/3"  # lung window -600/1500 HU, anchored on the body's mirror axis, imagehash.phash(16)
PHASH_BITS = 256
PHASH_BYTES = PHASH_BITS // 8
LUNG_WINDOW = (-600.0, 1500.0)  # centre, width in HU: the window most 8-bit CT exports use
WORK_SIZE = 128  # the longer side of the image the anchor is searched in
HASH_IMAGE = 64  # imagehash.phash(hash_size=16) takes the DCT of a 64x64 image
HOLES_RADIUS = 1.5  # the hashed square spans the enclosed dark regions' centroid +- 1.5 standard deviations
BAND = 0.2  # the band of columns the anchor is measured in: the mirror axis +- 20% of the image's width
BAND_RADIUS = 1.8  # else it spans the band's mean row +- 1.8 standard deviations of its rows
BODY_SHARE = 0.25  # bright regions of at least a quarter of the largest one are the body (not the table)
HOLES_SHARE = 0.05  # enclosed dark regions anchor the hash when they are 5% of the filled body (in the band)
CHUNK = 1 << 20


def file_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stream_sha256(path: str) -> str:
    """SHA-256 of a file read in 1 MiB pieces (bounded memory for large volumes)."""
    from covidct.fsutil import open_regular

    h = hashlib.sha256()
    with open_regular(path) as fh:  # a FIFO in place of the file must not block
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------------------------------------- pixels


def _is_grey_rgb(arr: np.ndarray) -> bool:
    return arr.ndim == 3 and arr.shape[-1] in (3, 4) and bool(
        (arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all())


def canonical_pixels(arr: np.ndarray) -> np.ndarray:
    """The pixels in the form their hash is taken of: equal values give equal arrays.

    Colour with three equal channels becomes grey. Integer values (also in a float array) are stored
    in the first of uint8, int16, uint16, int32, int64 that holds their range; other floats as
    float32 when that is exact, else float64. So a slice read as int16 Hounsfield units and the same
    values read from a float32 NIfTI or a 32-bit TIFF agree.
    """
    import numpy as np

    a = np.asarray(arr)
    if _is_grey_rgb(a):
        a = a[..., 0]
    if a.size == 0:
        return a.astype(np.uint8)
    if a.dtype.kind == "b":
        a = a.view(np.uint8)
    if a.dtype.kind == "f":
        if not np.isfinite(a).all() or not (a == np.round(a)).all():
            f32 = a.astype(np.float32)
            return f32 if (f32 == a).all() else a.astype(np.float64)
        lo, hi = float(a.min()), float(a.max())
        if lo < -(2.0**63) or hi >= 2.0**63:
            return a.astype(np.float64)
        lo_i, hi_i = int(lo), int(hi)
    elif a.dtype.kind in "iu":
        lo_i, hi_i = int(a.min()), int(a.max())
    else:
        raise ValueError(f"pixels of type {a.dtype} have no canonical form")
    for target in (np.uint8, np.int16, np.uint16, np.int32, np.int64):
        info = np.iinfo(target)
        if info.min <= lo_i and hi_i <= info.max:
            return a.astype(np.dtype(target).newbyteorder("<"), copy=False)
    return a.astype(np.float64)  # beyond int64 (huge uint64): exact enough to compare


def pixel_sha256(arr: np.ndarray) -> str:
    """SHA-256 of :func:`canonical_pixels` with its type and shape."""
    import numpy as np

    c = np.ascontiguousarray(canonical_pixels(arr))
    h = hashlib.sha256(f"{PIXELS_SPEC}\0{c.dtype.str}\0{'x'.join(map(str, c.shape))}\0".encode())
    h.update(memoryview(c).cast("B"))
    return h.hexdigest()


# ------------------------------------------------------------------------------------------- looks


def looks_like_hu(arr: np.ndarray) -> bool:
    """Signed values reaching below -500 are taken as Hounsfield units (air is -1000 HU)."""
    return arr.dtype.kind in "if" and arr.size > 0 and float(arr.min()) < -500 and float(arr.max()) < 10_000


def view8(arr: np.ndarray, *, hounsfield: bool | None = None) -> np.ndarray:
    """An 8-bit grey view of one 2-D image (H, W) or (H, W, C).

    ``hounsfield``: the values are HU (None: decide with :func:`looks_like_hu`): the fixed
    :data:`LUNG_WINDOW` maps them to 0..255. Other images of more than 8 bits are scaled from their
    minimum to their maximum; colour becomes luma (ITU-R 601, as Pillow's ``convert("L")``).
    """
    import numpy as np

    a = np.asarray(arr)
    if a.ndim == 3:
        if a.shape[-1] == 1:
            a = a[..., 0]
        elif a.shape[-1] >= 3:
            a = a[..., :3]
            if a.dtype == np.uint8:
                from PIL import Image

                return np.asarray(Image.fromarray(np.ascontiguousarray(a), "RGB").convert("L"))
            a = a.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        else:
            a = a[..., 0]
    if a.ndim != 2:
        raise ValueError(f"an image of shape {a.shape} is not 2-D")
    if a.dtype == np.uint8:
        return a
    if a.dtype.kind == "b":
        return a.view(np.uint8) * np.uint8(255)
    if hounsfield is None:
        hounsfield = looks_like_hu(a)
    f = a.astype(np.float32)
    if hounsfield:
        centre, width = LUNG_WINDOW
        lo, scale = centre - width / 2, 255.0 / width
    else:
        finite = f[np.isfinite(f)]
        if finite.size == 0:
            return np.zeros(a.shape, np.uint8)
        lo, hi = float(finite.min()), float(finite.max())
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
    f -= np.float32(lo)
    f *= np.float32(scale)
    np.clip(f, 0, 255, out=f)
    np.nan_to_num(f, copy=False)
    return np.rint(f).astype(np.uint8)


def _otsu(g: np.ndarray) -> int:
    import numpy as np

    hist = np.bincount(g.ravel(), minlength=256).astype(np.float64)
    p = hist / hist.sum()
    omega = np.cumsum(p)
    mu = np.cumsum(p * np.arange(256))
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mu[-1] * omega - mu) ** 2 / (omega * (1.0 - omega))
    between[~np.isfinite(between)] = -1.0
    return int(np.argmax(between))


def _body(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bright, filled body) of an 8-bit image: what is brighter than Otsu's threshold, and its large
    parts (the body, not the table under it: :data:`BODY_SHARE`) with the dark regions they enclose."""
    import numpy as np
    from scipy import ndimage

    bright = g > _otsu(g)
    body = bright
    labels, n = ndimage.label(bright)
    if n > 1:  # what the body encloses, not what the body and the table under it enclose together
        sizes = np.bincount(labels.ravel())
        sizes[0] = 0
        body = (sizes >= BODY_SHARE * sizes.max())[labels]
    return bright, ndimage.binary_fill_holes(body)


def _mirror_axis(filled: np.ndarray) -> float | None:
    """The column (continuous, pixel i spans [i, i + 1)) about which the body's outline is most nearly
    mirror-symmetric, searched in the middle half of the image; None when the body has no outline.

    The outline is the gradient (gy, gx) of the slightly smoothed mask. Mirrored about an axis, an
    outline keeps gy and flips the sign of gx, so ``S[k] = sum_y sum_i gy(y, i) gy(y, k - i) - gx(y, i)
    gx(y, k - i)`` scores the axis between columns ``i`` and ``k - i``, i.e. at ``k / 2 + 0.5``, for
    every k at once (FFT). A body cut by the image's left or right border loses outline there, but its
    front and back keep their axis, so a crop moves the axis by a fraction of a pixel (the mask's
    centroid moved by up to 4% of the image). The peak is refined with a parabola through its neighbours.
    """
    import numpy as np
    from scipy import ndimage

    width = filled.shape[1]
    if width < 4:
        return None
    smooth = ndimage.gaussian_filter(filled.astype(np.float64), 1.0)
    n = 2 * width
    gy = np.fft.rfft(ndimage.sobel(smooth, 0), n, axis=1)
    gx = np.fft.rfft(ndimage.sobel(smooth, 1), n, axis=1)
    s = np.fft.irfft(gy * gy - gx * gx, n, axis=1).sum(axis=0)
    lo, hi = width // 2, 3 * width // 2  # axes in the middle half: [width / 4, 3 width / 4]
    k = lo + int(np.argmax(s[lo:hi]))
    if s[k] <= 1e-9 * filled.size:
        return None
    a, b, c = float(s[k - 1]), float(s[k]), float(s[k + 1])
    curve = a - 2 * b + c
    offset = min(0.5, max(-0.5, 0.5 * (a - c) / curve)) if curve < 0 else 0.0
    return (k + offset) / 2 + 0.5


def _anchor(g: np.ndarray) -> tuple[float, float, float] | None:
    """(centre y, centre x, radius) of the square to hash, in ``g``'s pixels, or None (hash it whole).

    Everything is measured where a crop of a few percent changes nothing: in a band of columns
    (:data:`BAND`) around the body's mirror axis (:func:`_mirror_axis`), not over the whole body,
    whose centroid and spread move when the body touches the image's border (shoulders and arms at
    the lung apex, a large abdomen) and a crop cuts it there.

    The dark regions that the body encloses (lungs, in a chest CT slice; not the air between the
    body and the table, which a crop of the table's edge opens) lie inside the image even when a crop
    cuts the body at the border, so they are the anchor when they are at least :data:`HOLES_SHARE` of
    the filled body in the band (a share of the body, not of the image, so that cropping background
    does not flip the choice; both measured in the band, so that cutting an arm does not either):
    their centroid +- :data:`HOLES_RADIUS` standard deviations. Else the square is centred on the
    axis and on the band's mean row, with a radius of :data:`BAND_RADIUS` standard deviations of the
    band's rows. The square is kept small so that it stays inside what a small crop leaves: padding
    where a copy has none changes the hash a lot.
    """
    import numpy as np

    bright, filled = _body(g)
    if int(filled.sum()) < 16:
        return None
    axis = _mirror_axis(filled)
    if axis is None:
        return None
    height, width = g.shape
    # soft edges: a band that moves by a fraction of a pixel changes its weights by that fraction
    w = np.clip(BAND * width + 0.5 - np.abs(np.arange(width) + 0.5 - axis), 0.0, 1.0)
    band = filled * w[None, :]
    holes = filled & ~bright
    if float((holes * w[None, :]).sum()) > HOLES_SHARE * max(1.0, float(band.sum())):
        ys, xs = np.nonzero(holes)
        cy, cx = float(ys.mean()) + 0.5, float(xs.mean()) + 0.5
        radius = HOLES_RADIUS * max(float(ys.std()), float(xs.std()))
    else:
        total = float(band.sum())
        if total < 16:
            return None
        rows = np.arange(height, dtype=np.float64)[:, None] + 0.5
        cy, cx = float((band * rows).sum()) / total, axis
        radius = BAND_RADIUS * float(np.sqrt((band * (rows - cy) ** 2).sum() / total))
    if radius < 4:
        return None
    # to 1/256 pixel: the last bits of the FFT and the means may differ between numpy releases, the hash may not
    return round(cy * 256) / 256, round(cx * 256) / 256, round(radius * 256) / 256


def hash_image(g: np.ndarray) -> Any:
    """The 64x64 image the DCT hash is taken of: ``g`` (8-bit) framed around its anchor."""
    import numpy as np
    from PIL import Image

    im = Image.fromarray(np.ascontiguousarray(g), "L")
    scale = WORK_SIZE / max(im.size)
    if scale < 1:
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.Resampling.BILINEAR)
    small = np.asarray(im)
    anchor = _anchor(small)
    if anchor is None:
        return im.resize((HASH_IMAGE, HASH_IMAGE), Image.Resampling.BILINEAR)
    cy, cx, r = anchor
    pad = int(np.ceil(r)) + 2
    padded = Image.fromarray(np.pad(small, pad, mode="constant", constant_values=0), "L")
    box = (cx - r + pad, cy - r + pad, cx + r + pad, cy + r + pad)
    return padded.resize((HASH_IMAGE, HASH_IMAGE), Image.Resampling.BILINEAR, box=box)


def perceptual_hash(arr: np.ndarray, *, hounsfield: bool | None = None) -> bytes:
    """The 256-bit perceptual hash of one 2-D image, as 32 bytes (see the module docstring)."""
    import imagehash
    import numpy as np

    bits = imagehash.phash(hash_image(view8(arr, hounsfield=hounsfield)), hash_size=16).hash
    return np.packbits(np.asarray(bits, dtype=bool).ravel()).tobytes()


def hamming(a: bytes, b: bytes) -> int:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()


__all__ = ["LUNG_WINDOW", "PHASH_BITS", "PHASH_SPEC", "PIXELS_SPEC", "canonical_pixels", "file_sha256", "hamming",
           "looks_like_hu", "perceptual_hash", "pixel_sha256", "stream_sha256", "view8"]
