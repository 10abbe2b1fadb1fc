"""The car's ROS 2 interface: topic names, node names, frame ids, rates and message types.

The one place the nodes (`ros/`), the Gazebo assets (`gazebo/sdf.py`, the bridge
configuration), the recorded datasets (`learning/data.py`), the benchmarks and the launch
file take them from. Plain Python: it imports nothing.

The nodes use relative topic names (`Topic.name`), as ROS's convention wants: they resolve in
the node's namespace, and whoever starts a node remaps them. The launch file and
`follow-line ros` remap each to its graph name (`Topic.graph`, `remappings()`): the
reference F1 car's topics, which the Gazebo car publishes and subscribes, the bridges carry
and the datasets record. /clock is global, as use_sim_time wants. A QoS policy that a node
lets be overridden (rclpy's QoSOverridingOptions) is the parameter `qos_override(...)`
names, by the topic's resolved (remapped) name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    """A topic: the name the nodes use, the graph name it is remapped to, its message type."""

    name: str
    graph: str
    type: str


DRIVE_NODE = "follow_line_drive"  # managed: the sim and the lap monitor follow its state
LAP_MONITOR_NODE = "follow_line_lap_monitor"
SIM_NODE = "follow_line_sim"

CAMERA = Topic("camera/image_raw", "/cam_f1_left/image_raw", "sensor_msgs/msg/Image")
CMD_VEL = Topic("cmd_vel", "/cmd_vel", "geometry_msgs/msg/Twist")
CMD_VEL_STAMPED_TYPE = "geometry_msgs/msg/TwistStamped"  # cmd_vel's type with `stamped`
ODOM = Topic("odom", "/odom", "nav_msgs/msg/Odometry")
CLOCK = Topic("/clock", "/clock", "rosgraph_msgs/msg/Clock")
COMPLETION = Topic("~/completion", f"/{LAP_MONITOR_NODE}/completion", "std_msgs/msg/Float32")
LAP_TIME = Topic("~/lap_time", f"/{LAP_MONITOR_NODE}/lap_time", "std_msgs/msg/Float32")
TOPICS = (CAMERA, CMD_VEL, ODOM, CLOCK, COMPLETION, LAP_TIME)
REMAPPED = (CAMERA, CMD_VEL, ODOM)  # what the launch file and `follow-line ros` remap
#: What an episode's rosbag2 records, by the role its dataset index (dataset.yaml's
#: `topics`) names it with: a file format's keys.
RECORDED = {"image": CAMERA, "cmd_vel": CMD_VEL, "odom": ODOM}

BASE_FRAME = "base_link"
CAMERA_FRAME = "camera_link"
ODOM_FRAME = "odom"  # circuit coordinates
ODOM_RATE_HZ = 50.0  # Gazebo's odometry; the camera's rate is the camera model's (20 Hz)


def remappings(topics: tuple[Topic, ...] = REMAPPED) -> list[tuple[str, str]]:
    """(name, graph name) of each topic: launch_ros Node's `remappings`."""
    return [(topic.name, topic.graph) for topic in topics]


def remap_arguments(topics: tuple[Topic, ...] = REMAPPED) -> list[str]:
    """The same remappings as a ROS command line's arguments (after `--ros-args`)."""
    return [arg for name, graph in remappings(topics) for arg in ("-r", f"{name}:={graph}")]


def qos_override(topic: str, policy: str, entity: str = "subscription") -> str:
    """The parameter that overrides `policy` of the `entity` on `topic` (a resolved name).

    rclpy's QoSOverridingOptions declares `qos_overrides.<topic>.<entity>.<policy>` (e.g.
    `qos_overrides./odom.subscription.reliability`), read-only, at the entity's creation.
    """
    return f"qos_overrides.{topic}.{entity}.{policy}"
