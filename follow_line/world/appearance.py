"""How the built-in world looks: surface colours, light, texture, optics, sensor and mounting.

`Appearance()` is the nominal world. Benchmarks fix one named change per perturbation
(perturb.py); `Randomisation.sample` draws a whole random appearance, seeded, for recording
datasets in many different-looking worlds (`collect --randomise`).
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from follow_line.errors import FollowLineError

# RGB colours of the nominal world.
RED_LINE = (205, 30, 30)
ASPHALT = (78, 78, 84)
EDGE_LINE = (235, 235, 235)
KERB = (175, 172, 160)
GRASS = (62, 122, 48)
HAZE = (196, 206, 218)
SKY_TOP = (86, 136, 206)

RGB = tuple[int, int, int]


def plain_fields(instance: Any) -> dict:
    """A dataclass's fields with tuples as lists, ready for JSON and YAML (safe_dump)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(instance).items()}


@dataclass(frozen=True)
class Palette:
    """RGB colour of every surface."""

    red_line: RGB = RED_LINE
    asphalt: RGB = ASPHALT
    edge_line: RGB = EDGE_LINE
    kerb: RGB = KERB
    grass: RGB = GRASS
    haze: RGB = HAZE
    sky_top: RGB = SKY_TOP

    def __post_init__(self) -> None:
        for f in fields(self):
            colour = getattr(self, f.name)
            if len(colour) != 3 or not all(isinstance(c, int | float) and 0 <= c <= 255
                                           for c in colour):
                raise ValueError(f"palette colour {f.name} must be three values 0-255, "
                                 f"got {colour!r}")


#: The allowed range (inclusive) of each number of `Appearance` (`--look KEY=VALUE`, the
#: benchmark's perturbations, `collect --randomise`) and its unit; a `colour_cast` range is
#: each gain's. Wide enough for any camera and light, narrow enough that a frame renders in
#: milliseconds (a blur of 10 px takes ~50 ms a frame, 50 px 1.6 s).
RANGES: dict[str, tuple[float, float, str]] = {
    "brightness": (0.0, 3.0, ""), "noise_std": (0.0, 100.0, "grey levels"),
    "shadow_darkness": (0.0, 1.0, ""), "seed": (0, 2**32 - 1, ""), "gamma": (0.1, 10.0, ""),
    "colour_cast": (0.0, 3.0, ""), "blur_sigma": (0.0, 10.0, "px"), "texture": (0.0, 0.5, ""),
    "jpeg_quality": (0, 100, ""), "camera_pitch": (-0.2, 0.2, "rad"),
    "camera_roll": (-0.2, 0.2, "rad"), "camera_height": (-0.3, 0.3, "m"),
}
INTEGERS = ("seed", "jpeg_quality")  # whole numbers only


