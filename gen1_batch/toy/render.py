"""Ray casting of toy scenes in numpy: frames, exact per-pixel depth and object masks.

Every pixel's ray is intersected analytically with the floor (y = 0), the background wall
(z = WALL_Z), and each object (sphere, box, capped cylinder), so depth and masks are exact at
pixel centres. Colour is the mean of 2×2 samples per pixel (patterns do not alias into noise);
shading is Lambert's law from the exact normals with an ambient term, no shadows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gen1_batch.toy.world import COLOURS, TINT, Material, Scene, SceneObject

WALL_Z = 4.5
LIGHT = np.array([-0.45, 0.8, -0.4]) / np.linalg.norm([-0.45, 0.8, -0.4])
AMBIENT = 0.38  # shade = AMBIENT + (1 - AMBIENT)·max(0, n·l): never clips a pale tint
OBJECT_PERIODS = 2.0  # pattern periods across an object's width
DOT_RADIUS = 0.25  # in periods: dots cover π·0.25² ≈ 20% of a surface, checks and stripes half


@dataclass(frozen=True)
class Render:
    frames: np.ndarray  # uint8 f×h×w×3
    depth: np.ndarray  # float32 f×h×w: distance along the camera axis, world units
    masks: np.ndarray  # uint8 f×h×w: index into scene.surface_names


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0, 1)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055)


def albedo(material: Material) -> tuple[np.ndarray, np.ndarray]:
    """Linear RGB of a material's colour and of its pale tint (a pattern's second tone)."""
    colour = np.array(COLOURS[material.colour], np.float64) / 255
    return srgb_to_linear(colour), srgb_to_linear(colour + TINT * (1 - colour))


def pattern_mask(pattern: str, a: np.ndarray, b: np.ndarray, period_a: float, period_b: float) -> np.ndarray:
    """Where a surface shows the tint, from its surface coordinates (a across, b up) in periods.
    Stripes run along a (horizontal bands on objects and walls, across the view on the floor)."""
    u, v = a / period_a, b / period_b
    if pattern == "flat":
        return np.zeros(a.shape, bool)
    if pattern == "stripes":
        return np.floor(2 * v) % 2 == 1
    if pattern == "checks":
        return (np.floor(2 * u) + np.floor(2 * v)) % 2 == 1
    if pattern == "dots":
        return (u % 1 - 0.5) ** 2 + (v % 1 - 0.5) ** 2 < DOT_RADIUS**2
    raise ValueError(f"unknown pattern {pattern!r}")


def _rotation_y(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rotation_x(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


@dataclass
class _Hits:
    """The nearest hit so far for each ray: distance, label, normal, surface coordinates, periods."""
    t: np.ndarray
    label: np.ndarray
    normal: np.ndarray
    a: np.ndarray
    b: np.ndarray
    period_a: np.ndarray
    period_b: np.ndarray

    def take(self, t: np.ndarray, label: int, normal: np.ndarray, a: np.ndarray, b: np.ndarray,
             period_a: float, period_b: float) -> None:
        nearer = (t > 1e-6) & (t < self.t)
        self.t = np.where(nearer, t, self.t)
        self.label = np.where(nearer, label, self.label)
        self.normal = np.where(nearer[:, None], normal, self.normal)
        for name, value in (("a", a), ("b", b), ("period_a", period_a), ("period_b", period_b)):
            setattr(self, name, np.where(nearer, value, getattr(self, name)))


def _sphere(o: np.ndarray, d: np.ndarray, r: float) -> tuple[np.ndarray, np.ndarray]:
    """Distance to a sphere at the origin (inf on a miss) and the local hit points."""
    a = np.sum(d * d, 1)
    b = 2 * d @ o
    disc = b * b - 4 * a * (o @ o - r * r)
    t = np.where(disc >= 0, (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a), np.inf)
    return t, o + t[:, None] * d


def _box(o: np.ndarray, d: np.ndarray, half: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance to an axis-aligned box at the origin (slabs) and the axis of the face entered."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (-half - o) / d, (half - o) / d
    near, far = np.minimum(t1, t2), np.maximum(t1, t2)
    near = np.nan_to_num(near, nan=-np.inf)
    far = np.nan_to_num(far, nan=np.inf)
    t_near, t_far = near.max(1), far.min(1)
    return np.where((t_near <= t_far) & (t_far > 0), t_near, np.inf), near.argmax(1)


def _cylinder(o: np.ndarray, d: np.ndarray, r: float, hh: float) -> tuple[np.ndarray, np.ndarray]:
    """Distance to a capped vertical cylinder at the origin, and whether the hit is on a cap."""
    a = d[:, 0] ** 2 + d[:, 2] ** 2
    b = 2 * (o[0] * d[:, 0] + o[2] * d[:, 2])
    disc = b * b - 4 * a * (o[0] ** 2 + o[2] ** 2 - r * r)
    with np.errstate(divide="ignore", invalid="ignore"):
        side = np.where(disc >= 0, (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a), np.inf)
        side = np.where(np.abs(o[1] + side * d[:, 1]) <= hh, side, np.inf)
        cap = np.where(o[1] > 0, hh - o[1], -hh - o[1]) / d[:, 1]
    p = o + np.nan_to_num(cap, posinf=0, neginf=0)[:, None] * d
    cap = np.where((cap > 0) & (p[:, 0] ** 2 + p[:, 2] ** 2 <= r * r), cap, np.inf)
    return np.minimum(side, cap), cap < side


def _hit_object(hits: _Hits, label: int, obj: SceneObject, frame: float, origin: np.ndarray, d: np.ndarray) -> None:
    centre, yaw = obj.pose(frame)
    to_local = _rotation_y(-yaw)
    o, dl = to_local @ (origin - centre), d @ to_local.T
    r, hh = obj.radius, obj.half_height
    period = 2 * r / OBJECT_PERIODS
    around = 2 * math.pi * r / max(1, round(2 * math.pi * r / period))  # whole periods around a curved side
    if obj.shape == "ball":
        t, p = _sphere(o, dl, r)
        p = np.where(np.isfinite(t)[:, None], p, r)  # misses get any point on the sphere: never taken
        normal = p / r
        a = np.arctan2(p[:, 2], p[:, 0]) * r
        b = (math.pi - np.arccos(np.clip(p[:, 1] / r, -1, 1))) * r
        hits.take(t, label, normal @ to_local, a, b, around, period)
        return
    if obj.shape == "box":
        half = np.array([r, hh, r])
        t, axis = _box(o, dl, half)
        p = o + np.where(np.isfinite(t), t, 0)[:, None] * dl
        normal = np.zeros_like(p)
        rows = np.arange(len(p))
        normal[rows, axis] = np.sign(p[rows, axis])
        a = np.where(axis == 0, p[:, 2], p[:, 0])
        b = np.where(axis == 1, p[:, 2], p[:, 1] + hh)
        hits.take(t, label, normal @ to_local, a, b, period, period)
        return
    if obj.shape == "cylinder":
        t, on_cap = _cylinder(o, dl, r, hh)
        p = o + np.where(np.isfinite(t), t, 0)[:, None] * dl
        side_normal = np.stack([p[:, 0], np.zeros(len(p)), p[:, 2]], 1) / r
        cap_normal = np.stack([np.zeros(len(p)), np.sign(p[:, 1]), np.zeros(len(p))], 1)
        normal = np.where(on_cap[:, None], cap_normal, side_normal)
        a = np.where(on_cap, p[:, 0], np.arctan2(p[:, 2], p[:, 0]) * r)
        b = np.where(on_cap, p[:, 2], p[:, 1] + hh)
        hits.take(t, label, normal @ to_local, a, b, np.where(on_cap, period, around), period)
        return
    raise ValueError(f"unknown shape {obj.shape!r}")


def _rays(scene: Scene, frame: float, width: int, height: int, offsets: list[tuple[float, float]]):
    """The camera's origin and, per sample offset, its ray directions (n×3) scaled to unit camera z."""
    origin, yaw, focal = scene.camera.pose(frame)
    rotation = _rotation_y(yaw) @ _rotation_x(scene.camera.pitch)
    py, px = np.mgrid[0:height, 0:width].astype(np.float64)
    scale = focal * width / 2
    dirs = []
    for dx, dy in offsets:
        cam = np.stack([(px + 0.5 + dx - width / 2) / scale, -(py + 0.5 + dy - height / 2) / scale,
                        np.ones_like(px)], -1).reshape(-1, 3)
        dirs.append(cam @ rotation.T)
    return origin, dirs


