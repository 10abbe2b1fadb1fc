"""Built-in simulator: planar-move kinematics in simulated time and the rendered camera."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from follow_line.world.appearance import Appearance
from follow_line.world.camera import CameraModel
from follow_line.world.circuits import Circuit
from follow_line.world.circuits.geometry import ReferenceLine
from follow_line.world.kinematics import Pose, clamp_command, integrate
from follow_line.world.render import Renderer

__all__ = ["Appearance", "CameraModel", "Pose", "Simulator", "StartOffset"]


@dataclass(frozen=True)
class StartOffset:
    """Where the car starts relative to the start/finish gate."""

    along: float = 0.0  # metres along the line, in the driving direction
    lateral: float = 0.0  # metres to the left of the line
    heading: float = 0.0  # radians relative to the line


class Simulator:
    """A car on a circuit: camera frames at the camera rate, commands held between frames."""

    def __init__(self, circuit: Circuit, direction: str, camera: CameraModel | None = None,
                 appearance: Appearance | None = None, start: StartOffset | None = None):
        self.circuit = circuit
        self.direction = direction
        self.line: ReferenceLine = circuit.line(direction)
        self.camera = camera or CameraModel()
        self.renderer = Renderer(circuit, self.camera, appearance)
        self.start = start or StartOffset()
        self.reset()

    def reset(self) -> None:
        """Back to the start pose at time zero."""
        x, y, th = self.line.pose_at(self.start.along)
        nx, ny = -math.sin(th), math.cos(th)
        self.pose = Pose(x + nx * self.start.lateral, y + ny * self.start.lateral,
                         th + self.start.heading)
        self.time = 0.0
        self.command = (0.0, 0.0)

    def frame(self) -> np.ndarray:
        """The camera image at the current pose (640x480 RGB uint8)."""
        return self.renderer.render(self.pose)

    def step(self, v: float, w: float, dt: float | None = None) -> Pose:
        """Hold the clamped command (v, w) for `dt` seconds (default: one camera period)."""
        self.command = clamp_command(v, w)
        dt = self.camera.period if dt is None else dt
        self.pose = integrate(self.pose, *self.command, dt)
        self.time += dt
        return self.pose
