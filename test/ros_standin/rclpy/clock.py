"""rclpy.clock: ClockType, Clock and ROSClock, reading the stand-in's fake wall clock."""

from __future__ import annotations

from enum import IntEnum

from rclpy import _graph
from rclpy.time import Time


class ClockType(IntEnum):
    """Clock types (rcl values)."""

    UNINITIALIZED = 0
    ROS_TIME = 1
    SYSTEM_TIME = 2
    STEADY_TIME = 3


class Clock:
    """A clock; `Clock(clock_type=ClockType.ROS_TIME)` is a ROSClock."""

    def __new__(cls, *, clock_type=ClockType.SYSTEM_TIME):
        if not isinstance(clock_type, ClockType):
            raise TypeError("Clock type must be a ClockType enum")
        if clock_type is ClockType.ROS_TIME:
            self = super().__new__(ROSClock)
            self._ros_time_is_active = False
            self._ros_time_override_ns = 0
        else:
            self = super().__new__(cls)
        self._clock_type = clock_type
        return self

    @property
    def clock_type(self):
        return self._clock_type

    def __repr__(self):
        return f"Clock(clock_type={self.clock_type.name})"

    def now(self) -> Time:
        """The current time of this clock."""
        return Time(nanoseconds=_graph.now_ns(), clock_type=self.clock_type)


class ROSClock(Clock):
    """ROS time: the wall clock, or the /clock topic's time when sim time is active."""

    def __new__(cls):
        return super().__new__(Clock, clock_type=ClockType.ROS_TIME)

    @property
    def ros_time_is_active(self) -> bool:
        return self._ros_time_is_active

    def _set_ros_time_is_active(self, enabled):
        self._ros_time_is_active = bool(enabled)

    def set_ros_time_override(self, time: Time) -> None:
        if not isinstance(time, Time):
            raise TypeError("Time must be specified as rclpy.time.Time")
        self._ros_time_override_ns = time.nanoseconds

    def now(self) -> Time:
        if self._ros_time_is_active:
            return Time(nanoseconds=self._ros_time_override_ns, clock_type=self.clock_type)
        return super().now()
