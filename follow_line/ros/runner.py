"""How a node's process runs: its console script, the spin loop, signals and shutdown.

SIGINT and SIGTERM are handled here, not by rclpy (whose handler shuts the context down
before the node can publish again: ros2/rclpy#1077). During start-up a signal aborts the
start; afterwards it ends the spin loop, which polls at POLL_S, so the node's `destroy_node`
(the drive node's zero twist, the lap monitor's record) runs while the context is still
valid. A node may also end its own run by setting `done`. Exit codes: 0 after a signal or
`done`, 1 for a bad parameter or a failure, 2 for a bad command line or a missing rclpy.
Plain Python until `run_node` runs: `bringup` uses `Signals` without rclpy.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

from follow_line.errors import FollowLineError

if TYPE_CHECKING:
    from rclpy.node import Node

POLL_S = 0.05  # how often a spinning node looks for a signal


class Signals:
    """SIGINT and SIGTERM, caught while installed (`with Signals() as signals:`).

    `received` is the name of the last one caught (None: none yet). With `abort_start`, the
    first signal before `started()` also raises KeyboardInterrupt, once, to abort a start-up
    that may take seconds (a network loading); a second signal then waits for the shutdown.
    """

    HANDLED = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, abort_start: bool = False):
        self.received: str | None = None
        self._abort_start = abort_start
        self._previous: dict = {}

    def __enter__(self) -> Signals:
        self._previous = {s: signal.signal(s, self._on_signal) for s in self.HANDLED}
        return self

    def __exit__(self, *exc_info: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def started(self) -> None:
        """The start-up is over: from now on a signal only ends the run."""
        self._abort_start = False

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.received = signal.Signals(signum).name
        if self._abort_start:
            self._abort_start = False
            raise KeyboardInterrupt


def missing_params_files(args: list[str]) -> list[str]:
    """The `--params-file` arguments of a ROS command line that name no readable file."""
    return [path for flag, path in zip(args, args[1:], strict=False)
            if flag == "--params-file" and not Path(path).is_file()]


def run_node(node_class: Callable[[], Node], args: list[str] | None = None) -> int:
    """The body of a node's `main`: init, spin until a signal or `done`, clean up; exit code."""
    import rclpy
    from rclpy.signals import SignalHandlerOptions

    name = getattr(node_class, "NODE_NAME", node_class.__name__)
    missing = missing_params_files(sys.argv if args is None else args)
    if missing:
        print(f"{name}: error: --params-file {missing[0]}: no such file", file=sys.stderr)
        return 2
    with Signals(abort_start=True) as signals:
        try:
            rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
        except KeyboardInterrupt:
            return 0
        except Exception as exc:  # noqa: BLE001 (rclpy's own errors: a bad --ros-args line)
            print(f"{name}: error: {exc}", file=sys.stderr)
            return 2
        return _run(node_class, name, signals)


def _run(node_class: Callable[[], Node], name: str, signals: Signals) -> int:
    """Create the node, spin it until a signal or its `done`, destroy it, shut rclpy down."""
    import rclpy
    from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
    from rclpy.logging import get_logger

    node = None
    code = 0
    try:
        node = node_class()
        signals.started()
        if signals.received is None:
            executor = SingleThreadedExecutor()
            executor.add_node(node)
            while signals.received is None and not getattr(node, "done", False) and rclpy.ok():
                executor.spin_once(timeout_sec=POLL_S)
        if signals.received:
            node.get_logger().info(f"{signals.received}: shutting down")
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except (FollowLineError, InvalidParameterTypeException,
            InvalidParameterValueException) as exc:
        get_logger(name).fatal(str(exc))
        code = 1
    except Exception as exc:  # noqa: BLE001 (the node's destroy_node still stops the car)
        get_logger(name).fatal(f"{type(exc).__name__}: {exc}")
        code = 1
    finally:
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return code


def exit_process(code: int) -> NoReturn:
    """End the process now with `code`, after flushing its output.

    Used once a node has shut down cleanly (car stopped, record written, rclpy shut down):
    the interpreter's own teardown with TensorFlow loaded takes about half a second, and a
    signalled node must be gone within one.
    """
    import os

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _entry(module: str) -> int:
    """Run a node's main, or say plainly that ROS 2 is missing (instead of a traceback)."""
    import importlib
    import importlib.util

    if importlib.util.find_spec("rclpy") is None:
        print("follow_line: ROS 2 is not available (rclpy cannot be imported); source "
              "/opt/ros/<distro>/setup.bash and your workspace. Without ROS, use the "
              "`follow-line` command.", file=sys.stderr)
        return 2
    exit_process(importlib.import_module(f"follow_line.ros.{module}").main())


def drive_main() -> int:
    """Console script `drive_node`."""
    return _entry("drive_node")


def lap_monitor_main() -> int:
    """Console script `lap_monitor_node`."""
    return _entry("lap_monitor_node")


def sim_main() -> int:
    """Console script `sim_node`."""
    return _entry("sim_node")
