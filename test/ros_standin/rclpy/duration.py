"""rclpy.duration: Duration."""

from __future__ import annotations

import builtin_interfaces.msg

S_TO_NS = 1000 * 1000 * 1000


class Duration:
    """A span of time (nanoseconds; may be negative)."""

    def __init__(self, *, seconds=0, nanoseconds=0):
        total = int(seconds * S_TO_NS) + int(nanoseconds)
        if not -2 ** 63 <= total < 2 ** 63:
            raise OverflowError("Total nanoseconds value is too large to store in C duration.")
        self._nanoseconds = total

    @property
    def nanoseconds(self) -> int:
        return self._nanoseconds

    def __repr__(self):
        return f"Duration(nanoseconds={self.nanoseconds})"

    def __eq__(self, other):
        if isinstance(other, Duration):
            return self.nanoseconds == other.nanoseconds
        raise TypeError(f"Can't compare duration with object of type: {type(other)}")

    def __lt__(self, other):
        if isinstance(other, Duration):
            return self.nanoseconds < other.nanoseconds
        return NotImplemented

    def __le__(self, other):
        if isinstance(other, Duration):
            return self.nanoseconds <= other.nanoseconds
        return NotImplemented

    def __hash__(self):
        return hash(self.nanoseconds)

    def to_msg(self):
        """builtin_interfaces/Duration."""
        return builtin_interfaces.msg.Duration(sec=self.nanoseconds // S_TO_NS,
                                               nanosec=self.nanoseconds % S_TO_NS)

    @classmethod
    def from_msg(cls, msg):
        """Duration of a builtin_interfaces/Duration."""
        return cls(seconds=msg.sec, nanoseconds=msg.nanosec)