def _trace(scene: Scene, frame: float, origin: np.ndarray, d: np.ndarray) -> _Hits:
    n = len(d)
    hits = _Hits(np.full(n, np.inf), np.zeros(n, np.uint8), np.zeros((n, 3)), np.zeros(n), np.zeros(n),
                 np.ones(n), np.ones(n))
    names = scene.surface_names
    floor, background = names.index("floor", len(scene.objects)), len(names) - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        t_wall = (WALL_Z - origin[2]) / d[:, 2]
        t_floor = np.where(d[:, 1] < 0, -origin[1] / d[:, 1], np.inf)
    p = origin + np.nan_to_num(t_wall, posinf=0)[:, None] * d
    hits.take(t_wall, background, np.tile([0.0, 0.0, -1.0], (n, 1)), p[:, 0], p[:, 1], scene.background_period,
              scene.background_period)
    p = origin + np.nan_to_num(t_floor, posinf=0)[:, None] * d
    hits.take(t_floor, floor, np.tile([0.0, 1.0, 0.0], (n, 1)), p[:, 0], -p[:, 2], scene.floor_period,
              scene.floor_period)
    for label, obj in enumerate(scene.objects):
        _hit_object(hits, label, obj, frame, origin, d)
    return hits


def _shade(scene: Scene, hits: _Hits) -> np.ndarray:
    """Linear RGB of each hit: the material's colour or tint, times Lambert shading."""
    rgb = np.zeros((len(hits.t), 3))
    for label, material in enumerate(scene.materials):
        on = hits.label == label
        if not on.any():
            continue
        colour, tint = albedo(material)
        tinted = pattern_mask(material.pattern, hits.a[on], hits.b[on], hits.period_a[on], hits.period_b[on])
        rgb[on] = np.where(tinted[:, None], tint, colour)
    shade = AMBIENT + (1 - AMBIENT) * np.clip(hits.normal @ LIGHT, 0, None)
    return rgb * shade[:, None]


