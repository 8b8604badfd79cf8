"""Masks from run-length text (`layout.labels.<mask>.rle`): the decoder against Kaggle's reference algorithm on
real SIIM-ACR rows, its other orders and offsets, and hostile cells."""

from __future__ import annotations

import numpy as np
import pytest

from covidct.fixtures import rle_text
from covidct.readers import ReadError
from covidct.readers.rle import RleFormat, mask, runs

SIIM = RleFormat(shape=(1024, 1024), order="column-major", offsets="relative", empty="-1")


def kaggle_rle2mask(rle: str, width: int, height: int) -> np.ndarray:
    """Kaggle's SIIM-ACR `mask_functions.rle2mask`, as committed in
    github.com/prasadsawant5/kaggle-pneumothorax@f37dfebbe52daa3812c0103d88f0a3c14d6c5ab3:mask_functions.py (the same
    in aksg87/kaggle-pneumothorax@7e56a55:mask_functions.py, which also returns the transpose); reimplemented
    here line by line, because the reference is the test's oracle: relative offsets, 255 inside, the flat array
    reshaped to (width, height), which the competition's users transpose to get rows × columns."""
    m = np.zeros(width * height)
    array = np.asarray([int(x) for x in rle.split()])
    starts = array[0::2]
    lengths = array[1::2]
    current_position = 0
    for index, start in enumerate(starts):
        current_position += start
        m[current_position:current_position + lengths[index]] = 255
        current_position += lengths[index]
    return m.reshape(width, height)


# Real rows of the SIIM-ACR training table (ImageId, EncodedPixels), from torchxrayvision's copy of the stage-2
# train-rle.csv: github.com/mlmed/torchxrayvision@f4087a0b0d0cdc6a5877fb5456965b6d29adb1e5:
# torchxrayvision/data/siim-pneumothorax-train-rle.csv.gz (12,954 rows; sha256 of the CSV
# 4a2d2a463511c0205f46768bbce1ef0172ac02415b84d7bfc430d70c58b55b4f). The four shortest non-empty rows, and two
# images with two rows each.
REAL_ROWS = {
    "1.2.276.0.7230010.3.1.4.8323329.31952.1517875157.662284": [
        "870068 1 1018 7 988 36 988 35 989 35 991 32 996 27 1001 20 1006 16 1011 10"],
    "1.2.276.0.7230010.3.1.4.8323329.32421.1517875160.491792": [
        "912141 1 1024 4 1020 5 1019 6 1018 8 1017 9 1015 11 1014 10 1014 9 1016 8 1017 6 1019 3"],
    "1.2.276.0.7230010.3.1.4.8323329.13291.1517875244.527846": [
        "826700 13 1007 27 996 38 986 43 983 50 978 48 981 47 982 45 984 41 993 32 1006 18 1016 8"],
    "1.2.276.0.7230010.3.1.4.8323329.14312.1517875250.941093": [
        "752202 7 1017 49 976 55 971 58 970 57 971 56 970 56 971 55 973 52 976 50 979 46 993 30 1001 21"],
    "1.2.276.0.7230010.3.1.4.8323329.4588.1517875183.632318": [
        "482591 9 1008 17 1004 21 1001 24 998 26 996 27 995 28 994 29 993 30 992 31 991 33 989 34 988 35 987 34 989 "
        "32 990 32 990 32 990 32 990 32 991 32 990 32 991 32 991 31 992 30 992 30 993 28 994 27 996 26 998 25 998 24 "
        "997 26 995 26 995 27 994 28 993 30 991 31 991 32 992 31 993 31 994 29 996 27 998 25 1000 24 1001 22 1003 20 "
        "1005 19 1007 16 1009 15 1011 13 1012 11 1014 10 1016 7 1019 3",
        "628019 18 1006 20 1003 23 1001 25 998 27 997 28 995 29 994 31 992 32 991 33 990 35 988 36 989 35 990 35 990 "
        "34 991 33 995 29 999 24 1003 21 1005 19 1009 14 1015 6"],
    "1.2.276.0.7230010.3.1.4.8323329.11336.1517875232.435851": [
        "188973 6 995 28 990 34 986 37 982 42 979 44 977 46 976 48 976 47 982 42 984 39 988 35 990 34 992 31 994 30 "
        "995 28 997 26 999 25 1000 23 1001 23 1002 21 1004 19 1005 19 1006 17 1007 17 1008 15 1010 13 1011 13 1012 11 "
        "1013 11 1014 9 1016 7 1018 6 1019 4 1020 4 1021 2 1022 1 1023 1",
        "427577 1 1023 2 1022 2 1022 3 1021 3 1020 5 1019 6 1017 8 1016 9 1014 11 1013 12 1011 14 1010 15 1009 16 1007 "
        "18 1006 19 1005 20 1003 22 1002 22 1001 24 1000 25 998 27 997 28 995 29 995 30 994 31 992 32 992 33 990 35 "
        "988 36 987 38 985 40 984 41 982 43 980 43 980 40 983 36 994 27 1002 9"],
}


