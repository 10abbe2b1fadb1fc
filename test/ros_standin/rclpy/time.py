"""rclpy.time: Time (nanoseconds of one clock type)."""

from __future__ import annotations

import builtin_interfaces.msg
from rclpy.duration import Duration

S_TO_NS = 1000 * 1000 * 1000


def _clock_type():
    from rclpy.clock import ClockType

    return ClockType


class Time:
    """A point in time of a given clock type."""

    def __init__(self, *, seconds=0, nanoseconds=0, clock_type=None):
        clock_type = _clock_type().SYSTEM_TIME if clock_type is None else clock_type
        if not isinstance(clock_type, _clock_type()):
            raise TypeError("Clock type must be a ClockType enum")
        if seconds < 0:
            raise ValueError("Seconds value must not be negative")
        if nanoseconds < 0:
            raise ValueError("Nanoseconds value must not be negative")
        total = int(seconds * S_TO_NS) + int(nanoseconds)
        if total >= 2 ** 63:
            raise OverflowError("Total nanoseconds value is too large to store in C time point.")
        self._nanoseconds = total
        self._clock_type = clock_type

    @property
    def nanoseconds(self) -> int:
        return self._nanoseconds

    @property
    def clock_type(self):
        return self._clock_type

    def seconds_nanoseconds(self) -> tuple[int, int]:
        """(seconds, nanoseconds) of the time point."""
        return divmod(self.nanoseconds, S_TO_NS)

    def __repr__(self):
        return f"Time(nanoseconds={self.nanoseconds}, clock_type={self.clock_type.name})"

    def __add__(self, other):
        if isinstance(other, Duration):
            return Time(nanoseconds=self.nanoseconds + other.nanoseconds,
                        clock_type=self.clock_type)
        return NotImplemented

    __radd__ = __add__

    def __sub__(self, other):
        if isinstance(other, Time):
            if self.clock_type != other.clock_type:
                raise TypeError("Can't subtract times with different clock types")
            return Duration(nanoseconds=self.nanoseconds - other.nanoseconds)
        if isinstance(other, Duration):
            return Time(nanoseconds=self.nanoseconds - other.nanoseconds,
                        clock_type=self.clock_type)
        return NotImplemented

    def _check(self, other):
        if not isinstance(other, Time):
            raise TypeError(f"Can't compare time with object of type: {type(other)}")
        if self.clock_type != other.clock_type:
            raise TypeError("Can't compare times with different clock types")

    def __eq__(self, other):
        self._check(other)
        return self.nanoseconds == other.nanoseconds

    def __lt__(self, other):
        self._check(other)
        return self.nanoseconds < other.nanoseconds

    def __le__(self, other):
        self._check(other)
        return self.nanoseconds <= other.nanoseconds

    def __gt__(self, other):
        self._check(other)
        return self.nanoseconds > other.nanoseconds

    def __ge__(self, other):
        self._check(other)
        return self.nanoseconds >= other.nanoseconds

    def __hash__(self):
        return hash((self.nanoseconds, self.clock_type))

    def to_msg(self):
        """builtin_interfaces/Time."""
        sec, nanosec = self.seconds_nanoseconds()
        return builtin_interfaces.msg.Time(sec=sec, nanosec=nanosec)

    @classmethod
    def from_msg(cls, msg, clock_type=None):
        """Time of a builtin_interfaces/Time (ROS time by default)."""
        if not isinstance(msg, builtin_interfaces.msg.Time):
            raise TypeError("Must pass a builtin_interfaces.msg.Time object")
        clock_type = _clock_type().ROS_TIME if clock_type is None else clock_type
        return cls(seconds=msg.sec, nanoseconds=msg.nanosec, clock_type=clock_type)
