"""What an edit of a toy scene did, measured against the scene's exact truth (issue 14, item 4).

* structure error: a depth estimate of the output against the scene's exact depth, scale and
  shift fitted (the report's metric, on exact depth in the pipeline's convention);
* material share: which material of the vocabulary each surface (objects, floor, background)
  shows inside its exact mask, from colour and pattern alone (no CLIP, no model), and the share of
  surfaces that show the wanted one; chance beside it;
* flicker: mean frame-to-frame change inside the pixels that are static in the source (the same
  surface, which did not move, under a camera that did not move).

Pure numpy functions of frames, masks and scenes: no model, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from gen1_batch.model import metrics  # the scale-and-shift structure error
from gen1_batch.model.metrics import relative_depth
from gen1_batch.toy.render import srgb_to_linear
from gen1_batch.toy.world import COLOURS, MATERIALS, PATTERNS, Material, Scene

MIN_PIXELS = 48  # a surface with fewer interior pixels in the whole clip is not judged
TINT_SATURATION = 0.55  # below this share of the surface's own saturation a pixel shows the tint
FLAT_BELOW = 0.08  # a surface with less tint than this is flat
DOTS_BELOW = 0.42  # dots cover about 20% of a surface (render.DOT_RADIUS), checks and stripes half
STRIPES_ANISOTROPY = 2.0  # stripes change this many times more often down than across


# ------------------------------------------------------------------------------------------ structure

def structure_error(estimated: np.ndarray, exact_depth: np.ndarray) -> float:
    """Scale-and-shift-fitted error of an estimated depth (f×h×w, the pipeline's near = high
    convention) against a scene's exact depth (f×h×w, world units)."""
    return metrics.structure_error(relative_depth(exact_depth), estimated)


# ------------------------------------------------------------------------------------------- material

def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of uint8 sRGB pixels (n×3)."""
    linear = srgb_to_linear(np.asarray(rgb, np.float64) / 255)
    xyz = linear @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    xyz /= np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], 1)


def _hue(lab: np.ndarray) -> np.ndarray:
    return np.arctan2(lab[..., 2], lab[..., 1])


PALETTE_HUES = _hue(srgb_to_lab(np.array(list(COLOURS.values()))))


def saturation(rgb: np.ndarray) -> np.ndarray:
    """(max − min) / max of uint8 RGB: unchanged by shading, which scales a pixel's channels."""
    rgb = np.asarray(rgb, np.float64)
    top = rgb.max(-1)
    return (top - rgb.min(-1)) / np.maximum(top, 1)


def interior(masks: np.ndarray, label: int) -> np.ndarray:
    """Pixels of a surface whose four neighbours are the same surface (its edges mix colours)."""
    on = masks == label
    inside = on.copy()
    inside[:, 1:] &= on[:, :-1]
    inside[:, :-1] &= on[:, 1:]
    inside[:, :, 1:] &= on[:, :, :-1]
    inside[:, :, :-1] &= on[:, :, 1:]
    return inside


@dataclass(frozen=True)
class Pattern:
    tint_share: float  # share of the surface's pixels showing the pale tone
    anisotropy: float  # how much more often the tone changes going down than going across


def pattern_features(frames: np.ndarray, inside: np.ndarray) -> Pattern:
    """Tint share and the direction of its changes over a surface's interior pixels (f×h×w)."""
    s = saturation(frames)
    reference = np.quantile(s[inside], 0.9)
    tint = s < TINT_SATURATION * reference
    down = inside[:, 1:] & inside[:, :-1]
    across = inside[:, :, 1:] & inside[:, :, :-1]
    rate_down = np.mean((tint[:, 1:] != tint[:, :-1])[down]) if down.any() else 0.0
    rate_across = np.mean((tint[:, :, 1:] != tint[:, :, :-1])[across]) if across.any() else 0.0
    return Pattern(float(np.mean(tint[inside])), float((rate_down + 1e-3) / (rate_across + 1e-3)))


