"""The toy world's scenes: a few objects with materials on a floor, before a wall, under a camera.

A scene is plain typed data (frozen dataclasses), drawn reproducibly from a seed, described by a
caption, re-assignable to other materials (the same shapes and motion, another look) and
serialisable to JSON. Rendering is `gen1_batch.toy.render`; the vocabulary here is the one
captions, the renderer and the material measure share.

Motion is periodic in the frame number (sinusoids), so a shot of any length stays in view.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

# The vocabulary. Colours are far apart in hue (CIELAB) so that shading, which changes lightness,
# does not move one into another; each pattern pairs the colour with a pale tint of it.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (210, 35, 35),
    "orange": (235, 125, 15),
    "yellow": (220, 200, 25),
    "green": (35, 160, 55),
    "cyan": (20, 165, 190),
    "blue": (40, 70, 215),
    "purple": (145, 45, 195),
}
PATTERNS: dict[str, str] = {"flat": "", "stripes": "striped", "checks": "checkered", "dots": "dotted"}  # caption word
SHAPES = ("ball", "box", "cylinder")
TINT = 0.7  # a pattern's second tone: the colour this far towards white
SURFACES_BESIDE_OBJECTS = ("floor", "background")
MAX_OBJECTS = 3
# An object's size, world units, drawn uniformly: a ball's radius, half a box's width; objects stand
# at |x| ≤ 1.2 on the floor, so larger ones leave room for fewer.
OBJECT_RADIUS = (0.32, 0.5)
HELD_OUT_SHARE = 10  # one seed in HELD_OUT_SHARE is held out for evaluation


@dataclass(frozen=True)
class Material:
    colour: str
    pattern: str

    def __post_init__(self) -> None:
        if self.colour not in COLOURS or self.pattern not in PATTERNS:
            raise ValueError(f"unknown material {self.colour!r} {self.pattern!r} "
                             f"(colours: {', '.join(COLOURS)}; patterns: {', '.join(PATTERNS)})")

    def words(self) -> str:
        """'red striped', or just 'red' for a flat material."""
        return " ".join(w for w in (self.colour, PATTERNS[self.pattern]) if w)


MATERIALS: tuple[Material, ...] = tuple(Material(c, p) for c in COLOURS for p in PATTERNS)


@dataclass(frozen=True)
class Motion:
    """Sliding along the floor, `amplitude` units either side along `direction` (radians in the
    x-z plane) with `period` frames, and turning about the vertical axis `spin` radians a frame."""
    amplitude: float = 0.0
    direction: float = 0.0
    period: float = 48.0
    phase: float = 0.0
    spin: float = 0.0

    @property
    def static(self) -> bool:
        return self.amplitude == 0 and self.spin == 0

    def offset(self, frame: float) -> tuple[float, float]:
        dx, dz = self.track(np.array([frame], np.float64))
        return float(dx[0]), float(dz[0])

    def track(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The x and z offsets at each of `frames`."""
        s = self.amplitude * np.sin(2 * np.pi * frames / self.period + self.phase)
        return s * math.cos(self.direction), s * math.sin(self.direction)


@dataclass(frozen=True)
class SceneObject:
    shape: str  # one of SHAPES
    radius: float  # ball and cylinder radius; half the width of a box
    half_height: float  # equals radius for a ball
    x: float
    z: float
    yaw: float  # radians about the vertical axis at frame 0
    material: Material
    motion: Motion = Motion()

    def pose(self, frame: float) -> tuple[np.ndarray, float]:
        """The centre (x, y, z) and yaw at `frame`; objects rest on the floor (y = 0)."""
        dx, dz = self.motion.offset(frame)
        centre = np.array([self.x + dx, self.half_height, self.z + dz])
        return centre, self.yaw + self.motion.spin * frame


@dataclass(frozen=True)
class Camera:
    """A pinhole camera behind the objects, pitched down; it pans (yaw, radians either side) and
    zooms (focal length times exp(±zoom)) with `period` frames."""
    height: float = 1.5
    distance: float = 2.3  # behind the origin, along -z
    pitch: float = 0.36  # radians down
    focal: float = 1.6  # in half image widths
    pan: float = 0.0
    zoom: float = 0.0
    period: float = 64.0
    phase: float = 0.0

    @property
    def static(self) -> bool:
        return self.pan == 0 and self.zoom == 0

    def pose(self, frame: float) -> tuple[np.ndarray, float, float]:
        """Position, yaw and focal length at `frame`."""
        s = math.sin(2 * math.pi * frame / self.period + self.phase)
        return np.array([0.0, self.height, -self.distance]), self.pan * s, self.focal * math.exp(self.zoom * s)


