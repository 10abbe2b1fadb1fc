"""rclpy.time_source: TimeSource, the use_sim_time parameter and the /clock subscription."""

from __future__ import annotations

from rclpy.clock import ClockType, ROSClock
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.time import Time
from rosgraph_msgs.msg import Clock as ClockMsg

CLOCK_TOPIC = "/clock"
USE_SIM_TIME_NAME = "use_sim_time"


class TimeSource:
    """Drives ROS clocks from /clock when the node's use_sim_time parameter is true.

    Read at start-up only: the stand-in does not follow later changes of use_sim_time.
    """

    def __init__(self, *, node=None):
        self._clock_sub = None
        self._node = None
        self._associated_clocks = []
        self._last_time_set = Time(clock_type=ClockType.ROS_TIME)
        self._ros_time_is_active = False
        if node is not None:
            self.attach_node(node)

    @property
    def ros_time_is_active(self) -> bool:
        return self._ros_time_is_active

    @ros_time_is_active.setter
    def ros_time_is_active(self, enabled) -> None:
        self._ros_time_is_active = bool(enabled)
        for clock in self._associated_clocks:
            clock._set_ros_time_is_active(enabled)
        if enabled and self._clock_sub is None and self._node is not None:
            self._clock_sub = self._node.create_subscription(
                ClockMsg, CLOCK_TOPIC, self.clock_callback,
                QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))

    def attach_node(self, node) -> None:
        self._node = node
        if not node.has_parameter(USE_SIM_TIME_NAME):
            node.declare_parameter(USE_SIM_TIME_NAME, False)
        self.ros_time_is_active = node.get_parameter(USE_SIM_TIME_NAME).value

    def attach_clock(self, clock) -> None:
        if not isinstance(clock, ROSClock):
            raise ValueError("Only clocks with type ROS_TIME can be attached.")
        clock.set_ros_time_override(self._last_time_set)
        clock._set_ros_time_is_active(self.ros_time_is_active)
        self._associated_clocks.append(clock)

    def clock_callback(self, msg) -> None:
        self._last_time_set = Time.from_msg(msg.clock)
        for clock in self._associated_clocks:
            clock.set_ros_time_override(self._last_time_set)
