"""Named perturbations of a run, for robustness benchmarks (the seed judged a clean world only).

A perturbation changes what the camera sees (light, tone, colours, texture, blur, noise,
shadows, the camera's mounting) or where the car starts (offset and heading). Repetitions of
a run differ by a seeded start jitter and noise seed, so a repeated benchmark measures
spread; repetition 0 is the exact nominal run.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from follow_line.errors import unknown_name
from follow_line.world.appearance import Palette
from follow_line.world.simulator import Appearance, StartOffset


@dataclass(frozen=True)
class Perturbation:
    """A named change of the world or of the start."""

    name: str
    description: str
    appearance: Appearance = field(default_factory=Appearance)
    start: StartOffset = field(default_factory=StartOffset)


PERTURBATIONS: dict[str, Perturbation] = {p.name: p for p in (
    Perturbation("clean", "the nominal world and start"),
    Perturbation("dark", "dusk: every colour at 55 % brightness",
                 appearance=Appearance(brightness=0.55)),
    Perturbation("bright", "glare: every colour at 135 % brightness (clipped)",
                 appearance=Appearance(brightness=1.35)),
    Perturbation("noise", "camera noise: Gaussian, standard deviation 12 grey levels",
                 appearance=Appearance(noise_std=12.0)),
    Perturbation("shadow", "shadows across the road every ~40 m, 55 % darker",
                 appearance=Appearance(shadow_darkness=0.55)),
    Perturbation("gamma", "another camera's tone curve: gamma 1.8 (mid-tones darker)",
                 appearance=Appearance(gamma=1.8)),
    Perturbation("cast", "warm white balance: red x 1.15, blue x 0.8",
                 appearance=Appearance(colour_cast=(1.15, 1.0, 0.8))),
    Perturbation("blur", "defocus or motion blur: Gaussian, standard deviation 2 pixels",
                 appearance=Appearance(blur_sigma=2.0)),
    Perturbation("pitch", "camera mounted 1.5 degrees nose-down (horizon 8 rows higher)",
                 appearance=Appearance(camera_pitch=0.026)),
    Perturbation("texture", "worn asphalt and patchy grass: ground lightness +- 25 %",
                 appearance=Appearance(texture=0.25)),
    Perturbation("colours", "another circuit's paint: orange-red line, pale asphalt, dry grass",
                 appearance=Appearance(palette=Palette(
                     red_line=(222, 72, 38), asphalt=(112, 106, 98), grass=(118, 128, 58),
                     kerb=(196, 180, 150), sky_top=(120, 160, 205)))),
    Perturbation("offset", "start 1 m left of the line, heading 0.2 rad off",
                 start=StartOffset(lateral=1.0, heading=0.2)),
)}

# Start jitter of repetitions 1, 2, ...: uniform along, Gaussian lateral and heading.
JITTER_ALONG_M, JITTER_LATERAL_M, JITTER_HEADING_RAD = 3.0, 0.15, 0.03


def perturbation(name: str) -> Perturbation:
    """The perturbation called `name`, or an error listing the known ones."""
    if name not in PERTURBATIONS:
        raise unknown_name("perturbation", name, list(PERTURBATIONS))
    return PERTURBATIONS[name]


def expand_perturbations(names: list[str]) -> list[str]:
    """`names` with 'all' standing for every perturbation, each once, in order; checked."""
    expanded = [n for name in names for n in (PERTURBATIONS if name == "all" else [name])]
    for name in expanded:
        perturbation(name)
    return list(dict.fromkeys(expanded))


def run_conditions(name: str, repeat: int = 0) -> tuple[Appearance, StartOffset]:
    """Appearance and start of repetition `repeat` of a run under perturbation `name`."""
    p = perturbation(name)
    if repeat == 0:
        return p.appearance, p.start
    rng = np.random.default_rng(repeat)
    start = StartOffset(along=p.start.along + rng.uniform(0.0, JITTER_ALONG_M),
                        lateral=p.start.lateral + rng.normal(0.0, JITTER_LATERAL_M),
                        heading=p.start.heading + rng.normal(0.0, JITTER_HEADING_RAD))
    return replace(p.appearance, seed=repeat), start
