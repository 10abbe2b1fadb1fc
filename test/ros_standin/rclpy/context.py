"""rclpy.context: Context, which here also holds the in-process graph of its nodes."""

from __future__ import annotations

import sys

import yaml
from rclpy import _graph


class Context:
    """Initialization state of ROS communications (and, in the stand-in, its graph)."""

    def __init__(self):
        self._ok = False
        self._initialized_once = False
        self._callbacks = []
        self._graph = _graph.Graph()
        self._parameter_overrides = {}
        self._domain_id = 0

    def init(self, args=None, *, initialize_logging=True, domain_id=None):
        """Initialize; `args` (default sys.argv) may hold `--ros-args -p name:=value`."""
        if self._ok:
            raise RuntimeError("Context.init() must only be called once")
        self._parameter_overrides = _parse_ros_args(sys.argv if args is None else args)
        self._graph = _graph.Graph()
        self._domain_id = 0 if domain_id is None else domain_id
        self._ok = True

    def ok(self) -> bool:
        return self._ok

    def shutdown(self) -> None:
        """Shut down: on_shutdown callbacks run; publishing is refused from now on."""
        if not self._ok:
            raise RuntimeError("Context must be initialized before it can be shutdown")
        self._ok = False
        for callback in self._callbacks:
            callback()
        self._callbacks = []

    def try_shutdown(self) -> None:
        if self._ok:
            self.shutdown()

    def on_shutdown(self, callback) -> None:
        if not callable(callback):
            raise TypeError("callback should be a callable, got {}", type(callback))
        self._callbacks.append(callback)

    def get_domain_id(self) -> int:
        return self._domain_id


def _parse_ros_args(args) -> dict:
    """Parameter overrides from the `--ros-args` sections of `args` (only -p is supported)."""
    from rclpy.parameter import Parameter

    overrides, in_ros_args, i = {}, False, 0
    args = list(args)
    while i < len(args):
        arg = args[i]
        if arg == "--ros-args":
            in_ros_args = True
        elif arg == "--":
            in_ros_args = False
        elif in_ros_args and arg in ("-p", "--param"):
            if i + 1 >= len(args) or ":=" not in args[i + 1]:
                raise RuntimeError(f"stand-in: expected name:=value after {arg}")
            name, text = args[i + 1].split(":=", 1)
            overrides[name] = Parameter(name, value=yaml.safe_load(text))
            i += 1
        elif in_ros_args:
            raise NotImplementedError(f"stand-in rclpy supports only -p in --ros-args, not {arg}")
        i += 1
    return overrides
