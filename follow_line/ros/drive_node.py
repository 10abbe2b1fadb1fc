"""Drive node: camera image -> driver (a network or the explicit driver) -> cmd_vel.

Each camera frame (sensor-data QoS, keeping only the newest frame, so that a driver slower
than the camera drives the latest frame instead of a queue of old ones) is converted to RGB,
driven with the frame's header stamp as its time, clamped to the node's limits and published
as a Twist (or a TwistStamped carrying the frame's stamp, which the lockstep simulator waits
for). The car is stopped (a zero twist) when frames go stale (steady clock, whatever /clock
does) after a command that moved it, when a frame cannot be used, and when the node shuts
down (a signal, an error). A stop that answers no frame carries the stamp of the last frame
driven, so that a lockstep simulator never takes it for the answer to the frame it waits for.
"""

from __future__ import annotations

import math
import time

from builtin_interfaces.msg import Time
from geometry_msgs.msg import Twist, TwistStamped
from rclpy.clock import Clock, ClockType
from rclpy.duration import Duration
from rclpy.node import Node
from rclpy.qos import QoSProfile, qos_profile_sensor_data
from sensor_msgs.msg import Image

from follow_line.driving.drivers import check_driver_name, make_driver
from follow_line.driving.inference import BACKENDS, DEVICES
from follow_line.driving.vision import Preprocessing
from follow_line.errors import FollowLineError
from follow_line.gazebo.sdf import BASE_FRAME, CAMERA_TOPIC, CMD_VEL_TOPIC
from follow_line.logs import native_stderr_silenced, quiet_python_libraries
from follow_line.ros import (
    check_choice,
    check_range,
    check_topics,
    declare,
    exit_process,
    run_node,
    stamp_to_seconds,
)
from follow_line.ros.image_conversion import SUPPORTED_ENCODINGS, image_to_rgb
from follow_line.world.kinematics import V_LIMITS, W_LIMITS

NODE_NAME = "follow_line_drive"
CMD_VEL_DEPTH = 10
WATCHDOG_CHECKS = 5  # watchdog timer ticks per watchdog_timeout
STATS_PERIOD_S = 5.0  # latency report
ERROR_PERIOD_S = 2.0  # throttle of per-frame errors and warnings
STOP_ACK_S = 0.3  # how long shutdown waits for subscribers to acknowledge the zero twist
# Sensor-data QoS (best effort, volatile) with a history of one: the newest frame only.
CAMERA_QOS = QoSProfile(depth=1, reliability=qos_profile_sensor_data.reliability,
                        durability=qos_profile_sensor_data.durability,
                        history=qos_profile_sensor_data.history)


