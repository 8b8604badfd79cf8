"""The lossless rescale shared by DICOM and NIfTI: exact values, the narrowest signed integer type."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from covidct.readers._common import rescale


@settings(max_examples=200, deadline=None)
@given(
    raw=arrays(st.sampled_from([np.uint8, np.uint16, np.int16, np.int32]), st.integers(1, 20)),
    slope=st.integers(-4, 4).filter(bool),
    intercept=st.integers(-70000, 70000),
)
def test_integral_rescale_is_exact(raw, slope, intercept):
    expected = raw.astype(np.int64) * slope + intercept
    out = rescale(raw.copy(), slope, intercept, owned=True)
    assert out.dtype.kind == "i"
    np.testing.assert_array_equal(out.astype(np.int64), expected)
    if expected.min() >= -32768 and expected.max() <= 32767:
        assert out.dtype == np.int16  # narrowest type whenever the values fit


def test_ct_storage_becomes_int16_even_through_wraparound():
    raw = np.array([20000, 40000, 65535], np.uint16)  # int16 arithmetic wraps; the results still fit
    out = rescale(raw, 1, -40000)
    assert out.dtype == np.int16
    assert out.tolist() == [-20000, 0, 25535]


def test_stored_range_avoids_a_pass_over_the_data():
    raw = np.array([[0, 4095]], np.uint16)
    out = rescale(raw, 1, -1024, stored_range=(0, 4095))
    assert out.dtype == np.int16 and out.tolist() == [[-1024, 3071]]


def test_fractional_rescale_is_float32():
    out = rescale(np.array([0, 3], np.uint16), 0.5, -1024.25)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [-1024.25, -1022.75])


def test_float64_input_stays_float64():
    out = rescale(np.array([1.0, 2.0]), 2, 1)
    assert out.dtype == np.float64 and out.tolist() == [3.0, 5.0]


def test_not_owned_input_is_left_alone():
    raw = np.array([1, 2], np.int16)
    rescale(raw, 2, -1)
    assert raw.tolist() == [1, 2]
    identity = rescale(raw, 1, 0)
    assert identity is raw or identity.tolist() == [1, 2]


@pytest.mark.parametrize("dtype", [np.uint16, np.int16])
def test_identity_on_ct_storage_gives_signed(dtype):
    out = rescale(np.array([0, 1000], dtype), 1, 0)
    assert out.dtype == np.int16
