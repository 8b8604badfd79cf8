"""The three hashes of one image: file, canonical pixels, perceptual (on files written with the real libraries)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from conftest import need

need("imagehash")
need("pyarrow")

from fpsynth import crop5, ct_slice, half, jpeg_bytes, lung_window, save_png, shoulder_slice, write_dicom  # noqa: E402

from covidct.fingerprint import hashing  # noqa: E402
from covidct.fingerprint.hashing import hamming, perceptual_hash, pixel_sha256, view8  # noqa: E402
from covidct.fingerprint.manifest import Task, fingerprint_file  # noqa: E402
from covidct.fingerprint.overlaps import DEFAULT_NEAR  # noqa: E402


def _rows(path: Path, **kw: object) -> list[dict]:
    res = fingerprint_file(Task(str(path), path.name, folder_mode=True, **kw))  # type: ignore[arg-type]
    assert res.error is None, res.error
    return res.rows


def test_same_values_in_four_containers_have_one_pixel_hash(tmp_path: Path) -> None:
    tifffile = need("tifffile")
    need("pydicom")
    from PIL import Image

    arr = (np.arange(64 * 48, dtype=np.uint32).reshape(64, 48) * 13 % 4000).astype(np.uint16)
    Image.fromarray(arr).save(tmp_path / "a.png")  # 16-bit greyscale PNG
    tifffile.imwrite(tmp_path / "b.tif", arr)
    write_dicom(tmp_path / "c.dcm", arr, modality="MR")
    np.save(tmp_path / "d.npy", arr.astype(np.float32))  # the same values as floats
    hashes = {p: _rows(tmp_path / p)[0]["pixel_sha256"] for p in ("a.png", "b.tif", "c.dcm", "d.npy")}
    assert len(set(hashes.values())) == 1, hashes
    files = {p: _rows(tmp_path / p)[0]["sha256"] for p in hashes}
    assert len(set(files.values())) == 4  # four different files


def test_one_changed_pixel_changes_the_pixel_hash_but_not_the_look() -> None:
    a = ct_slice(1)
    b = a.copy()
    b[100, 100] += 1
    assert pixel_sha256(a) != pixel_sha256(b)
    assert hamming(perceptual_hash(a), perceptual_hash(b)) <= 2


def test_grey_rgb_is_grey_and_shape_counts() -> None:
    g = lung_window(ct_slice(2))
    assert pixel_sha256(np.stack([g, g, g], -1)) == pixel_sha256(g)
    assert pixel_sha256(g.reshape(128, 512)) != pixel_sha256(g)  # same bytes, other shape
    assert pixel_sha256(g.astype(np.int32)) == pixel_sha256(g)
    assert pixel_sha256(g.astype(np.float64) + 0.5) != pixel_sha256(g)


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.float32])
def test_hounsfield_extremes_window_without_overflow(dtype: type) -> None:
    # integer arithmetic on int16 HU wraps (-1024 + 1350 fits; 32767 + 1350 does not): the window must not
    hu = np.array([[-32768, -1350, -600, 150, 32767, 0]], dtype=dtype)
    out = view8(hu, hounsfield=True)
    assert out.tolist() == [[0, 0, 128, 255, 255, 230]]


def test_view8_scales_other_deep_images_from_min_to_max() -> None:
    raw = np.array([[1000, 2000], [3000, 65535]], np.uint16)
    assert view8(raw).tolist() == [[0, 4], [8, 255]]
    flat = np.full((4, 4), 7, np.uint16)
    assert view8(flat).tolist() == [[0] * 4] * 4
    nan = np.array([[np.nan, 1.0], [2.0, 3.0]], np.float32)
    assert view8(nan).tolist() == [[0, 0], [128, 255]]


def test_perceptual_hash_is_pinned() -> None:
    """The hash of a fixed image never changes with the installed release of Pillow, scipy or imagehash:
    published manifests would stop matching."""
    yy, xx = np.mgrid[0:200, 0:240]
    img = ((xx * 255 // 239) ^ (yy * 3)).astype(np.uint8)
    img[((yy - 100) ** 2 + (xx - 120) ** 2) < 50**2] //= 3
    assert perceptual_hash(img).hex() == PINNED
    assert hashing.PHASH_SPEC == "covidct-phash256/3"


PINNED = "80fe48deb254c26e2f50a6dd6917ec76ea563b016b443a59c17d94bad29b942c"


def test_exports_of_a_ct_slice_are_near_and_other_slices_are_not(tmp_path: Path) -> None:
    need("pydicom")
    from PIL import Image

    found = {"windowed": 0, "jpeg": 0, "half": 0, "crop": 0}
    for seed in range(6):
        hu = ct_slice(seed)
        ref = _rows(write_dicom(tmp_path / f"s{seed}.dcm", hu, sop=f"1.2.3.{seed}"))[0]["phash"]
        w = lung_window(hu)
        copies = {"windowed": save_png(tmp_path / f"w{seed}.png", w),
                  "half": save_png(tmp_path / f"h{seed}.png", half(w)),
                  "crop": save_png(tmp_path / f"c{seed}.png", crop5(w))}
        (tmp_path / f"j{seed}.jpg").write_bytes(jpeg_bytes(w))
        copies["jpeg"] = tmp_path / f"j{seed}.jpg"
        for kind, path in copies.items():
            found[kind] += hamming(ref, _rows(path)[0]["phash"]) <= DEFAULT_NEAR
        assert Image.open(copies["jpeg"]).format == "JPEG"
    assert found["windowed"] == found["jpeg"] == found["half"] == 6, found
    assert found["crop"] >= 5, found
    distinct = [perceptual_hash(ct_slice(s), hounsfield=True) for s in range(100, 130)]
    dists = [hamming(a, b) for i, a in enumerate(distinct) for b in distinct[i + 1:]]
    assert min(dists) > DEFAULT_NEAR


def test_real_dicom_slice_and_its_8bit_export_agree(samples_dir: Path, tmp_path: Path) -> None:
    need("libjpeg")
    from covidct.readers import read

    p002 = sorted((samples_dir / "covid-ct-md" / "COVID-19 subjects" / "P002").glob("*.dcm"))
    normal = sorted((samples_dir / "covid-ct-md" / "Normal subjects" / "normal002").glob("*.dcm"))
    for path in (p002[60], p002[90]):  # mid-chest: the lungs anchor the hash, a 5% crop keeps them whole
        row = _rows(path)[0]
        assert row.get("series_uid") and row.get("study_uid")  # the identity tags are kept
        assert row["patient_id"] == "P002"
        w = lung_window(read(path).array)
        save_png(tmp_path / "w.png", w)
        (tmp_path / "j.jpg").write_bytes(jpeg_bytes(w))
        save_png(tmp_path / "c.png", crop5(w))
        save_png(tmp_path / "h.png", half(w))
        for copy in ("w.png", "j.jpg", "c.png", "h.png"):
            assert hamming(row["phash"], _rows(tmp_path / copy)[0]["phash"]) <= DEFAULT_NEAR, copy
    other = _rows(normal[0])[0]["phash"]
    assert all(hamming(other, _rows(p)[0]["phash"]) > DEFAULT_NEAR for p in p002[::10])


def test_jpeg_bytes_helper_really_is_lossy() -> None:
    from PIL import Image

    w = lung_window(ct_slice(3))
    back = np.asarray(Image.open(io.BytesIO(jpeg_bytes(w))))
    assert back.shape == w.shape and (back != w).any()


def test_crop_that_cuts_the_table_keeps_the_hash(samples_dir: Path) -> None:
    """Real upper-chest slices where the curved CT table under the body encloses a pocket of air: a 5% crop
    that cuts the table's bottom opened that pocket, the anchor moved by 14 pixels and the copy was 70-140
    bits away. The anchor is now found in the body alone (the largest bright component)."""
    need("libjpeg")
    from covidct.readers import read

    p002 = sorted((samples_dir / "covid-ct-md" / "COVID-19 subjects" / "P002").glob("*.dcm"))
    for path in p002[14:21]:
        w = lung_window(read(path).array)
        cropped = w[4:-22, 22:-4]  # 26 of 512 rows and columns: 5%, most of it at the bottom and the left
        assert hamming(perceptual_hash(w), perceptual_hash(cropped)) <= DEFAULT_NEAR, path.name


def _framing(w: np.ndarray, top: int, left: int) -> tuple[float, float, float]:
    """Where the hash of ``w`` (a crop whose corner was at ``top``, ``left`` of the original) is framed:
    centre y, centre x and radius, in the original's pixels."""
    from PIL import Image

    im = Image.fromarray(w)
    scale = hashing.WORK_SIZE / max(im.size)
    small = np.asarray(im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.BILINEAR))
    anchor = hashing._anchor(small)
    assert anchor is not None
    cy, cx, r = anchor
    return cy / scale + top, cx / scale + left, r / scale


