"""ROS 2 adapters over the pure-Python core: the drive, lap-monitor and built-in-sim nodes.

Importing this package does not import rclpy (the core must work without ROS); the node
modules `drive_node`, `lap_monitor_node` and `sim_node` do. The helpers here are plain Python:
time stamps, yaw and quaternions, parameter declaration and start-up checks shared by the nodes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from follow_line.errors import FollowLineError

NS_PER_S = 1_000_000_000


def stamp_to_seconds(stamp) -> float:
    """Seconds of a builtin_interfaces/Time (`sec`, `nanosec`)."""
    return stamp.sec + stamp.nanosec * 1e-9


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
    `ros2 param set` instead of silently ignoring it.
    """
    from rcl_interfaces.msg import ParameterDescriptor

    descriptor = ParameterDescriptor(description=description,
                                     additional_constraints=constraints, read_only=True)
    return node.declare_parameter(name, default, descriptor).value


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


def declare_circuit(node):
    """Declare and check the `circuit` and `direction` parameters; (Circuit, direction)."""
    from follow_line.circuits import DIRECTIONS, builtin_circuits, load_circuit

    name = declare(node, "circuit", "simple",
                   "Circuit: a built-in name or the path of a circuit .yaml file",
                   f"built-in: {', '.join(builtin_circuits())}")
    direction = declare(node, "direction", "clockwise", "Driving direction",
                        f"one of {', '.join(DIRECTIONS)}")
    try:
        circuit = load_circuit(name)
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


def run_node(node_class, args: list[str] | None = None,
             keep_context_on_interrupt: bool = False) -> int:
    """The body of a node's entry point: init, spin until Ctrl-C, clean up; the exit code.

    `destroy_node` runs before `rclpy.shutdown()`, so a node can still publish there (the drive
    node's zero twist). With `keep_context_on_interrupt`, rclpy installs no signal handler:
    Ctrl-C raises KeyboardInterrupt while the context is still valid (rclpy's own handler shuts
    the context down first, after which nothing can be published: ros2/rclpy#1077). The node
    then needs a timer, so that its executor wakes up to notice the interrupt.
    """
    import rclpy
    from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException
    from rclpy.logging import get_logger

    try:
        from rclpy.executors import ExternalShutdownException
    except ImportError:  # rclpy releases before Humble
        ExternalShutdownException = KeyboardInterrupt  # noqa: N806

    if keep_context_on_interrupt:
        try:
            from rclpy.signals import SignalHandlerOptions
        except ImportError:  # rclpy releases before Humble: no choice
            rclpy.init(args=args)
        else:
            rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    else:
        rclpy.init(args=args)
    node = None
    code = 0
    try:
        node = node_class()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except (FollowLineError, InvalidParameterTypeException,
            InvalidParameterValueException) as exc:
        get_logger(getattr(node_class, "NODE_NAME", node_class.__name__)).fatal(str(exc))
        code = 1
    finally:
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return code


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
    return importlib.import_module(f"follow_line.ros.{module}").main()


def drive_main() -> int:
    """Console script `drive_node`."""
    return _entry("drive_node")


def lap_monitor_main() -> int:
    """Console script `lap_monitor_node`."""
    return _entry("lap_monitor_node")


def sim_main() -> int:
    """Console script `sim_node`."""
    return _entry("sim_node")
