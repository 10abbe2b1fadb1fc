"""rclpy.signals: SignalHandlerOptions (the stand-in installs no signal handler)."""

from enum import IntEnum


class SignalHandlerOptions(IntEnum):
    """Which signal handlers rclpy.init installs."""

    NO = 0
    SIGINT = 1
    SIGTERM = 2
    ALL = 3