def test_crop_of_a_body_wider_than_the_image_keeps_the_framing() -> None:
    """Shoulders and arms reach past both side borders: a 5% crop cut them there, the body's centroid moved
    by up to 4% of the image and its spread by 6%, so the copy was 50-90 bits away. The hash is now framed
    on the outline's mirror axis and on the rows of a band around it, which such a crop leaves alone."""
    found = total = 0
    for seed in range(12):
        hu = shoulder_slice(seed)
        w = lung_window(hu)
        assert (w[:, 0] > 100).any() and (w[:, -1] > 100).any()  # the body is cut by both side borders
        cy, cx, r = _framing(w, 0, 0)
        ref = perceptual_hash(hu, hounsfield=True)
        for left_share, top_share in ((0, 0), (1, 1), (0, 1), (1, 0), (0.5, 0.5)):
            crop = crop5(w, left_share, top_share)
            ch, cw = w.shape[0] - crop.shape[0], w.shape[1] - crop.shape[1]
            y, x, rr = _framing(crop, round(ch * top_share), round(cw * left_share))
            assert abs(y - cy) < 0.01 * r and abs(x - cx) < 0.01 * r and abs(rr - r) < 0.02 * r, (seed, left_share)
            found += hamming(ref, perceptual_hash(crop)) <= DEFAULT_NEAR
            total += 1
    # flat synthetic tissue puts many DCT coefficients near their median, so some bits flip with the resampling
    # alone: 41 of 60 here (3 of 60 before); the real slices below are held to the 95%
    assert found >= 0.6 * total, (found, total)