def in_range(name: str, value: object) -> bool:
    """Whether `value` is a finite number in the range of the appearance field `name`."""
    low, high, _ = RANGES[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return False
    return low <= value <= high and (name not in INTEGERS or value == int(value))


def allowed(name: str) -> str:
    """The range of the appearance field `name` in words, e.g. "0-10 px", "within +-0.2 rad"."""
    low, high, unit = RANGES[name]
    words = f"within +-{high:g}" if low == -high else f"{low:g}-{high:g}"
    if name in INTEGERS:
        words = f"an integer {low:d}-{high:d}"
    return f"{words} {unit}".strip()


@dataclass(frozen=True)
class Appearance:
    """The world's look and the camera's optics, sensor and mounting (nominal by default)."""

    brightness: float = 1.0  # multiplies every colour
    noise_std: float = 0.0  # Gaussian pixel noise, in 0-255 units
    shadow_darkness: float = 0.0  # shadows across the road darken the ground by this fraction
    seed: int = 0  # of the noise, of where the shadows fall and of the ground texture
    gamma: float = 1.0  # the camera's tone curve: value = 255 * (value / 255) ** gamma
    colour_cast: tuple[float, float, float] = (1.0, 1.0, 1.0)  # R, G, B gains (white balance)
    blur_sigma: float = 0.0  # Gaussian blur (defocus, motion), standard deviation in pixels
    palette: Palette = field(default_factory=Palette)  # surface colours
    texture: float = 0.0  # ground texture: patchy lightness, relative standard deviation
    jpeg_quality: int = 0  # JPEG compression at this quality (1-100); 0 = none
    camera_pitch: float = 0.0  # rad, nose down, off the level mounting
    camera_roll: float = 0.0  # rad, right side down
    camera_height: float = 0.0  # m added to the mounting height

    def __post_init__(self) -> None:
        for name, value in [(f.name, getattr(self, f.name)) for f in fields(self)
                            if f.name not in ("palette", "colour_cast")]:
            if not in_range(name, value):
                raise ValueError(f"appearance out of range: {name}={value!r} (allowed: "
                                 f"{allowed(name)})")
        cast = self.colour_cast
        if len(cast) != 3 or not all(in_range("colour_cast", g) for g in cast):
            raise ValueError(f"appearance out of range: colour_cast={cast!r} (allowed: three "
                             f"gains {allowed('colour_cast')} for R, G, B)")

    def to_dict(self) -> dict:
        """JSON-ready fields (for run records and dataset metadata)."""
        return plain_fields(self)


@dataclass(frozen=True)
class Randomisation:
    """Ranges of a random appearance (uniform unless said).

    Wide enough to cover the benchmark's named perturbations and another simulator's look.
    """

    nominal: float = 0.3  # share of looks that are the nominal world (kept in the mix)
    hue_shift: float = 0.06  # of each surface colour, +- fraction of the hue circle
    saturation: tuple[float, float] = (0.6, 1.4)  # factor, each surface
    value: tuple[float, float] = (0.75, 1.25)  # factor, each surface
    brightness: tuple[float, float] = (0.5, 1.4)
    gamma: tuple[float, float] = (0.6, 2.0)  # log-uniform
    cast: float = 0.2  # each channel's gain within 1 +- cast
    blur_sigma: float = 2.5  # at most, pixels
    # Sensor noise is off: it does not compress, so a recorded dataset would be ~10x larger
    # and slower to write; train-time augmentation (train --augment) adds it instead.
    noise_std: float = 0.0  # at most
    jpeg: float = 0.4  # probability of JPEG compression, quality uniform in jpeg_quality
    jpeg_quality: tuple[int, int] = (20, 90)
    shadow: float = 0.4  # probability of shadows, darkness uniform in shadow_darkness
    shadow_darkness: tuple[float, float] = (0.2, 0.7)
    texture: float = 0.3  # at most
    camera_pitch: float = 0.035  # rad, at most either way (2 degrees)
    camera_roll: float = 0.05  # rad
    camera_height: float = 0.12  # m

    def to_dict(self) -> dict:
        """JSON-ready ranges (for dataset metadata and cards)."""
        return plain_fields(self)

    def sample(self, rng: np.random.Generator) -> Appearance:
        """One random appearance (the nominal one in a `nominal` share of draws)."""
        if rng.uniform() < self.nominal:
            return Appearance()

        def colour(rgb: RGB) -> RGB:
            h, s, v = colorsys.rgb_to_hsv(*(c / 255.0 for c in rgb))
            h = (h + rng.uniform(-self.hue_shift, self.hue_shift)) % 1.0
            s = min(1.0, s * rng.uniform(*self.saturation))
            v = min(1.0, v * rng.uniform(*self.value))
            r, g, b = colorsys.hsv_to_rgb(h, s, v)
            return int(round(r * 255)), int(round(g * 255)), int(round(b * 255))

        nominal = Palette()
        palette = Palette(**{f.name: colour(getattr(nominal, f.name)) for f in fields(nominal)})
        low, high = np.log(self.gamma)
        jpeg = int(rng.integers(self.jpeg_quality[0], self.jpeg_quality[1] + 1)) \
            if rng.uniform() < self.jpeg else 0
        shadow = float(rng.uniform(*self.shadow_darkness)) if rng.uniform() < self.shadow \
            else 0.0

        def either_way(limit: float) -> float:
            return float(rng.uniform(-limit, limit))

        def gains() -> tuple[float, float, float]:
            r, g, b = rng.uniform(1 - self.cast, 1 + self.cast, 3)
            return float(r), float(g), float(b)

        return Appearance(
            brightness=float(rng.uniform(*self.brightness)),
            noise_std=float(rng.uniform(0.0, self.noise_std)),
            shadow_darkness=shadow,
            seed=int(rng.integers(0, 2**31)),
            gamma=float(np.exp(rng.uniform(low, high))),
            colour_cast=gains(),
            blur_sigma=float(rng.uniform(0.0, self.blur_sigma)),
            palette=palette,
            texture=float(rng.uniform(0.0, self.texture)),
            jpeg_quality=jpeg,
            camera_pitch=either_way(self.camera_pitch),
            camera_roll=either_way(self.camera_roll),
            camera_height=either_way(self.camera_height),
        )


def changed(appearance: Appearance, changes: list[tuple[str, object]]) -> Appearance:
    """`appearance` with KEY=VALUE changes: any field, or `palette.SURFACE` for a colour.

    An unknown key or a value of the wrong kind is an error naming the allowed keys.
    """
    look = asdict(appearance)
    allowed = [f.name for f in fields(Appearance) if f.name != "palette"] + \
        [f"palette.{f.name}" for f in fields(Palette)]
    for key, value in changes:
        if key not in allowed:
            raise FollowLineError(f"unknown appearance key {key!r}; known: {', '.join(allowed)}")
        where, _, colour = key.rpartition(".")
        target = look[where] if where else look
        target[colour or key] = tuple(value) if isinstance(value, list) else value
    try:
        return Appearance(**{**look, "palette": Palette(**look["palette"])})
    except (TypeError, ValueError) as exc:
        raise FollowLineError(str(exc)) from None