@dataclass(frozen=True)
class Scene:
    seed: int
    objects: tuple[SceneObject, ...]
    floor: Material
    background: Material
    camera: Camera = Camera()
    floor_period: float = 0.5  # world units per pattern period
    background_period: float = 0.8

    @property
    def surface_names(self) -> tuple[str, ...]:
        """What each mask label is: the objects in order, then the floor and the background."""
        return (*(o.shape for o in self.objects), *SURFACES_BESIDE_OBJECTS)

    @property
    def materials(self) -> tuple[Material, ...]:
        """Each surface's material, in the order of `surface_names`."""
        return (*(o.material for o in self.objects), self.floor, self.background)

    def with_materials(self, materials: tuple[Material, ...] | list[Material]) -> Scene:
        """The same shapes, camera and motion with other materials (one per surface)."""
        if len(materials) != len(self.surface_names):
            raise ValueError(f"{len(materials)} materials for {len(self.surface_names)} surfaces")
        *own, floor, background = materials
        objects = tuple(replace(o, material=m) for o, m in zip(self.objects, own, strict=True))
        return replace(self, objects=objects, floor=floor, background=background)

    @property
    def caption(self) -> str:
        """'a red striped ball and a blue box on a green checkered floor in front of a yellow wall'."""
        things = [f"{_article(o.material.words())} {o.material.words()} {o.shape}" for o in self.objects]
        listed = things[0] if len(things) == 1 else ", ".join(things[:-1]) + " and " + things[-1]
        return f"{listed} on {_article(self.floor.words())} {self.floor.words()} floor in front of " \
               f"{_article(self.background.words())} {self.background.words()} wall"

    @property
    def static(self) -> bool:
        return self.camera.static and all(o.motion.static for o in self.objects)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scene:
        objects = tuple(SceneObject(**{**o, "material": Material(**o["material"]), "motion": Motion(**o["motion"])})
                        for o in data["objects"])
        return cls(**{**data, "objects": objects, "floor": Material(**data["floor"]),
                      "background": Material(**data["background"]), "camera": Camera(**data["camera"])})


def _article(words: str) -> str:
    return "an" if words[0] in "aeiou" else "a"


def is_held_out(seed: int) -> bool:
    """Whether a seed is reserved for evaluation: such scenes are never trained on. A hash, not a
    range, so any run of seeds holds about one in HELD_OUT_SHARE of them."""
    digest = hashlib.blake2b(str(int(seed)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % HELD_OUT_SHARE == 0


def seeds(count: int, held_out: bool, start: int = 0) -> list[int]:
    """The first `count` seeds from `start` on the training (held_out=False) or evaluation side."""
    found, seed = [], start
    while len(found) < count:
        if is_held_out(seed) == held_out:
            found.append(seed)
        seed += 1
    return found


def random_materials(rng: np.random.Generator, count: int) -> tuple[Material, ...]:
    """`count` materials of distinct colours (so no object vanishes into the floor), patterns at random."""
    colours = rng.choice(list(COLOURS), size=count, replace=False)
    return tuple(Material(str(c), str(rng.choice(list(PATTERNS)))) for c in colours)


def random_scene(seed: int, objects: int | None = None, camera_moves: bool | None = None,
                 objects_move: bool | None = None) -> Scene:
    """The scene of a seed: 1 to MAX_OBJECTS objects that do not collide while they move, materials of
    distinct colours, a camera that pans and zooms, or stands still (about one scene in three)."""
    rng = np.random.default_rng([seed, 14])
    count = int(objects or rng.integers(1, MAX_OBJECTS + 1))
    materials = random_materials(rng, count + len(SURFACES_BESIDE_OBJECTS))
    if camera_moves is None:
        camera_moves = bool(rng.random() < 2 / 3)
    placed: list[SceneObject] = []
    for _ in range(200):  # a crowded draw gives up with the objects placed so far
        if len(placed) == count:
            break
        shape = str(rng.choice(SHAPES))
        radius = float(rng.uniform(*OBJECT_RADIUS))
        half_height = radius if shape == "ball" else float(rng.uniform(0.6, 1.3) * radius)
        moves = bool(rng.random() < 0.7) if objects_move is None else objects_move
        motion = Motion(amplitude=float(rng.uniform(0.2, 0.5)), direction=float(rng.uniform(0, math.pi)),
                        period=float(rng.uniform(32, 72)), phase=float(rng.uniform(0, 2 * math.pi)),
                        spin=float(rng.uniform(-0.06, 0.06)) if shape != "ball" else 0.0) if moves else Motion()
        candidate = SceneObject(shape, radius, half_height, x=float(rng.uniform(-1.2, 1.2)),
                                z=float(rng.uniform(-0.4, 1.4)), yaw=float(rng.uniform(0, math.pi)),
                                material=materials[len(placed)], motion=motion)
        if all(_apart(candidate, other) for other in placed):
            placed.append(candidate)
    camera = Camera(pan=float(rng.uniform(0.08, 0.2) * rng.choice([-1, 1])) if camera_moves else 0.0,
                    zoom=float(rng.uniform(0.05, 0.15)) if camera_moves and rng.random() < 0.5 else 0.0,
                    period=float(rng.uniform(48, 96)), phase=float(rng.uniform(0, 2 * math.pi)))
    return Scene(seed, tuple(placed), floor=materials[count], background=materials[count + 1], camera=camera)


def _apart(a: SceneObject, b: SceneObject) -> bool:
    """No contact over many periods of both motions (bounding circles on the floor)."""
    reach = (a.radius + b.radius) * math.sqrt(2) + 0.05  # a box's corner reaches radius·√2
    frames = np.linspace(0, 600, 241)
    (ax, az), (bx, bz) = a.motion.track(frames), b.motion.track(frames)
    return bool(np.all(np.hypot(a.x + ax - b.x - bx, a.z + az - b.z - bz) > reach))