def test_real_slices_cut_by_the_border_keep_their_hash_when_cropped(samples_dir: Path) -> None:
    """The real slices whose body (shoulders, arms) reaches past the side borders: the 14 top slices of P002
    and the 4 of normal002. Each lung-window export is cropped by 5% (26 of 512 pixels) in 9 placements:
    on today's main all 162 copies were 46-136 bits away; the issue asks for 95% within DEFAULT_NEAR."""
    need("libjpeg")
    from covidct.readers import read

    base = samples_dir / "covid-ct-md"
    paths = sorted((base / "COVID-19 subjects" / "P002").glob("*.dcm"))[:14]
    paths += sorted((base / "Normal subjects" / "normal002").glob("*.dcm"))
    assert len(paths) == 18
    found = total = 0
    far = []
    for path in paths:
        hu = read(path).array
        w = lung_window(hu)
        assert (w[:, :2] > 150).sum() > 40 and (w[:, -2:] > 150).sum() > 40, path  # body cut by both side borders
        ref = perceptual_hash(hu, hounsfield=True)
        for top in (0, 13, 26):
            for left in (0, 13, 26):
                d = hamming(ref, perceptual_hash(w[top:top + 486, left:left + 486]))
                found += d <= DEFAULT_NEAR
                total += 1
                if d > DEFAULT_NEAR:
                    far.append((path.name, top, left, d))
    assert found >= 0.95 * total, far
