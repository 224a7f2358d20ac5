"""Colour conversions: the sRGB transfer function (IEC 61966-2-1) between scene-linear light, what EXR
holds, and the encoded values the models and the 8- and 16-bit formats hold."""

from __future__ import annotations

import numpy as np


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """Scene-linear values as sRGB-encoded ones in [0, 1] (values outside [0, 1] clip)."""
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in [0, 1] as scene-linear ones."""
    return np.where(x <= 0.04045, x / 12.92, np.power((x + 0.055) / 1.055, 2.4))


def linear_to_srgb8(x: np.ndarray) -> np.ndarray:
    """Scene-linear float pixels as 8-bit sRGB, rounded to the nearest code."""
    return (linear_to_srgb(x) * 255 + 0.5).astype(np.uint8)


def srgb16_to_linear(x: np.ndarray) -> np.ndarray:
    """16-bit sRGB pixels as scene-linear float32."""
    return srgb_to_linear(x.astype(np.float32) / 65535)
