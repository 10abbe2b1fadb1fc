"""Planar-move kinematics (like Gazebo's planar_move plugin), integrated exactly."""

from __future__ import annotations

import math
from dataclasses import dataclass

V_LIMITS = (0.0, 24.0)  # m/s, Twist.linear.x
W_LIMITS = (-7.1, 7.1)  # rad/s, Twist.angular.z


@dataclass(frozen=True)
class Pose:
    """Planar pose of the car: position in metres, heading in radians."""

    x: float
    y: float
    theta: float


def clamp_command(v: float, w: float) -> tuple[float, float]:
    """(v, w) clamped to the car's limits; NaN or inf is refused with a ValueError."""
    if not (math.isfinite(v) and math.isfinite(w)):
        raise ValueError(f"non-finite velocity command v={v}, w={w}")
    return min(max(v, V_LIMITS[0]), V_LIMITS[1]), min(max(w, W_LIMITS[0]), W_LIMITS[1])


def integrate(pose: Pose, v: float, w: float, dt: float) -> Pose:
    """Pose after holding (v, w) for `dt` seconds: an exact circular arc (a line when w = 0)."""
    th = pose.theta
    if abs(w) < 1e-9:
        return Pose(pose.x + v * dt * math.cos(th), pose.y + v * dt * math.sin(th), th)
    th2 = th + w * dt
    r = v / w
    return Pose(
        pose.x + r * (math.sin(th2) - math.sin(th)),
        pose.y - r * (math.cos(th2) - math.cos(th)),
        math.atan2(math.sin(th2), math.cos(th2)),
    )
