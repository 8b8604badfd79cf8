"""Data fingerprints: find the same images and patients within and across datasets, and in your own data.

- :mod:`covidct.fingerprint.hashing`: the file, pixel and perceptual hashes of one image;
- :mod:`covidct.fingerprint.manifest`: a Parquet manifest of a card config or of any folder;
- :mod:`covidct.fingerprint.overlaps`: duplicates between manifests and across the splits of one.

Needs the extra ``covidct[fingerprint]`` (imagehash, pyarrow and the readers).
"""

from __future__ import annotations

from covidct.extras import require

EXTRA = "fingerprint"
DEFAULT_NEAR = 24  # near duplicates: perceptual hashes within this many of 256 bits (here: no numpy for --help)


def require_extra() -> None:
    """Raise :class:`covidct.extras.MissingExtra` naming ``covidct[fingerprint]`` when a library is missing."""
    for module in ("numpy", "PIL", "imagehash", "scipy", "pyarrow"):
        require(module, EXTRA)
