"""rclpy.impl.logging_severity: the rcutils severities."""

from enum import IntEnum


class LoggingSeverity(IntEnum):
    """Severity levels of log messages (rcutils values)."""

    UNSET = 0
    DEBUG = 10
    INFO = 20
    WARN = 30
    ERROR = 40
    FATAL = 50
