"""ROS 2 adapters over the pure-Python core: the drive, lap-monitor and built-in-sim nodes.

Importing this package does not import rclpy (the core must work without ROS); the node
modules `drive_node`, `lap_monitor_node` and `sim_node` do. The helpers here are plain Python:
time stamps, yaw and quaternions, parameter declaration and start-up checks shared by the nodes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

from follow_line.errors import FollowLineError

NS_PER_S = 1_000_000_000
POLL_S = 0.05  # how often a spinning node looks for a signal


def stamp_to_seconds(stamp) -> float:
    """Seconds of a builtin_interfaces/Time (`sec`, `nanosec`)."""
    return stamp.sec + stamp.nanosec * 1e-9


def stamp_to_ns(stamp) -> int:
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


def declare(node, name: str, default, description: str, constraints: str = ""):
    """Declare a read-only parameter with its description; returns its start-up value.

    Read-only because the nodes read their parameters once, at start-up: ROS refuses a later
    `ros2 param set` instead of silently ignoring it. A float parameter also takes an integer
    (`max_v:=20`), returned as a float.
    """
    from rcl_interfaces.msg import ParameterDescriptor

    is_float = isinstance(default, float)
    descriptor = ParameterDescriptor(description=description,
                                     additional_constraints=constraints, read_only=True,
                                     dynamic_typing=is_float)
    value = node.declare_parameter(name, default, descriptor).value
    if not is_float:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise parameter_error(name, value, f"a number ({constraints or 'float'})")
    return float(value)


def parameter_error(name: str, value, allowed: str) -> FollowLineError:
    """The start-up error for a parameter value, naming the parameter and what is allowed."""
    return FollowLineError(f"parameter '{name}' is {value!r}; allowed: {allowed}")


def check_choice(name: str, value: str, choices: Iterable[str]) -> str:
    """`value` if it is one of `choices`, else a parameter_error listing them."""
    choices = list(choices)
    if value not in choices:
        raise parameter_error(name, value, ", ".join(choices))
    return value


def check_topics(**topics: str) -> None:
    """Refuse an empty topic parameter (keyword: parameter name, value: topic)."""
    for name, topic in topics.items():
        if not topic:
            raise parameter_error(name, topic, "a topic name")


def declare_world(node):
    """Declare and check the `world` parameter (world/worlds.py); the World."""
    from follow_line.world.worlds import DEFAULT_WORLD, WORLDS, world_names

    name = declare(node, "world", DEFAULT_WORLD,
                   "World: its circuits (names resolve in it), its car's camera, its networks",
                   f"one of {', '.join(world_names())}")
    return WORLDS[check_choice("world", name, world_names())]


def declare_circuit(node, world=None):
    """Declare and check the `circuit` and `direction` parameters; (Circuit, direction).

    A circuit name resolves in `world` (a World; None: the default world).
    """
    from follow_line.world.circuits import DIRECTIONS
    from follow_line.world.worlds import get_world

    world = get_world(world)
    name = declare(node, "circuit", "simple",
                   "Circuit: a built-in name or the path of a circuit .yaml file",
                   f"built-in: {', '.join(world.circuits())}")
    direction = declare(node, "direction", "clockwise", "Driving direction",
                        f"one of {', '.join(DIRECTIONS)}")
    try:
        circuit = world.load(name)
    except FollowLineError as exc:
        raise FollowLineError(f"parameter 'circuit' is {name!r}: {exc}") from None
    return circuit, check_choice("direction", direction, DIRECTIONS)


def check_range(name: str, value: float, low: float | None = None, high: float | None = None,
                low_open: bool = False) -> float:
    """`value` if finite and within [low, high] (or (low, high] with `low_open`)."""
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and value > high
    if not math.isfinite(value) or too_low or too_high:
        left = "(" if low_open else "["
        low_text = "-inf" if low is None else f"{low:g}"
        right = "inf)" if high is None else f"{high:g}]"
        raise parameter_error(name, value, f"a number in {left}{low_text}, {right}")
    return value


def missing_params_files(args: list[str]) -> list[str]:
    """The `--params-file` arguments of a ROS command line that name no readable file."""
    return [path for flag, path in zip(args, args[1:], strict=False)
            if flag == "--params-file" and not Path(path).is_file()]


def run_node(node_class, args: list[str] | None = None) -> int:
    """The body of a node's entry point: init, spin until a signal, clean up; the exit code.

    SIGINT and SIGTERM are handled here, not by rclpy (whose handler shuts the context down
    before the node can publish again: ros2/rclpy#1077). During start-up a signal aborts the
    start; afterwards it ends the spin loop, which polls at POLL_S, so the node's
    `destroy_node` (the drive node's zero twist, the lap monitor's record) runs while the
    context is still valid. A node may also end its own run by setting `done`. Exit codes:
    0 after a signal or `done`, 1 for a bad parameter or a failure, 2 for a bad command line.
    """
    import signal
    import sys

    import rclpy
    from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
    from rclpy.logging import get_logger
    from rclpy.signals import SignalHandlerOptions

    name = getattr(node_class, "NODE_NAME", node_class.__name__)
    argv = sys.argv if args is None else args
    missing = missing_params_files(argv)
    if missing:
        print(f"{name}: error: --params-file {missing[0]}: no such file", file=sys.stderr)
        return 2
    stopping = {"signal": None, "started": False}

    def on_signal(signum, _frame):
        stopping["signal"] = signal.Signals(signum).name
        if not stopping["started"]:  # abort the start-up, once: a second signal waits
            stopping["started"] = True
            raise KeyboardInterrupt

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    except KeyboardInterrupt:
        return 0
    except Exception as exc:  # noqa: BLE001 (rclpy's own errors: a bad --ros-args line)
        print(f"{name}: error: {exc}", file=sys.stderr)
        return 2
    node = None
    code = 0
    try:
        node = node_class()
        stopping["started"] = True
        if stopping["signal"] is None:
            executor = SingleThreadedExecutor()
            executor.add_node(node)
            while (stopping["signal"] is None and not getattr(node, "done", False)
                   and rclpy.ok()):
                executor.spin_once(timeout_sec=POLL_S)
        if stopping["signal"]:
            node.get_logger().info(f"{stopping['signal']}: shutting down")
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
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code


def exit_process(code: int):
    """End the process now with `code`, after flushing its output.

    Used once a node has shut down cleanly (car stopped, record written, rclpy shut down):
    the interpreter's own teardown with TensorFlow loaded takes about half a second, and a
    signalled node must be gone within one.
    """
    import os
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _entry(module: str) -> int:
    """Run a node's main, or say plainly that ROS 2 is missing (instead of a traceback)."""
    import importlib
    import importlib.util
    import sys

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