SUBSAMPLES = [(-0.25, -0.25), (0.25, -0.25), (-0.25, 0.25), (0.25, 0.25)]


def render(scene: Scene, frames: int = 8, width: int = 64, height: int = 64, start: int = 0) -> Render:
    """Frames `start` … `start + frames - 1` of a scene, with exact depth and masks."""
    out = np.empty((frames, height, width, 3), np.uint8)
    depth = np.empty((frames, height, width), np.float32)
    masks = np.empty((frames, height, width), np.uint8)
    for i in range(frames):
        frame = start + i
        origin, dirs = _rays(scene, frame, width, height, [(0.0, 0.0), *SUBSAMPLES])
        hits = _trace(scene, frame, origin, np.concatenate(dirs))  # one pass over all samples: fewer numpy calls
        n = width * height
        depth[i] = hits.t[:n].reshape(height, width)  # ray directions have unit camera z: t is the z-depth
        masks[i] = hits.label[:n].reshape(height, width)
        linear = _shade(scene, hits)[n:].reshape(len(SUBSAMPLES), n, 3).mean(0)
        out[i] = np.round(linear_to_srgb(linear) * 255).reshape(height, width, 3).astype(np.uint8)
    return Render(out, depth, masks)


def render_image(scene: Scene, width: int = 64, height: int = 64, frame: int = 0) -> np.ndarray:
    """One still (uint8 h×w×3) of a scene at `frame`."""
    return render(scene, 1, width, height, start=frame).frames[0]
