"""Built-in simulator node: a loopback simulator (like nav2's) with camera, odometry and /clock.

Free-running, each tick of a steady-clock timer (rate x real_time_factor per second) holds the
last cmd_vel for one camera period of simulated time, then publishes /clock, the camera image
and the odometry, all stamped with the new simulated time; a driver that cannot keep up sees
fewer frames and its commands apply late, as on a robot (the node warns when they lag).

In lockstep (`lockstep:=true`, with TwistStamped commands) the simulation steps only when the
command stamped with the current frame's stamp arrives, which makes a run through the ROS graph
give the same record as `follow-line drive`, as fast as the nodes allow. It steps only while
the managed drive node (`driver_node`) is active, as its lifecycle state (`get_state`, then
its `transition_event`s) says, and once the camera, odometry and cmd_vel topics are connected;
it repeats a frame whose command has not come within RESEND_S of the steady clock (a frame or
a command can be lost: a best-effort one while the graph connects, or a frame larger than
the transport's shared memory). The first
frame's odometry goes out again just before the first step: a reliable, volatile subscriber
that matched the publisher only after the first sample (Fast DDS drops a sample that arrives
before the reader has discovered its writer) still gets the start pose.
"""

from __future__ import annotations

import array
import dataclasses
import math
import time
from typing import Any

from builtin_interfaces.msg import Time
from geometry_msgs.msg import Twist, TwistStamped
from lifecycle_msgs.msg import TransitionEvent
from lifecycle_msgs.srv import GetState
from nav_msgs.msg import Odometry
from rclpy.client import Client
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.task import Future
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import Image

from follow_line.interface import (
    BASE_FRAME,
    CAMERA,
    CAMERA_FRAME,
    CLOCK,
    CMD_VEL,
    DRIVE_NODE,
    ODOM,
    ODOM_FRAME,
    SIM_NODE,
    qos_override,
)
from follow_line.ros.conversions import quaternion_from_yaw, seconds_to_stamp, stamp_to_seconds
from follow_line.ros.parameters import (
    check_range,
    declare,
    declare_circuit,
    declare_world,
    parameter_error,
)
from follow_line.ros.runner import exit_process, run_node
from follow_line.world.simulator import CameraModel, Simulator

# Like gazebo_ros's camera: sensor-data depth, but reliable, so that reliable and best-effort
# subscribers both connect.
IMAGE_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=5,
                       reliability=ReliabilityPolicy.RELIABLE,
                       durability=DurabilityPolicy.VOLATILE)
DEPTH = 10
WARN_PERIOD_S = 5.0
RESEND_S = 0.2  # lockstep: repeat a frame whose command has not come in this long
SETTLE_S = 0.5  # lockstep: wait this long after the graph is connected before the first frame
LOCKSTEP_TICK_S = 0.02  # lockstep: how often the steady-clock timer looks
LAG_FRAMES = 3  # free-running: warn when commands are this many frames behind the camera


