"""Named worlds: a circuit set with its car's camera, its explicit driver's tuning and networks.

A world is what a trained network's card is bound to: the circuits it drives (training and
held out), the camera it sees them through, the explicit driver's parameters for that camera
(which also label its datasets) and the folder of its trained networks under `models/`.

* `wide`: the built-in circuits (8 m road, 0.4 m line, gentle curves), the 0.6 m high camera
  and the explicit driver's defaults; `models/`. The default world today.
* `reference`: circuits at the proportions of the seed study's Gazebo F1 worlds (3 m road,
  0.11 m line, hairpins down to 2 m; `circuits/reference/`), the reference F1 car's camera
  (0.144 m high) and the expert tuned for it; `models/reference/`.

`DEFAULT_WORLD` is the one place that chooses the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from follow_line.errors import unknown_name
from follow_line.world.camera import REFERENCE_CAMERA, REFERENCE_WHEELBASE_M, CameraModel
from follow_line.world.circuits import (
    CIRCUIT_DIR,
    Circuit,
    builtin_circuits,
    check_training_circuit,
    held_out_circuits,
    load_circuit,
)


@dataclass(frozen=True)
class World:
    """A circuit set, the car's camera, the explicit driver's tuning, the networks' folder."""

    name: str
    description: str
    circuit_dir: Path
    camera: CameraModel
    # ExpertParams fields (driving/expert.py) that differ from its defaults, as (name, value)
    expert: tuple[tuple[str, float], ...] = ()
    models: str = ""  # folder of the world's trained networks, relative to models/
    wheelbase_m: float = 3.2  # of the car's body in the generated Gazebo worlds (gazebo/sdf)

    def circuits(self) -> list[str]:
        """Names of the world's training circuits: every command's default."""
        return builtin_circuits(self.circuit_dir)

    def held_out(self) -> list[str]:
        """Names of the world's circuits held out for testing."""
        return held_out_circuits(self.circuit_dir)

    def load(self, name_or_path: str | Path) -> Circuit:
        """One of the world's circuits by name, or any circuit file by path."""
        return load_circuit(name_or_path, self.circuit_dir)

    def check_training(self, name_or_path: str | Path) -> Circuit:
        """The circuit if it may be used for training (not held out)."""
        return check_training_circuit(name_or_path, self.circuit_dir)


WORLDS = {
    "wide": World("wide", "the built-in circuits: 8 m road, 0.4 m line, gentle curves; "
                          "camera 0.6 m high", CIRCUIT_DIR, CameraModel()),
    "reference": World(
        "reference", "the seed's Gazebo F1 proportions: 3 m road, 0.11 m line, hairpins down "
                     "to 2 m; the reference F1 car's camera, 0.144 m high",
        CIRCUIT_DIR / "reference", REFERENCE_CAMERA,
        # rows 0.25-20 m ahead (the camera sees from 0.19 m; 20 m is 2 rows below the
        # horizon), a pursuit point 1.2-4 m ahead, 4 m/s in a 2 m hairpin (sqrt(8 * 2))
        expert=(("v_max", 10.0), ("v_min", 2.0), ("lateral_accel", 8.0),
                ("look_ahead_gain", 0.2), ("look_ahead_min", 1.2), ("look_ahead_max", 4.0),
                ("near_m", 0.25), ("far_m", 20.0)),
        models="reference", wheelbase_m=REFERENCE_WHEELBASE_M),
}
#: The wheelbase of the wide world's Gazebo car: other worlds' cars are it, scaled.
WIDE_WHEELBASE_M = WORLDS["wide"].wheelbase_m
#: The world of every command without --world, and of cards that record none.
DEFAULT_WORLD = "wide"


def world_names() -> list[str]:
    """The registered worlds, the default first."""
    return [DEFAULT_WORLD] + sorted(set(WORLDS) - {DEFAULT_WORLD})


def get_world(name: str | World | None = None) -> World:
    """The named world (None: the default), or a one-line error listing the worlds."""
    if isinstance(name, World):
        return name
    name = DEFAULT_WORLD if name is None else name
    if name not in WORLDS:
        raise unknown_name("world", name, world_names())
    return WORLDS[name]
