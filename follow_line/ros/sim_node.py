"""Built-in simulator node: a loopback simulator (like nav2's) with camera, odometry and /clock.

Each tick of a wall-clock timer (rate x real_time_factor per second) holds the last cmd_vel
for one camera period of simulated time, then publishes /clock, the camera image and the
odometry, all stamped with the new simulated time. The timer runs on the steady clock, so the
node also works when it is started with use_sim_time (its own /clock then drives its ROS clock).
"""

from __future__ import annotations

import array
import math

from builtin_interfaces.msg import Time
from geometry_msgs.msg import Twist, TwistStamped
from nav_msgs.msg import Odometry
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import Image

from follow_line.gazebo import (
    BASE_FRAME,
    CAMERA_FRAME,
    CAMERA_TOPIC,
    CMD_VEL_TOPIC,
    ODOM_FRAME,
    ODOM_TOPIC,
)
from follow_line.ros import (
    check_range,
    check_topics,
    declare,
    declare_circuit,
    quaternion_from_yaw,
    run_node,
    seconds_to_stamp,
)
from follow_line.sim import CameraModel, Simulator

NODE_NAME = "follow_line_sim"
CLOCK_TOPIC = "/clock"
# Like gazebo_ros's camera: sensor-data depth, but reliable, so that reliable and best-effort
# subscribers both connect.
IMAGE_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=5,
                       reliability=ReliabilityPolicy.RELIABLE,
                       durability=DurabilityPolicy.VOLATILE)
DEPTH = 10
WARN_PERIOD_S = 5.0


class SimNode(Node):
    """The built-in simulator in simulated time, stepped by a wall-clock timer."""

    NODE_NAME = NODE_NAME

    def __init__(self, **kwargs):
        super().__init__(NODE_NAME, **kwargs)
        circuit, self.direction = declare_circuit(self)
        self.image_topic = declare(self, "image_topic", CAMERA_TOPIC,
                                   "Camera topic (sensor_msgs/Image, rgb8, 640x480)")
        self.cmd_vel_topic = declare(self, "cmd_vel_topic", CMD_VEL_TOPIC,
                                     "Velocity command topic the car obeys")
        self.odom_topic = declare(self, "odom_topic", ODOM_TOPIC,
                                  "Odometry topic (nav_msgs/Odometry, circuit coordinates)")
        self.stamped = declare(self, "stamped", False,
                               "cmd_vel carries geometry_msgs/TwistStamped instead of Twist")
        self.rate = declare(self, "rate", CameraModel.rate_hz,
                            "Camera rate (Hz): one simulation step and one frame per tick",
                            "> 0")
        self.real_time_factor = declare(self, "real_time_factor", 1.0,
                                        "Simulated seconds per wall-clock second", "> 0")
        check_range("rate", self.rate, 0.0, low_open=True)
        check_range("real_time_factor", self.real_time_factor, 0.0, low_open=True)
        check_topics(image_topic=self.image_topic, cmd_vel_topic=self.cmd_vel_topic,
                     odom_topic=self.odom_topic)
        self.sim = Simulator(circuit, self.direction, camera=CameraModel(rate_hz=self.rate))
        self.dt = 1.0 / self.rate
        self.command: tuple[float, float] = (0.0, 0.0)

        self.clock_pub = self.create_publisher(ClockMsg, CLOCK_TOPIC, DEPTH)
        self.image_pub = self.create_publisher(Image, self.image_topic, IMAGE_QOS)
        self.odom_pub = self.create_publisher(Odometry, self.odom_topic, DEPTH)
        self.cmd_sub = self.create_subscription(
            TwistStamped if self.stamped else Twist, self.cmd_vel_topic, self._on_cmd_vel,
            DEPTH)
        self.steady_clock = Clock(clock_type=ClockType.STEADY_TIME)
        self.timer = self.create_timer(self.dt / self.real_time_factor, self._on_tick,
                                       clock=self.steady_clock)
        self.get_logger().info(
            f"simulating {circuit.name} {self.direction} at {self.rate:g} Hz x "
            f"{self.real_time_factor:g} real time: {self.cmd_vel_topic} -> {self.image_topic},"
            f" {self.odom_topic}, {CLOCK_TOPIC}")

    def _on_cmd_vel(self, msg) -> None:
        twist = msg.twist if self.stamped else msg
        v, w = twist.linear.x, twist.angular.z
        if not (math.isfinite(v) and math.isfinite(w)):
            self.get_logger().error(f"non-finite command v={v} w={w} ignored",
                                    throttle_duration_sec=WARN_PERIOD_S)
            return
        self.command = (v, w)

    def _on_tick(self) -> None:
        self.sim.step(*self.command, self.dt)
        sec, nanosec = seconds_to_stamp(self.sim.time)
        self.clock_pub.publish(ClockMsg(clock=Time(sec=sec, nanosec=nanosec)))
        self.image_pub.publish(self.image_message(Time(sec=sec, nanosec=nanosec)))
        self.odom_pub.publish(self.odometry_message(Time(sec=sec, nanosec=nanosec)))

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
    """`ros2 run follow_line sim_node`: simulate until Ctrl-C."""
    return run_node(SimNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
