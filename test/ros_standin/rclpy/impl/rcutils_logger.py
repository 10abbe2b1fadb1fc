"""rclpy.impl.rcutils_logger: RcutilsLogger with the real one's filters and call-site contexts.

As in rclpy: throttle / skip_first / once keep their state per call site (function, file,
line, bytecode offset); a call site may not change its severity or filter parameters between
calls (ValueError); the throttle's default time source is `Clock()` (system time, here the
stand-in's fake wall clock); `log` returns whether the message was emitted. Emitted messages
go to stderr in rcutils' default format, `[SEVERITY] [sec.nanosec] [name]: message`, and are
recorded in `rclpy._graph.LOGS`.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections import OrderedDict, namedtuple

from rclpy import _graph
from rclpy.clock import Clock
from rclpy.impl.logging_severity import LoggingSeverity

_LEVELS: dict[str, LoggingSeverity] = {}
_DEFAULT_LEVEL = LoggingSeverity.INFO
_INTERNAL = (os.path.realpath(__file__), os.path.realpath(
    os.path.join(os.path.dirname(os.path.dirname(__file__)), "logging.py")))


def _find_caller(frame):
    while os.path.realpath(inspect.getframeinfo(frame).filename) in _INTERNAL:
        frame = frame.f_back
    return frame


class CallerId(namedtuple("CallerId", ["function_name", "file_path", "line_number",
                                       "last_index"])):
    """Identifies a logging call site."""

    def __new__(cls, frame=None):
        frame = frame or _find_caller(inspect.currentframe())
        return super().__new__(cls, function_name=frame.f_code.co_name,
                               file_path=os.path.abspath(inspect.getframeinfo(frame).filename),
                               line_number=frame.f_lineno, last_index=frame.f_lasti)


class LoggingFilter:
    """Base class for logging filters."""

    params: dict = {}

    @classmethod
    def initialize_context(cls, context, **kwargs):
        for param in cls.params:
            context[param] = kwargs.get(param, cls.params[param])
            if context[param] is None:
                raise TypeError(f'Required parameter "{param}" was not specified for logging '
                                f'filter "{cls.__name__}"')

    @staticmethod
    def should_log(context):
        return True


class Once(LoggingFilter):
    """Ignore all log calls except the first one."""

    params = {"once": None}

    @classmethod
    def initialize_context(cls, context, **kwargs):
        super().initialize_context(context, **kwargs)
        context["has_been_logged_once"] = False

    @staticmethod
    def should_log(context):
        if context["has_been_logged_once"]:
            return False
        context["has_been_logged_once"] = True
        return True


class Throttle(LoggingFilter):
    """Ignore log calls if the last call is not longer ago than the specified duration."""

    params = {"throttle_duration_sec": None, "throttle_time_source_type": Clock()}

    @classmethod
    def initialize_context(cls, context, **kwargs):
        super().initialize_context(context, **kwargs)
        context["throttle_last_logged"] = 0
        if not isinstance(context["throttle_time_source_type"], Clock):
            raise ValueError(f'Received throttle_time_source_type of '
                             f'"{context["throttle_time_source_type"]}" is not a clock instance')

    @staticmethod
    def should_log(context):
        now = context["throttle_time_source_type"].now().nanoseconds
        next_log_time = context["throttle_last_logged"] + context["throttle_duration_sec"] * 1e9
        if now >= next_log_time:
            context["throttle_last_logged"] = now
            return True
        return False


class SkipFirst(LoggingFilter):
    """Ignore the first log call but process all subsequent calls."""

    params = {"skip_first": None}

    @classmethod
    def initialize_context(cls, context, **kwargs):
        super().initialize_context(context, **kwargs)
        context["first_has_been_skipped"] = False

    @staticmethod
    def should_log(context):
        if not context["first_has_been_skipped"]:
            context["first_has_been_skipped"] = True
            return False
        return True


supported_filters = OrderedDict(throttle=Throttle, skip_first=SkipFirst, once=Once)


def get_filters_from_kwargs(**kwargs):
    """The filters whose parameters appear in `kwargs`, in the order of supported_filters."""
    detected, supported_params = [], []
    for name, filter_class in supported_filters.items():
        supported_params.extend(filter_class.params)
        if any(kwargs.get(p) for p in filter_class.params):
            detected.append(name)
    for name in detected:
        for param, default in supported_filters[name].params.items():
            if param not in kwargs and default is None:
                raise TypeError(f'required parameter "{param}" not specified but is required '
                                f'for the the logging filter "{name}"')
    for kwarg in kwargs:
        if kwarg not in supported_params:
            raise TypeError(f'parameter "{kwarg}" is not one of the recognized logging options '
                            f'"{supported_params}"')
    return detected


class RcutilsLogger:
    """A named logger (what `Node.get_logger()` returns)."""

    def __init__(self, name=""):
        self.name = name
        self.contexts = {}

    def get_child(self, name):
        if not name:
            raise ValueError("Child logger name must not be empty.")
        return RcutilsLogger(f"{self.name}.{name}" if self.name else name)

    def set_level(self, level):
        _LEVELS[self.name] = LoggingSeverity(level)

    def get_effective_level(self):
        name = self.name
        while True:
            if name in _LEVELS and _LEVELS[name] != LoggingSeverity.UNSET:
                return _LEVELS[name]
            if "." not in name:
                return _DEFAULT_LEVEL
            name = name.rsplit(".", 1)[0]

    def is_enabled_for(self, severity):
        return LoggingSeverity(severity) >= self.get_effective_level()

    def log(self, message, severity, **kwargs):
        """Log `message`; False if the severity is disabled or a filter skipped it."""
        if not self.is_enabled_for(severity):
            return False
        severity = LoggingSeverity(severity)
        name = kwargs.pop("name", self.name)
        detected_filters = get_filters_from_kwargs(**kwargs)
        caller_id = CallerId()
        if caller_id not in self.contexts:
            context = {"name": name, "severity": severity}
            for detected in detected_filters:
                supported_filters[detected].initialize_context(context, **kwargs)
            context["filters"] = detected_filters
            self.contexts[caller_id] = context
        else:
            context = self.contexts[caller_id]
            if severity != context["severity"]:
                raise ValueError("Logger severity cannot be changed between calls.")
            if name != context["name"]:
                raise ValueError("Logger name cannot be changed between calls.")
            if detected_filters != context["filters"]:
                raise ValueError("Requested logging filters cannot be changed between calls.")
            for detected in detected_filters:
                params = supported_filters[detected].params
                if any(context[p] != kwargs.get(p, params[p]) for p in params):
                    raise ValueError("Logging filter parameters cannot be changed between calls.")
        for detected in context["filters"]:
            if not supported_filters[detected].should_log(context):
                return False
        now = _graph.now_ns()
        sys.stderr.write(f"[{severity.name}] [{now // 10**9}.{now % 10**9:09d}] [{name}]: "
                         f"{message}\n")
        _graph.LOGS.append(_graph.LogRecord(severity.name, name, str(message), now))
        return True

    def debug(self, message, **kwargs):
        return self.log(message, LoggingSeverity.DEBUG, **kwargs)

    def info(self, message, **kwargs):
        return self.log(message, LoggingSeverity.INFO, **kwargs)

    def warning(self, message, **kwargs):
        return self.log(message, LoggingSeverity.WARN, **kwargs)

    def warn(self, message, **kwargs):
        return self.warning(message, **kwargs)

    def error(self, message, **kwargs):
        return self.log(message, LoggingSeverity.ERROR, **kwargs)

    def fatal(self, message, **kwargs):
        return self.log(message, LoggingSeverity.FATAL, **kwargs)
