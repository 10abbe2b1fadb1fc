"""rclpy.logging: named loggers and severities."""

from rclpy.impl.logging_severity import LoggingSeverity
from rclpy.impl.rcutils_logger import RcutilsLogger

__all__ = ["LoggingSeverity", "get_logger", "set_logger_level", "get_logger_effective_level"]


def get_logger(name):
    """The logger called `name`."""
    if not name:
        raise ValueError("Logger name must not be empty.")
    return RcutilsLogger(name)


def set_logger_level(name, level):
    """Set the severity threshold of logger `name`."""
    RcutilsLogger(name).set_level(level)


def get_logger_effective_level(name):
    """The effective severity threshold of logger `name`."""
    return RcutilsLogger(name).get_effective_level()
