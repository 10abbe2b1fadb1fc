"""Drive node: camera image -> driver (a network or the explicit driver) -> cmd_vel.

A managed (lifecycle) node, as nav2's are: `configure` loads the driver and warms it up (the
slow part: seconds of TensorFlow start-up), `activate` subscribes to the camera and drives,
`deactivate` stops the car (a zero twist, waited for until acknowledged) and drives no more
frames, `cleanup` releases the network. With `autostart` (the default, and what the launch
file and `follow-line ros` use) the node configures and activates itself at start-up;
`ros2 lifecycle set /follow_line_drive deactivate` works on it either way.

Each camera frame (sensor-data QoS, keeping only the newest frame, so that a driver slower
than the camera drives the latest frame instead of a queue of old ones) is converted to RGB,
driven with the frame's header stamp as its time, clamped to the node's limits and published
as a Twist (or a TwistStamped carrying the frame's stamp, which the lockstep simulator waits
for). The car is stopped (a zero twist) when frames go stale (steady clock, whatever /clock
does) after a command that moved it, when a frame cannot be used, and when the node shuts
down (a signal, an error). A stop that answers no frame carries the stamp of the last frame
driven, so that a lockstep simulator never takes it for the answer to the frame it waits for.

Topics (relative: remap them): `camera/image_raw` in (sensor_msgs/Image 640x480, rgb8, bgr8
or mono8), `cmd_vel` out.
"""

from __future__ import annotations

import math
import time
from typing import Any

from builtin_interfaces.msg import Time
from geometry_msgs.msg import Twist, TwistStamped
from rclpy.clock import Clock, ClockType
from rclpy.duration import Duration
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.publisher import Publisher
from rclpy.qos import QoSProfile, qos_profile_sensor_data
from rclpy.qos_overriding_options import QoSOverridingOptions
from rclpy.subscription import Subscription
from rclpy.timer import Timer
from sensor_msgs.msg import Image

from follow_line.driving.drivers import check_driver_name, make_driver
from follow_line.driving.inference import BACKENDS, DEVICES
from follow_line.driving.run import Driver
from follow_line.driving.vision import Preprocessing
from follow_line.errors import FollowLineError
from follow_line.interface import BASE_FRAME, CAMERA, CMD_VEL, DRIVE_NODE
from follow_line.logs import native_stderr_silenced, quiet_python_libraries, set_verbose
from follow_line.ros.conversions import stamp_to_seconds
from follow_line.ros.image_conversion import image_to_rgb
from follow_line.ros.parameters import check_choice, check_range, declare, declare_world
from follow_line.ros.runner import exit_process, run_node
from follow_line.world.kinematics import V_LIMITS, W_LIMITS

CMD_VEL_DEPTH = 10
WATCHDOG_CHECKS = 5  # watchdog timer ticks per watchdog_timeout
STATS_PERIOD_S = 5.0  # latency report
ERROR_PERIOD_S = 2.0  # throttle of per-frame errors and warnings
# How long a stop waits for the subscribers to acknowledge the zero twist: deactivate waits
# for the acknowledgement, which a reliable Fast DDS writer gets with its next periodic
# heartbeat (every 3 s by default); a signalled node, which must be gone within a second,
# only gives its delivery a moment.
DEACTIVATE_ACK_S = 3.5
SHUTDOWN_ACK_S = 0.3


def camera_qos() -> QoSProfile:
    """Sensor-data QoS (best effort, volatile) with a history of one: the newest frame only.

    Its reliability, depth and history take QoS overrides (`interface.qos_override`): a
    lockstep run sets it reliable, so that a frame too large for Fast DDS's default shared
    memory (its UDP fragments overflow the socket buffer) is repaired instead of lost. A new
    profile each time: rclpy writes the overrides into the profile it is given.
    """
    return QoSProfile(depth=1, reliability=qos_profile_sensor_data.reliability,
                      durability=qos_profile_sensor_data.durability,
                      history=qos_profile_sensor_data.history)