@pytest.mark.parametrize("image_id", sorted(REAL_ROWS))
def test_real_siim_rows_decode_as_kaggles_reference_does(image_id: str) -> None:
    rows = REAL_ROWS[image_id]
    want = np.zeros((1024, 1024), dtype=bool)
    for rle in rows:  # several rows of one image: their union
        want |= kaggle_rle2mask(rle, 1024, 1024).T > 0
    got = mask(rows, SIIM)
    assert got.dtype == np.uint8 and got.shape == (1024, 1024)
    assert np.array_equal(got, want.astype(np.uint8))
    assert got.sum() > 0
    # each row alone, too, and the mask value is the one asked for
    assert np.array_equal(mask(rows[:1], SIIM, value=7) == 7, kaggle_rle2mask(rows[0], 1024, 1024).T > 0)


def test_the_empty_marker_and_blank_cells_have_no_runs() -> None:
    for cell in ("-1", " -1", "", None, "  "):
        assert mask([cell], SIIM).sum() == 0
    assert len(runs(" -1", SIIM)[0]) == 0


@pytest.mark.parametrize("order", ["column-major", "row-major"])
@pytest.mark.parametrize(("offsets", "start"), [("relative", 1), ("absolute", 1), ("absolute", 0)])
def test_orders_and_offsets_round_trip_on_a_non_square_mask(order: str, offsets: str, start: int) -> None:
    rng = np.random.default_rng(3)
    want = rng.random((5, 7)) > 0.6
    text = rle_text(want, order, offsets, start)
    fmt = RleFormat(shape=(5, 7), order=order, offsets=offsets, start=start)
    assert np.array_equal(mask([text], fmt), want.astype(np.uint8))
    # the order is not ignored: the same text read the other way is another mask
    other = RleFormat(shape=(5, 7), order="row-major" if order == "column-major" else "column-major",
                      offsets=offsets, start=start)
    assert not np.array_equal(mask([text], other), want.astype(np.uint8))


def test_absolute_runs_of_several_rows_may_overlap_and_come_in_any_order() -> None:
    fmt = RleFormat(shape=(2, 5), order="row-major", offsets="absolute", start=1)
    got = mask(["7 3 1 2", "2 2"], fmt)
    assert got.tolist() == [[1, 1, 1, 0, 0], [0, 1, 1, 1, 0]]


@pytest.mark.parametrize(("cell", "message"), [
    ("1 2 3", "odd count"),
    ("-5 3", "'-'"),
    ("5 -3", "'-'"),
    ("+5 3", "'+'"),
    ("5 3.0", "'.'"),
    ("1_0 3", "'_'"),
    ("\u0661 3", "'\u0661'"),  # an Arabic-Indic digit, which int() would accept
    ("5\n3", "'\\n'"),
    ("1 " + "9" * 5000, "more than 18 digits"),
    ("0 1048577", "beyond the 1,048,576 pixels"),
    ("1048570 3 10 10", "ends at pixel"),
    ("0 1048576 0 1", "ends at pixel"),
    ("0 " + "1 0 " * 1_100_000 + "1", "more than 2,097,152 numbers"),
    ("0" * 40_000_000, "longer than any mask"),
])
def test_hostile_cells_are_refused_with_one_message(cell: str, message: str) -> None:
    with pytest.raises(ReadError, match=None) as err:
        mask([cell], SIIM, where="train-rle.csv row 7, column ' EncodedPixels'")
    text = str(err.value)
    assert message in text, text
    assert text.startswith("train-rle.csv row 7")


def test_absolute_offsets_before_the_first_pixel_are_refused() -> None:
    fmt = RleFormat(shape=(4, 4), order="row-major", offsets="absolute", start=1)
    with pytest.raises(ReadError, match="before the first pixel"):
        mask(["0 2"], fmt)
    assert mask(["0 2"], RleFormat(shape=(4, 4), order="row-major", offsets="absolute", start=0)).sum() == 2


def test_a_shape_beyond_the_decode_limit_is_refused_before_anything_is_allocated(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COVIDCT_MAX_DECODED_BYTES", "1000")
    with pytest.raises(ReadError, match="refused before decoding"):
        mask(["0 1"], RleFormat(shape=(1024, 1024)))
