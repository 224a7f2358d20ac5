"""The sRGB transfer function: what a float EXR plate becomes for the models, and what an edit becomes in EXR."""

import numpy as np
import pytest

from gen1_batch.media.colour import linear_to_srgb, linear_to_srgb8, srgb16_to_linear, srgb_to_linear


def test_encoding_then_decoding_gives_back_the_linear_light():
    linear = np.linspace(0, 1, 10001)
    assert np.allclose(srgb_to_linear(linear_to_srgb(linear)), linear, atol=1e-12)


def test_the_curve_has_no_step_where_its_linear_toe_meets_its_power_segment_and_always_rises():
    for function, knee in ((linear_to_srgb, 0.0031308), (srgb_to_linear, 0.04045)):
        below, above = function(np.array([knee - 1e-9, knee + 1e-9]))
        assert abs(above - below) < 1e-6  # the standard's own constants leave a step of a few 1e-9
        assert np.all(np.diff(function(np.linspace(0, 1, 4097))) > 0)


def test_black_white_and_middle_grey_land_on_the_codes_sRGB_gives_them():
    assert list(linear_to_srgb8(np.array([0.0, 0.18, 1.0], np.float32))) == [0, 118, 255]


def test_light_brighter_than_white_clips_to_white_and_negative_values_to_black():
    codes = linear_to_srgb8(np.array([4.0, 1e6, -0.5], np.float32))
    assert codes.dtype == np.uint8 and list(codes) == [255, 255, 0]


def test_16_bit_codes_decode_to_linear_float32_from_black_to_white():
    decoded = srgb16_to_linear(np.array([0, 32768, 65535], np.uint16))
    assert decoded.dtype == np.float32
    assert decoded[0] == 0 and decoded[2] == pytest.approx(1.0)
    assert decoded[1] == pytest.approx(0.2140, abs=1e-4)  # the half code is 21.4 % of white's light
