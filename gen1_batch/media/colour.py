"""Managed colour with OpenColorIO: the job's config, each source's colourspace, the view the models see.

Frames reach the models as the config's display/view shows them (a DisplayViewTransform from the
source's colourspace), encoded in [0, 1]; the edit goes back through the inverse of that transform, so
a scene-linear plate comes back scene-linear, its range rolled through the view's curve rather than
clipped. A display-referred source (a movie, a PNG) is converted to the view's display colourspace
with a plain colourspace conversion (a view transform is for scene-referred light); when it is that
colourspace already, its pixels are not touched at all.

The config is `--ocio`, else $OCIO, else OCIO's built-in ACES studio config. Names are checked
against it when the manifest is loaded (gen1_batch.manifest); the stages only apply it.
"""

from __future__ import annotations

import functools
import os
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import PyOpenColorIO as OCIO

from gen1_batch.errors import ShotError

BUILTIN_CONFIG = "ocio://studio-config-latest"  # OCIO's ACES studio config, shipped in the wheel
USE_DISPLAY_NAME = "<USE_DISPLAY_NAME>"  # a view whose colourspace is named like its display
# Each source format's colourspace when a row names none: the config's role for it, or the view's
# display colourspace ("display"): what the file looks like on screen.
DEFAULT_ROLES = {".exr": OCIO.ROLE_SCENE_LINEAR, ".dpx": OCIO.ROLE_COMPOSITING_LOG}
DISPLAY = "display"
LINEAR_ENCODINGS = ("scene-linear", "display-linear")  # what an integer format cannot hold without clipping
# Movie colour tags (primaries, transfer, matrix) of the display colourspaces in the ACES configs, by
# FFmpeg's names; range is "tv" (limited) for the YUV codecs written here. Others are left unspecified.
MOVIE_TAGS = {
    "sRGB - Display": ("bt709", "iec61966-2-1", "bt709"),
    "Rec.1886 Rec.709 - Display": ("bt709", "bt709", "bt709"),
    "Gamma 2.2 Rec.709 - Display": ("bt709", "gamma22", "bt709"),
    "Display P3 - Display": ("smpte432", "iec61966-2-1", "bt709"),
    "Rec.2100-PQ - Display": ("bt2020", "smpte2084", "bt2020nc"),
    "Rec.2100-HLG - Display": ("bt2020", "arib-std-b67", "bt2020nc"),
}
# FFmpeg's codes for those names (libavutil/pixfmt.h), which PyAV's codec context takes.
FFMPEG_CODES = {
    "color_primaries": {"bt709": 1, "bt2020": 9, "smpte432": 12},
    "color_trc": {"bt709": 1, "gamma22": 4, "iec61966-2-1": 13, "smpte2084": 16, "arib-std-b67": 18},
    "colorspace": {"bt709": 1, "bt2020nc": 9},
    "color_range": {"tv": 1},
}


class ColourError(ShotError):
    """A config that cannot be loaded, or a name it does not have; one line."""


def config_source(ocio: str | None = None) -> str:
    """Where the job's config comes from: `--ocio`, else $OCIO, else the built-in ACES studio config."""
    return ocio or os.environ.get("OCIO") or BUILTIN_CONFIG


@functools.cache
def load_config(source: str) -> OCIO.Config:
    try:
        return OCIO.Config.CreateFromFile(source)
    except OCIO.Exception as e:
        raise ColourError(f"OCIO config {source}: cannot be loaded ({str(e).splitlines()[0]})") from None


def config_id(source: str) -> str:
    """The config's identity: OCIO's cache id of its content and context (the same config at another
    path has the same id; an edited one another id). Resume compares it."""
    return load_config(source).getCacheID()


def default_view(config: OCIO.Config) -> str:
    display = config.getDefaultDisplay()
    return f"{display}/{config.getDefaultView(display)}"


def split_view(config: OCIO.Config, view: str | None) -> tuple[str, str]:
    """(display, view) from "DISPLAY/VIEW", or a view of the default display; ColourError when the
    config has no such pair."""
    text = view or default_view(config)
    display, _, name = text.rpartition("/")
    display = display or config.getDefaultDisplay()
    if display not in config.getDisplays():
        raise ColourError(f"view {text!r}: the config has no display {display!r} (displays: "
                          f"{', '.join(config.getDisplays())})")
    if name not in config.getViews(display):
        raise ColourError(f"view {text!r}: display {display!r} has no view {name!r} (views: "
                          f"{', '.join(config.getViews(display))})")
    return display, name


def display_colorspace(config: OCIO.Config, display: str, view: str) -> str:
    name = config.getDisplayViewColorSpaceName(display, view)
    return display if name == USE_DISPLAY_NAME else name


def default_colorspace(config: OCIO.Config, video: str, view: str | None = None) -> str:
    """A source's colourspace when its row names none: by format (see DEFAULT_ROLES)."""
    extension = "." + video.rsplit(".", 1)[-1].lower()
    role = DEFAULT_ROLES.get(extension)
    if role and config.getColorSpace(role) is not None:
        return config.getColorSpace(role).getName()
    return display_colorspace(config, *split_view(config, view))


def colorspace_problem(config: OCIO.Config, name: str) -> str | None:
    """Why `name` is not a colourspace of the config, or None (aliases, roles and interop ids count)."""
    if config.getColorSpace(name) is not None:
        return None
    roles = ", ".join(f"{config.getRoleColorSpace(r)} ({r})"
                      for r in (OCIO.ROLE_SCENE_LINEAR, OCIO.ROLE_COMPOSITING_LOG) if config.hasRole(r))
    example = f"; e.g. {roles}" if roles else ""
    return f"{name!r} is not a colourspace of the OCIO config {config.getName()!r}{example}"