class DriveNode(LifecycleNode):
    """Camera frames in, velocity commands out; a zero command on stale frames and at exit."""

    NODE_NAME = DRIVE_NODE
    # None until configured (and once cleaned up): rclpy may destroy a node whose __init__
    # failed. Active implies configured: `_loaded` and `_publisher` say so where it is needed.
    cmd_pub: Publisher | None = None
    driver: Driver | None = None
    image_sub: Subscription | None = None
    watchdog: Timer | None = None
    _driving = False  # active: frames are driven

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(DRIVE_NODE, **kwargs)
        self.image_topic = self.resolve_topic_name(CAMERA.name)  # remapped: for the logs
        self.cmd_vel_topic = self.resolve_topic_name(CMD_VEL.name)
        self.model = declare(
            self, "model", "pilotnet",
            "Driver: a shipped network, a NAME.keras or NAME.json path, a registry network "
            "(built untrained) or 'expert' (the explicit driver)")
        self.world = declare_world(self).name
        self.stamped = declare(self, "stamped", False,
                               "Publish geometry_msgs/TwistStamped (stamped with the frame's "
                               "stamp; the lockstep simulator needs it) instead of Twist")
        self.device = declare(self, "device", "auto", "Where the network runs",
                              f"one of {', '.join(DEVICES)}")
        self.backend = declare(self, "backend", "auto", "Network inference backend",
                               f"one of {', '.join(BACKENDS)}")
        self.max_v = declare(self, "max_v", V_LIMITS[1],
                             "Largest linear velocity sent (m/s); commands are clamped to "
                             "[0, max_v]", f"0 < max_v <= {V_LIMITS[1]:g}")
        self.max_w = declare(self, "max_w", W_LIMITS[1],
                             "Largest angular velocity sent (rad/s); commands are clamped to "
                             "[-max_w, max_w]", f"0 < max_w <= {W_LIMITS[1]:g}")
        self.watchdog_timeout = declare(
            self, "watchdog_timeout", 0.5,
            "Seconds (steady clock) without a camera frame after which the car is stopped",
            "> 0")
        self.control_rate_limit = declare(
            self, "control_rate_limit", 0.0,
            "Most frames driven per second of frame stamps (later frames inside 1/limit of "
            "the last one driven are skipped); 0 drives every frame", ">= 0")
        self.autostart = declare(self, "autostart", True,
                                 "Configure and activate at start-up (false: wait for "
                                 "`ros2 lifecycle set` or a lifecycle manager)")
        self.verbose = declare(self, "verbose", False,
                               "Show the libraries' start-up lines (TensorFlow, oneDNN, absl, "
                               "LiteRT) while the network loads")
        self._check_parameters()
        self.last_command: tuple[float, float] = (0.0, 0.0)
        self.frames = {"received": 0, "driven": 0, "skipped": 0, "failed": 0}
        self._last_stamp: tuple[int, int] | None = None  # (sec, nanosec) of the last frame
        self._configure_error: Exception | None = None
        if self.autostart:
            self._start_up()

    def _check_parameters(self) -> None:
        check_choice("device", self.device, DEVICES)
        check_choice("backend", self.backend, BACKENDS)
        check_range("max_v", self.max_v, 0.0, V_LIMITS[1], low_open=True)
        check_range("max_w", self.max_w, 0.0, W_LIMITS[1], low_open=True)
        check_range("watchdog_timeout", self.watchdog_timeout, 0.0, low_open=True)
        check_range("control_rate_limit", self.control_rate_limit, 0.0)
        try:
            check_driver_name(self.model, self.world)
        except FollowLineError as exc:
            raise FollowLineError(f"parameter 'model' is {self.model!r}: {exc}") from None

    def _start_up(self) -> None:
        """autostart: configure and activate now; a failure is the node's start-up error."""
        if self.trigger_configure() != TransitionCallbackReturn.SUCCESS:
            raise self._configure_error or FollowLineError("configure failed")
        if self.trigger_activate() != TransitionCallbackReturn.SUCCESS:
            raise FollowLineError("activate failed")

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Load the driver, warm it up, create the cmd_vel publisher."""
        self._configure_error = None
        if self.verbose:
            set_verbose()
        quiet_python_libraries()
        with native_stderr_silenced():  # TensorFlow's and LiteRT's start-up lines
            try:
                self.driver = make_driver(self.model, self.backend, self.device,
                                          world=self.world)
            except Exception as exc:  # noqa: BLE001 (an unusable model stays unconfigured)
                self._configure_error = FollowLineError(
                    f"parameter 'model' is {self.model!r}: {exc}")
                self.get_logger().error(f"configure failed: {self._configure_error}")
                return TransitionCallbackReturn.FAILURE
            self._camera = Preprocessing()  # the frame every driver expects (640x480 RGB)
            self._warm_up()
        self.cmd_pub = self.create_publisher(TwistStamped if self.stamped else Twist,
                                             CMD_VEL.name, CMD_VEL_DEPTH)
        backend = getattr(self.driver, "backend", None)
        self.get_logger().info(f"configured: {self.driver.name}"
                               f"{f' ({backend})' if backend else ''} loaded")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Subscribe to the camera and drive every frame; watch for stale frames."""
        self._loaded().reset()
        self._last_frame = time.monotonic()  # activation counts as a frame
        self._stale = False
        self._last_driven_t: float | None = None
        self._latencies_ms: list[float] = []
        self._reported_at: float | None = None  # steady-clock time of the last stats line
        self.image_sub = self.create_subscription(
            Image, CAMERA.name, self._on_image, camera_qos(),
            qos_overriding_options=QoSOverridingOptions.with_default_policies())
        self.watchdog = self.create_timer(self.watchdog_timeout / WATCHDOG_CHECKS,
                                          self._on_watchdog,
                                          clock=Clock(clock_type=ClockType.STEADY_TIME))
        self._driving = True
        self.get_logger().info(
            f"driving with {self._loaded().name}: {self.image_topic} -> {self.cmd_vel_topic} "
            f"({'TwistStamped' if self.stamped else 'Twist'}), max_v {self.max_v:g} m/s, "
            f"max_w {self.max_w:g} rad/s, watchdog {self.watchdog_timeout:g} s")
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop the car (zero twist, acknowledged) and drive no more frames."""
        self.stop(DEACTIVATE_ACK_S)
        return TransitionCallbackReturn.SUCCESS

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release the network and the publisher."""
        self._release()
        self.get_logger().info("cleaned up: network released")
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop the car if it was driving, then release everything."""
        self.stop()
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        """A transition raised: stop the car, release everything, back to unconfigured."""
        self.stop()
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def _loaded(self) -> Driver:
        """The configured driver."""
        assert self.driver is not None, "the drive node is not configured"
        return self.driver

    def _publisher(self) -> Publisher:
        """The configured cmd_vel publisher."""
        assert self.cmd_pub is not None, "the drive node is not configured"
        return self.cmd_pub

    def _release(self) -> None:
        if self.cmd_pub is not None:
            self.destroy_publisher(self.cmd_pub)
            self.cmd_pub = None
        self.driver = None

    def _warm_up(self) -> None:
        """Drive one blank frame (a network's first call is slow), then forget it."""
        import numpy as np

        try:
            self._loaded()(np.zeros((*self._camera.camera_size, 3), np.uint8), 0.0)
        except Exception as exc:  # noqa: BLE001 (the first real frame reports it properly)
            self.get_logger().warning(f"warm-up frame failed: {exc}")
        self._loaded().reset()

    def clamp(self, v: float, w: float) -> tuple[float, float]:
        """(v, w) within [0, max_v] x [-max_w, max_w]; a non-finite command becomes a stop."""
        v, w = float(v), float(w)
        if not (math.isfinite(v) and math.isfinite(w)):
            return 0.0, 0.0
        return min(max(v, 0.0), self.max_v), min(max(w, -self.max_w), self.max_w)

    def publish_command(self, v: float, w: float, stamp: Any = None) -> None:
        """Publish (v, w) on cmd_vel, `stamp` in a TwistStamped (default: see below).

        The default stamp is the last frame driven's, or now before the first.
        """
        if self.stamped:
            msg = TwistStamped()
            if stamp is not None:
                msg.header.stamp = Time(sec=stamp.sec, nanosec=stamp.nanosec)
            elif self._last_stamp is not None:
                msg.header.stamp = Time(sec=self._last_stamp[0], nanosec=self._last_stamp[1])
            else:
                msg.header.stamp = self.get_clock().now().to_msg()
            msg.header.frame_id = BASE_FRAME
            twist = msg.twist
        else:
            msg = twist = Twist()
        twist.linear.x = float(v)
        twist.angular.z = float(w)
        self._publisher().publish(msg)
        self.last_command = (float(v), float(w))

    def _on_image(self, msg: Image) -> None:
        if not self._driving:
            return
        self.frames["received"] += 1
        self._last_frame = time.monotonic()
        self._stale = False
        stamp = (msg.header.stamp.sec, msg.header.stamp.nanosec)
        if self.stamped and stamp == self._last_stamp:
            # The same frame again (a lockstep simulator repeats a frame until its command
            # arrives): answer with the same command; a stateful driver must not see it twice.
            self.frames["skipped"] += 1
            self.publish_command(*self.last_command, msg.header.stamp)
            return
        t = stamp_to_seconds(msg.header.stamp)
        if t == 0.0 and not self.stamped:
            self.get_logger().warning(f"a frame on {self.image_topic} carries no stamp: timing "
                                      "it with the node clock", once=True)
            t = self.get_clock().now().nanoseconds * 1e-9
        if self._skip(t):
            self.frames["skipped"] += 1
            return
        start = time.perf_counter()
        try:
            image = image_to_rgb(msg)
            self._camera.check(image)
            v, w = self._loaded()(image, t)
        except Exception as exc:  # noqa: BLE001 (whatever goes wrong, the car stops)
            self.frames["failed"] += 1
            self.get_logger().error(
                f"cannot drive from the frame on {self.image_topic}: {exc}; stopping the car",
                throttle_duration_sec=ERROR_PERIOD_S)
            self.publish_command(0.0, 0.0, msg.header.stamp)
            return
        latency_ms = (time.perf_counter() - start) * 1e3
        self.publish_command(*self.clamp(v, w), msg.header.stamp)
        self.frames["driven"] += 1
        self._last_stamp = stamp
        self._last_driven_t = t
        self._report(latency_ms)

    def _skip(self, t: float) -> bool:
        """Whether the frame at `t` comes too soon after the last one driven."""
        if self.control_rate_limit <= 0.0 or self._last_driven_t is None:
            return False
        since = t - self._last_driven_t
        return 0.0 <= since < 1.0 / self.control_rate_limit - 1e-6

    def frame_counts(self) -> str:
        """The frames received, driven, skipped and failed so far, as one line."""
        return ", ".join(f"{n} {what}" for what, n in self.frames.items()) + " frame(s)"

    def _report(self, latency_ms: float) -> None:
        """Collect the latency; every STATS_PERIOD_S (steady clock) log the period's figures."""
        self._latencies_ms.append(latency_ms)
        now = time.monotonic()
        if self._reported_at is not None and now - self._reported_at < STATS_PERIOD_S:
            return
        self._reported_at = now
        lat = sorted(self._latencies_ms)
        self._latencies_ms.clear()
        self.get_logger().info(
            f"{self.frame_counts()}; driver latency median {lat[len(lat) // 2]:.2f} ms, "
            f"max {lat[-1]:.2f} ms; last command v={self.last_command[0]:.2f} "
            f"w={self.last_command[1]:.2f}")

    def _on_watchdog(self) -> None:
        if self._stale or not self._driving or self.last_command == (0.0, 0.0):
            return
        age = time.monotonic() - self._last_frame
        if age >= self.watchdog_timeout:
            self._stale = True
            self.publish_command(0.0, 0.0)
            self.get_logger().warning(
                f"no camera frame on {self.image_topic} for {age:.2f} s (watchdog_timeout "
                f"{self.watchdog_timeout:g} s): stopping the car",
                throttle_duration_sec=ERROR_PERIOD_S)

    def stop(self, ack_wait_s: float = SHUTDOWN_ACK_S) -> None:
        """Drive no more frames; publish a zero twist and wait up to `ack_wait_s` for its ack."""
        if not self._driving:
            return
        self._driving = False
        if self.image_sub is not None:
            self.destroy_subscription(self.image_sub)
        if self.watchdog is not None:
            self.destroy_timer(self.watchdog)
        self.image_sub = self.watchdog = None
        try:
            self.publish_command(0.0, 0.0)
            acked = self._publisher().wait_for_all_acked(Duration(seconds=ack_wait_s))
        except Exception as exc:  # noqa: BLE001 (e.g. the context is already shut down)
            self.get_logger().error(f"could not publish the stop command: {exc}")
            return
        how = "acknowledged" if acked else f"sent, not acknowledged within {ack_wait_s:g} s"
        self.get_logger().info(f"car stopped (zero twist {how}); {self.frame_counts()}")

    def destroy_node(self) -> None:
        """Stop the car, then destroy the node."""
        self.stop()
        return super().destroy_node()


def main(args: list[str] | None = None) -> int:
    """`ros2 run follow_line drive_node`: drive until a signal, then stop the car."""
    return run_node(DriveNode, args)


if __name__ == "__main__":
    exit_process(main())
