"""Between ROS 2 message fields and the core's numbers: time stamps, yaw and quaternions.

Plain Python: a stamp is anything with `sec` and `nanosec` (builtin_interfaces/Time).
"""

from __future__ import annotations

import math
from typing import Any

NS_PER_S = 1_000_000_000


def stamp_to_seconds(stamp: Any) -> float:
    """Seconds of a builtin_interfaces/Time (`sec`, `nanosec`)."""
    return stamp.sec + stamp.nanosec * 1e-9


def stamp_to_ns(stamp: Any) -> int:
    """Integer nanoseconds of a builtin_interfaces/Time: exact, a key to match stamps by."""
    return stamp.sec * NS_PER_S + stamp.nanosec


def seconds_to_stamp(t: float) -> tuple[int, int]:
    """(sec, nanosec) of a non-negative time in seconds, rounded to the nanosecond."""
    if not (math.isfinite(t) and t >= 0.0):
        raise ValueError(f"a ROS time stamp must be finite and non-negative, got {t}")
    return divmod(round(t * NS_PER_S), NS_PER_S)


def yaw_from_quaternion(x: float, y: float, z: float, w: float) -> float:
    """Heading (rotation about z) of an orientation quaternion, radians in (-pi, pi]."""
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def quaternion_from_yaw(yaw: float) -> tuple[float, float, float, float]:
    """(x, y, z, w) of a rotation by `yaw` radians about z."""
    return 0.0, 0.0, math.sin(yaw / 2.0), math.cos(yaw / 2.0)