class DriveNode(Node):
    """Camera frames in, velocity commands out; a zero command on stale frames and at exit."""

    NODE_NAME = NODE_NAME
    cmd_pub = None  # until built: rclpy may destroy a node whose __init__ failed
    _stopped = False

    def __init__(self, **kwargs):
        super().__init__(NODE_NAME, **kwargs)
        self.model = declare(
            self, "model", "pilotnet",
            "Driver: a shipped network, a NAME.keras or NAME.json path, a registry network "
            "(built untrained) or 'expert' (the explicit driver)")
        self.image_topic = declare(
            self, "image_topic", CAMERA_TOPIC,
            f"Camera topic (sensor_msgs/Image 640x480, {', '.join(SUPPORTED_ENCODINGS)})")
        self.cmd_vel_topic = declare(self, "cmd_vel_topic", CMD_VEL_TOPIC,
                                     "Velocity command topic")
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
        self._check_parameters()
        quiet_python_libraries()
        with native_stderr_silenced():  # TensorFlow's and LiteRT's start-up lines
            try:
                self.driver = make_driver(self.model, self.backend, self.device)
            except FollowLineError as exc:
                raise FollowLineError(f"parameter 'model' is {self.model!r}: {exc}") from None
            self._camera = Preprocessing()  # the frame every driver expects (640x480 RGB)
            self._warm_up()

        self.cmd_pub = self.create_publisher(TwistStamped if self.stamped else Twist,
                                             self.cmd_vel_topic, CMD_VEL_DEPTH)
        self.last_command: tuple[float, float] = (0.0, 0.0)
        self.frames = {"received": 0, "driven": 0, "skipped": 0, "failed": 0}
        self._last_frame = time.monotonic()  # start-up counts as a frame
        self._stale = False
        self._last_stamp = None  # (sec, nanosec) of the last frame driven
        self._last_driven_t: float | None = None
        self._latencies_ms: list[float] = []
        self._reported_at: float | None = None  # steady-clock time of the last stats line
        self.image_sub = self.create_subscription(Image, self.image_topic, self._on_image,
                                                  CAMERA_QOS)
        self.watchdog = self.create_timer(self.watchdog_timeout / WATCHDOG_CHECKS,
                                          self._on_watchdog,
                                          clock=Clock(clock_type=ClockType.STEADY_TIME))
        backend = getattr(self.driver, "backend", None)
        self.get_logger().info(
            f"driving with {self.driver.name}{f' ({backend})' if backend else ''}: "
            f"{self.image_topic} -> {self.cmd_vel_topic} "
            f"({'TwistStamped' if self.stamped else 'Twist'}), max_v {self.max_v:g} m/s, "
            f"max_w {self.max_w:g} rad/s, watchdog {self.watchdog_timeout:g} s")

    def _check_parameters(self) -> None:
        check_topics(image_topic=self.image_topic, cmd_vel_topic=self.cmd_vel_topic)
        check_choice("device", self.device, DEVICES)
        check_choice("backend", self.backend, BACKENDS)
        check_range("max_v", self.max_v, 0.0, V_LIMITS[1], low_open=True)
        check_range("max_w", self.max_w, 0.0, W_LIMITS[1], low_open=True)
        check_range("watchdog_timeout", self.watchdog_timeout, 0.0, low_open=True)
        check_range("control_rate_limit", self.control_rate_limit, 0.0)
        try:
            check_driver_name(self.model)
        except FollowLineError as exc:
            raise FollowLineError(f"parameter 'model' is {self.model!r}: {exc}") from None

    def _warm_up(self) -> None:
        """Drive one blank frame (a network's first call is slow), then forget it."""
        import numpy as np

        try:
            self.driver(np.zeros((*self._camera.camera_size, 3), np.uint8), 0.0)
        except Exception as exc:  # noqa: BLE001 (the first real frame reports it properly)
            self.get_logger().warning(f"warm-up frame failed: {exc}")
        self.driver.reset()

    def clamp(self, v: float, w: float) -> tuple[float, float]:
        """(v, w) within [0, max_v] x [-max_w, max_w]; a non-finite command becomes a stop."""
        v, w = float(v), float(w)
        if not (math.isfinite(v) and math.isfinite(w)):
            return 0.0, 0.0
        return min(max(v, 0.0), self.max_v), min(max(w, -self.max_w), self.max_w)

    def publish_command(self, v: float, w: float, stamp=None) -> None:
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
        self.cmd_pub.publish(msg)
        self.last_command = (float(v), float(w))

    def _on_image(self, msg: Image) -> None:
        if self._stopped:
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
            v, w = self.driver(image, t)
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
        if self._stale or self._stopped or self.last_command == (0.0, 0.0):
            return
        age = time.monotonic() - self._last_frame
        if age >= self.watchdog_timeout:
            self._stale = True
            self.publish_command(0.0, 0.0)
            self.get_logger().warning(
                f"no camera frame on {self.image_topic} for {age:.2f} s (watchdog_timeout "
                f"{self.watchdog_timeout:g} s): stopping the car",
                throttle_duration_sec=ERROR_PERIOD_S)

    def stop(self) -> None:
        """Publish a zero twist, wait for its delivery, drive no more frames (destroy_node)."""
        if self._stopped or self.cmd_pub is None:
            return
        self._stopped = True
        try:
            self.publish_command(0.0, 0.0)
            self.cmd_pub.wait_for_all_acked(Duration(seconds=STOP_ACK_S))
        except Exception as exc:  # noqa: BLE001 (e.g. the context is already shut down)
            self.get_logger().error(f"could not publish the stop command: {exc}")
            return
        self.get_logger().info(f"car stopped; {self.frame_counts()}")

    def destroy_node(self):
        """Stop the car, then destroy the node."""
        self.stop()
        return super().destroy_node()


def main(args: list[str] | None = None) -> int:
    """`ros2 run follow_line drive_node`: drive until a signal, then stop the car."""
    return run_node(DriveNode, args)


if __name__ == "__main__":
    exit_process(main())
