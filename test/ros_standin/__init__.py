"""A small, faithful stand-in for the rclpy subset follow_line's nodes use (ROS 2 Humble).

For tests only, on machines without ROS 2. `ros_modules()` puts this folder on sys.path when
the real rclpy cannot be imported, so that `rclpy`, `builtin_interfaces`, `std_msgs`,
`geometry_msgs`, `sensor_msgs`, `nav_msgs`, `rosgraph_msgs` and `rcl_interfaces` import from
here; with ROS 2 installed the same tests run against the real packages.

API subset (names, signatures, defaults and error types as in Humble's rclpy):

* `rclpy`: `init(*, args, context, domain_id, signal_handler_options)` (parses only
  `--ros-args -p name:=value`; installs no signal handler), `shutdown`, `try_shutdown`, `ok`,
  `spin`, `spin_once(node, *, executor, timeout_sec)`, `create_node`, `get_default_context`,
  `get_global_executor`.
* `rclpy.node.Node(node_name, *, context, cli_args, namespace, use_global_arguments,
  enable_rosout, start_parameter_services, parameter_overrides, allow_undeclared_parameters,
  automatically_declare_parameters_from_overrides)`: `declare_parameter(s)` (type from the
  default, overrides, `InvalidParameterTypeException`, `ParameterAlreadyDeclaredException`),
  `get_parameter(s)`, `get_parameter_or`, `has_parameter`, `describe_parameter(s)`,
  `list_parameters([], 0)`, `set_parameters` (read-only and type checks), `create_publisher`,
  `create_subscription`, `create_timer(period, callback, callback_group, clock)`, `destroy_*`,
  `destroy_node`, `get_clock`, `get_logger`, `get_name`, `get_namespace`,
  `resolve_topic_name` (relative, `~/private` and absolute names), `publishers`,
  `subscriptions`, `timers`. Each node declares `use_sim_time` (False) through its
  TimeSource; when true its ROS clock follows `/clock` (rosgraph_msgs/Clock).
* `Publisher.publish` (type check, deep copy to matching subscriptions), `topic_name`,
  `qos_profile`, `get_subscription_count`; `Subscription.callback/msg_type/qos_profile/
  topic_name`; `Timer` (`cancel`, `reset`, `is_ready`, rcl's catch-up rule);
  `rclpy.executors` (`SingleThreadedExecutor`: every entity one wait finds ready gets a turn
  before the next wait; `spin_once` on a shut-down context raises
  `ExternalShutdownException`); `rclpy.signals.SignalHandlerOptions`.
* `rclpy.qos`: `QoSProfile`, the policy enums (and `QoS*Policy` aliases),
  `qos_profile_sensor_data` and the other presets, `QoSPresetProfiles`. Delivery follows the
  DDS rules: a best-effort publisher does not reach a reliable subscription, a volatile one
  not a transient-local one; KEEP_LAST queues keep `depth` messages. No latching.
* `rclpy.clock` (`Clock`, `ROSClock`, `ClockType`), `rclpy.time.Time`,
  `rclpy.duration.Duration`, `rclpy.parameter.Parameter`, `rclpy.exceptions`.
* Logging: `get_logger().debug/info/warn/warning/error/fatal(msg, throttle_duration_sec=,
  throttle_time_source_type=, skip_first=, once=)` with rclpy's per-call-site filter state
  and its ValueError when a call site changes severity or filters; returns whether the
  message was emitted; prints `[SEVERITY] [sec.nsec] [name]: msg` to stderr.
* Messages (rosidl-style classes: slots, keyword constructor, type-checked setters, constants):
  `builtin_interfaces.msg.Time/Duration`, `std_msgs.msg.Header/Float32`,
  `geometry_msgs.msg.Vector3/Point/Quaternion/Pose/Twist/TwistStamped/PoseWithCovariance/
  TwistWithCovariance`, `sensor_msgs.msg.Image`, `nav_msgs.msg.Odometry`,
  `rosgraph_msgs.msg.Clock`, `rcl_interfaces.msg.ParameterDescriptor/ParameterType/
  FloatingPointRange/IntegerRange/SetParametersResult/ListParametersResult`.

The in-process graph (not rclpy API; helpers below): every node of a context shares it;
callbacks run only when their node spins, as with a real executor. Wall-clock time is fake:
it moves only with `advance_time` or while `spin_once(timeout_sec=...)` waits, so timers and
throttled logs are deterministic. Not covered: services, actions, parameter services and
events, remapping, namespaced `-p`, callback groups, multi-threading, raw messages, parameter
ranges.
"""

from __future__ import annotations

import importlib.util
import sys
from contextlib import contextmanager
from pathlib import Path

STANDIN_DIR = Path(__file__).resolve().parent
PACKAGES = ("rclpy", "builtin_interfaces", "std_msgs", "geometry_msgs", "sensor_msgs",
            "nav_msgs", "rosgraph_msgs", "rcl_interfaces", "_standin_msg")


def real_rclpy_available() -> bool:
    """Whether an rclpy other than this stand-in can be imported."""
    spec = importlib.util.find_spec("rclpy")
    return spec is not None and STANDIN_DIR not in Path(spec.origin or "").resolve().parents


def _purge(prefixes) -> None:
    for name in list(sys.modules):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            del sys.modules[name]


@contextmanager
def ros_modules(dependents=("follow_line.ros",)):
    """Yield "real" (rclpy importable) or "standin" (this folder put on sys.path).

    On exit the stand-in leaves sys.path and sys.modules, with the `dependents` modules that
    imported it, so that other tests see the interpreter as it was.
    """
    if real_rclpy_available():
        yield "real"
        return
    sys.path.insert(0, str(STANDIN_DIR))
    try:
        yield "standin"
    finally:
        sys.path.remove(str(STANDIN_DIR))
        _purge((*PACKAGES, *dependents))


def _graph():
    from rclpy import _graph

    return _graph


def advance_time(seconds: float) -> None:
    """Let `seconds` of (fake) wall-clock time pass: timers fall due, nothing runs yet."""
    _graph().advance(round(seconds * 1e9))


def now_ns() -> int:
    """The fake wall clock, nanoseconds."""
    return _graph().now_ns()


def published(topic: str, context=None) -> list:
    """Copies of every message published on the fully qualified `topic` in `context`."""
    from rclpy.utilities import get_default_context

    return list((context or get_default_context())._graph.published.get(topic, []))


def logs() -> list:
    """Every log record emitted since `clear_logs()` (severity, name, message, time_ns)."""
    return list(_graph().LOGS)


def clear_logs() -> None:
    """Forget the log records."""
    _graph().LOGS.clear()


def run_ready(*nodes) -> int:
    """Run every callback of `nodes` that is ready now (no time passes); how many ran."""
    count = 0
    while (work := _graph().next_work(nodes)) is not None:
        work()
        count += 1
    return count