class SimNode(Node):
    """The built-in simulator in simulated time, stepped by a wall-clock timer."""

    NODE_NAME = SIM_NODE

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(SIM_NODE, **kwargs)
        world = declare_world(self)
        circuit, self.direction = declare_circuit(self, world)
        self.stamped = declare(self, "stamped", False,
                               "cmd_vel carries geometry_msgs/TwistStamped instead of Twist")
        self.rate = declare(self, "rate", CameraModel.rate_hz,
                            "Camera rate (Hz): one simulation step and one frame per tick",
                            "> 0")
        self.real_time_factor = declare(self, "real_time_factor", 1.0,
                                        "Simulated seconds per wall-clock second", "> 0")
        self.lockstep = declare(self, "lockstep", False,
                                "Step only when the command for the current frame (matched by "
                                "stamp; needs stamped) arrived, instead of in real time")
        self.driver_node = declare(self, "driver_node", DRIVE_NODE,
                                   "Lockstep: the managed drive node whose lifecycle state "
                                   "gates stepping (only while it is active); empty: step "
                                   "once the topics are connected")
        check_range("rate", self.rate, 0.0, low_open=True)
        check_range("real_time_factor", self.real_time_factor, 0.0, low_open=True)
        if self.lockstep and not self.stamped:
            raise parameter_error("stamped", self.stamped, "true when lockstep is true "
                                  "(commands are matched to frames by stamp)")
        self.sim = Simulator(circuit, self.direction,
                             camera=dataclasses.replace(world.camera, rate_hz=self.rate))
        self.dt = 1.0 / self.rate
        self.command: tuple[float, float] = (0.0, 0.0)
        self.command_t: float | None = None  # stamp of the last command (TwistStamped)
        self.frames_published = 0
        self._since_command = 0  # frames published since the last command
        self._connected_at: float | None = None  # lockstep: when the graph was connected
        self._frame_sent_at: float | None = None  # lockstep: when the current frame went out

        self.clock_pub = self.create_publisher(ClockMsg, CLOCK.name, DEPTH)
        self.image_pub = self.create_publisher(Image, CAMERA.name, IMAGE_QOS)
        self.odom_pub = self.create_publisher(Odometry, ODOM.name, DEPTH)
        self.cmd_sub = self.create_subscription(
            TwistStamped if self.stamped else Twist, CMD_VEL.name, self._on_cmd_vel, DEPTH)
        self.steady_clock = Clock(clock_type=ClockType.STEADY_TIME)
        self.driver_state = "unknown"  # lockstep: the drive node's lifecycle state
        self._state_request: Future | None = None  # a get_state call in flight
        if self.lockstep and self.driver_node:
            self.state_client: Client = self.create_client(GetState,
                                                           f"{self.driver_node}/get_state")
            self.create_subscription(TransitionEvent, f"{self.driver_node}/transition_event",
                                     self._on_driver_transition, DEPTH)
        if self.lockstep:
            self.timer = self.create_timer(LOCKSTEP_TICK_S, self._on_lockstep_timer,
                                           clock=self.steady_clock)
            pace = "in lockstep with the driver"
        else:
            self.timer = self.create_timer(self.dt / self.real_time_factor, self._on_tick,
                                           clock=self.steady_clock)
            pace = f"x {self.real_time_factor:g} real time"
        self.get_logger().info(
            f"simulating {circuit.name} {self.direction} at {self.rate:g} Hz {pace}: "
            f"{self.cmd_sub.topic_name} -> {self.image_pub.topic_name}, "
            f"{self.odom_pub.topic_name}, {self.clock_pub.topic_name}")

    def _on_cmd_vel(self, msg: Any) -> None:
        twist = msg.twist if self.stamped else msg
        v, w = twist.linear.x, twist.angular.z
        if not (math.isfinite(v) and math.isfinite(w)):
            self.get_logger().error(f"non-finite command v={v} w={w} ignored",
                                    throttle_duration_sec=WARN_PERIOD_S)
            return
        if self.lockstep:
            if self._frame_sent_at is not None and msg.header.stamp == self._stamp():
                self.command = (v, w)
                self._step()
            return
        self.command = (v, w)
        self._since_command = 0
        if self.stamped:
            self.command_t = stamp_to_seconds(msg.header.stamp)

    def _stamp(self) -> Time:
        sec, nanosec = seconds_to_stamp(self.sim.time)
        return Time(sec=sec, nanosec=nanosec)

    def _publish_frame(self, odometry: bool = True) -> None:
        """/clock, the camera image and (unless repeating a frame) the odometry, now."""
        stamp = self._stamp()
        image = self.image_message(stamp)  # rendered first: the three go out back to back
        self.clock_pub.publish(ClockMsg(clock=stamp))
        self.image_pub.publish(image)
        if odometry:
            self.odom_pub.publish(self.odometry_message(stamp))
            self.frames_published += 1
        self._frame_sent_at = time.monotonic()

    def _step(self) -> None:
        if self.lockstep and self.frames_published == 1:  # the start pose, again (see above)
            self.odom_pub.publish(self.odometry_message(self._stamp()))
        self.sim.step(*self.command, self.dt)
        self._publish_frame()

    def _on_tick(self) -> None:
        self._step()
        self._since_command += 1
        behind = (self._since_command if self.command_t is None
                  else round((self.sim.time - self.command_t) / self.dt))
        if behind >= LAG_FRAMES:
            self.get_logger().warning(
                f"the driver's commands are {behind} frames behind the camera at "
                f"real_time_factor {self.real_time_factor:g}: it cannot keep up; lower "
                "real_time_factor or run in lockstep", throttle_duration_sec=WARN_PERIOD_S)

    def _connected(self) -> bool:
        missing = [topic for topic, n in (
            (self.image_pub.topic_name, self.image_pub.get_subscription_count()),
            (self.odom_pub.topic_name, self.odom_pub.get_subscription_count()),
            (self.cmd_sub.topic_name, self.cmd_sub.get_publisher_count())) if n == 0]
        if missing:
            self.get_logger().info(f"lockstep: waiting for the driver and the lap monitor "
                                   f"(nothing connected on {', '.join(missing)})",
                                   throttle_duration_sec=WARN_PERIOD_S)
        return not missing

    def _warn_best_effort_cameras(self) -> None:
        """Lockstep: say which camera subscribers are best effort, and what it costs."""
        topic = self.image_pub.topic_name
        for info in self.get_subscriptions_info_by_topic(topic):
            if info.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT:
                self.get_logger().warning(
                    f"lockstep: {info.node_name} subscribes to {topic} best effort: a frame it "
                    f"loses waits {RESEND_S:g} s for the re-send (without the shipped Fast DDS "
                    "profile most 640x480 frames are lost); set its "
                    f"{qos_override(topic, 'reliability')}:=reliable")

    def _on_driver_transition(self, msg: TransitionEvent) -> None:
        self._state_request = None  # an answer still to come would be older than this event
        self._driver_state_is(msg.goal_state.label)

    def _driver_state_is(self, label: str) -> None:
        if label != self.driver_state:
            self.get_logger().info(f"lockstep: {self.driver_node} is {label}"
                                   f"{'' if label == 'active' else ': not stepping'}")
        self.driver_state = label

    def _driver_active(self) -> bool:
        """Whether the drive node is active; asks its get_state until something is known."""
        if not self.driver_node or self.driver_state == "active":
            return True
        if self._state_request is not None and self._state_request.done():
            response = self._state_request.result()
            self._state_request = None
            if response is not None:
                self._driver_state_is(response.current_state.label)
        elif self._state_request is None and self.driver_state == "unknown":
            if self.state_client.service_is_ready():
                self._state_request = self.state_client.call_async(GetState.Request())
            else:
                self.get_logger().info(f"lockstep: waiting for the driver {self.driver_node}",
                                       throttle_duration_sec=WARN_PERIOD_S)
        return self.driver_state == "active"

    def _on_lockstep_timer(self) -> None:
        now = time.monotonic()
        if not self._driver_active():
            self._connected_at = None
            return
        if self._frame_sent_at is None:
            if not self._connected():
                self._connected_at = None
            elif self._connected_at is None:
                self._connected_at = now
            elif now - self._connected_at >= SETTLE_S:
                self.get_logger().info("lockstep: graph connected, first frame")
                self._warn_best_effort_cameras()
                self._publish_frame()
        elif now - self._frame_sent_at >= RESEND_S:
            self.get_logger().warning(f"lockstep: no command for the frame at "
                                      f"{self.sim.time:.3f} s yet: sending it again",
                                      throttle_duration_sec=WARN_PERIOD_S)
            self._publish_frame(odometry=False)

    def destroy_node(self) -> None:
        """Say how many frames went out, then destroy the node."""
        if hasattr(self, "sim"):
            self.get_logger().info(f"{self.frames_published} frame(s) published, simulated "
                                   f"time {self.sim.time:.2f} s")
        return super().destroy_node()

    def image_message(self, stamp: Time) -> Image:
        """The camera frame at the current pose, stamped `stamp`."""
        frame = self.sim.frame()
        msg = Image()
        msg.header.stamp = stamp
        msg.header.frame_id = CAMERA_FRAME
        msg.height, msg.width = int(frame.shape[0]), int(frame.shape[1])
        msg.encoding = "rgb8"
        msg.is_bigendian = 0
        msg.step = msg.width * 3
        msg.data = array.array("B", frame.tobytes())
        return msg

    def odometry_message(self, stamp: Time) -> Odometry:
        """The car's pose (odom frame = circuit coordinates) and body-frame twist."""
        pose, (v, w) = self.sim.pose, self.sim.command
        msg = Odometry()
        msg.header.stamp = stamp
        msg.header.frame_id = ODOM_FRAME
        msg.child_frame_id = BASE_FRAME
        msg.pose.pose.position.x = float(pose.x)
        msg.pose.pose.position.y = float(pose.y)
        q = msg.pose.pose.orientation
        q.x, q.y, q.z, q.w = quaternion_from_yaw(float(pose.theta))
        msg.twist.twist.linear.x = float(v)
        msg.twist.twist.angular.z = float(w)
        return msg


def main(args: list[str] | None = None) -> int:
    """`ros2 run follow_line sim_node`: simulate until a signal."""
    return run_node(SimNode, args)


if __name__ == "__main__":
    exit_process(main())