@dataclass(frozen=True)
class Colour:
    """What a shot's pixels are and what the models see: picklable, and recorded in the report."""

    config: str  # where the config came from (path, URL or ocio:// name)
    colorspace: str  # the source's
    display: str
    view: str
    colorspace_from: str = "default"  # manifest (the row or --colorspace), header (an EXR's), default (by format)

    @classmethod
    def resolve(cls, config: str | None, colorspace: str | None, view: str | None, video: str) -> Colour:
        source = config_source(config)
        ocio = load_config(source)
        display, name = split_view(ocio, view)
        space = colorspace or default_colorspace(ocio, video, f"{display}/{name}")
        problem = colorspace_problem(ocio, space)
        if problem:
            raise ColourError(problem)
        return cls(source, ocio.getColorSpace(space).getName(), display, name, "manifest" if colorspace else "default")

    def with_header(self, named: str | None) -> Colour:
        """The colourspace a file's header names wins over the format's default (not over the manifest)."""
        space = self.ocio.getColorSpace(named) if named else None
        if self.colorspace_from != "default" or space is None:
            return self
        return replace(self, colorspace=space.getName(), colorspace_from="header")

    @property
    def ocio(self) -> OCIO.Config:
        return load_config(self.config)

    @property
    def display_colorspace(self) -> str:
        return display_colorspace(self.ocio, self.display, self.view)

    def output_colorspace(self, float_pixels: bool) -> str:
        """The colourspace an output is written in: the source's, unless the format holds integers and
        the source's is linear (it would clip at 1): then what the models saw, the view's display."""
        encoding = self.ocio.getColorSpace(self.colorspace).getEncoding()
        return self.colorspace if float_pixels or encoding not in LINEAR_ENCODINGS else self.display_colorspace

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "config_name": self.ocio.getName(), "config_id": config_id(self.config),
                "models_see": self.display_colorspace}


@functools.cache
def _processor(config: str, source: str, display: str, view: str, inverse: bool) -> OCIO.CPUProcessor | None:
    """A CPU processor from `source` to what the models see (or back); None for the identity."""
    ocio = load_config(config)
    shown = display_colorspace(ocio, display, view)
    if source == shown:
        return None
    direction = OCIO.TRANSFORM_DIR_INVERSE if inverse else OCIO.TRANSFORM_DIR_FORWARD
    if ocio.getColorSpace(source).getReferenceSpaceType() == OCIO.REFERENCE_SPACE_DISPLAY:
        transform = OCIO.ColorSpaceTransform(src=source, dst=shown, direction=direction)
    else:
        transform = OCIO.DisplayViewTransform(src=source, display=display, view=view, direction=direction)
    return ocio.getProcessor(transform).getDefaultCPUProcessor()


def to_view(pixels: np.ndarray, colour: Colour) -> np.ndarray:
    """h×w×3 float pixels in the source's colourspace as the view shows them (float32, [0, 1] where
    the display's range is)."""
    rgb = np.ascontiguousarray(pixels[..., :3], dtype=np.float32)
    processor = _processor(colour.config, colour.colorspace, colour.display, colour.view, False)
    if processor is not None:
        processor.applyRGB(rgb)
    return rgb


def from_view(pixels: np.ndarray, colour: Colour, colorspace: str | None = None) -> np.ndarray:
    """The inverse of to_view: float pixels as the view shows them, back in `colorspace` (default: the
    source's)."""
    target = colorspace or colour.colorspace
    rgb = np.ascontiguousarray(pixels, dtype=np.float32)
    processor = _processor(colour.config, target, colour.display, colour.view, True)
    if processor is not None:
        processor.applyRGB(rgb)
    return rgb


def to_codes(pixels: np.ndarray) -> np.ndarray:
    """Display values in [0, 1] as 8-bit codes (what the models take), rounded to the nearest."""
    return (np.clip(pixels, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def is_identity(colour: Colour) -> bool:
    return _processor(colour.config, colour.colorspace, colour.display, colour.view, False) is None


# A ProRes frame header has room for only these transfers (Apple's ProRes spec; FFmpeg's prores_ks
# writes others as unspecified): an sRGB display's movie goes out without one. Pick a Rec.1886 view
# for ProRes deliveries that must say their transfer.
PRORES_TRANSFERS = ("bt709", "smpte2084", "arib-std-b67")


def movie_tags(colorspace: str, codec: str | None = None) -> dict[str, str]:
    """FFmpeg colour tags of a movie in `colorspace` that `codec` can carry (empty when it is not a
    known display colourspace)."""
    tags = MOVIE_TAGS.get(colorspace)
    if tags is None:
        return {}
    primaries, transfer, matrix = tags
    out = {"color_primaries": primaries, "color_trc": transfer, "colorspace": matrix, "color_range": "tv"}
    if codec == "prores_ks" and transfer not in PRORES_TRANSFERS:
        del out["color_trc"]
    return out


def tag_frame(frame: Any, tags: dict[str, str]) -> Any:
    """The tags on the frame itself too: some encoders (ProRes) write the frame's, not the stream's."""
    for tag, value in tags.items():
        setattr(frame, tag, FFMPEG_CODES[tag][value])
    return frame