def classify_pattern(features: Pattern) -> str:
    if features.tint_share < FLAT_BELOW or features.tint_share > 1 - FLAT_BELOW:
        return "flat"
    if features.anisotropy > STRIPES_ANISOTROPY:
        return "stripes"
    return "dots" if features.tint_share < DOTS_BELOW else "checks"


def classify_colour(pixels: np.ndarray) -> str:
    """The vocabulary colour nearest in CIELAB hue to a surface's saturated pixels (n×3 uint8)."""
    s = saturation(pixels)
    saturated = pixels[s >= TINT_SATURATION * np.quantile(s, 0.9)]
    lab = srgb_to_lab(saturated).mean(0)
    distance = np.abs(np.angle(np.exp(1j * (PALETTE_HUES - _hue(lab)))))
    return list(COLOURS)[int(np.argmin(distance))]


def surface_material(frames: np.ndarray, masks: np.ndarray, label: int) -> Material | None:
    """The material a surface shows in uint8 f×h×w×3 frames, inside its exact masks (f×h×w);
    None when too little of it is visible to judge."""
    inside = interior(masks, label)
    if inside.sum() < MIN_PIXELS:
        return None
    return Material(classify_colour(frames[inside]), classify_pattern(pattern_features(frames, inside)))


def shown_materials(frames: np.ndarray, masks: np.ndarray, surfaces: int) -> tuple[Material | None, ...]:
    """What each of `surfaces` mask labels shows (see surface_material)."""
    return tuple(surface_material(frames, masks, label) for label in range(surfaces))


@dataclass(frozen=True)
class MaterialScore:
    surfaces: int  # surfaces judged (visible enough)
    material: float  # share showing the wanted colour and pattern
    colour: float
    pattern: float

    # What a measure that guesses uniformly from the vocabulary scores on average.
    chance_material = 1 / len(MATERIALS)
    chance_colour = 1 / len(COLOURS)
    chance_pattern = 1 / len(PATTERNS)


def material_share(frames: np.ndarray, masks: np.ndarray, wanted: tuple[Material, ...],
                   labels: Iterable[int] | None = None) -> MaterialScore:
    """How many surfaces show their wanted material (one per mask label), as shares of those judged;
    `labels`: only those surfaces (e.g. the objects), all by default."""
    shown = shown_materials(frames, masks, len(wanted))
    pairs = [(shown[k], wanted[k]) for k in (range(len(wanted)) if labels is None else labels)
             if shown[k] is not None]
    if not pairs:
        return MaterialScore(0, float("nan"), float("nan"), float("nan"))
    return MaterialScore(len(pairs), float(np.mean([s == w for s, w in pairs])),
                         float(np.mean([s.colour == w.colour for s, w in pairs])),
                         float(np.mean([s.pattern == w.pattern for s, w in pairs])))


# -------------------------------------------------------------------------------------------- flicker

def static_pixels(scene: Scene, masks: np.ndarray, start: int = 0) -> np.ndarray:
    """bool (f−1)×h×w: pixels showing the same unmoved surface in frames i and i+1 under a camera
    that did not move between them (frames numbered from `start`)."""
    out = np.zeros((len(masks) - 1, *masks.shape[1:]), bool)
    for i in range(len(masks) - 1):
        frame = start + i
        if not _same_camera(scene, frame):
            continue
        unmoved = [_same_pose(o.pose(frame), o.pose(frame + 1)) for o in scene.objects] + [True, True]
        out[i] = (masks[i] == masks[i + 1]) & np.asarray(unmoved)[masks[i]]
    return out


def _same_pose(a: tuple, b: tuple) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def _same_camera(scene: Scene, frame: int) -> bool:
    return _same_pose(scene.camera.pose(frame), scene.camera.pose(frame + 1))


def flicker(frames: np.ndarray, static: np.ndarray) -> float | None:
    """Mean absolute frame-to-frame change (0–1 of full scale) over the static pixels; None when
    the source has none."""
    if not static.any():
        return None
    change = np.abs(np.diff(np.asarray(frames, np.float64), axis=0)).mean(-1) / 255
    return float(change[static].mean())
