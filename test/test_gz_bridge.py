"""sim:=gz's bridges: config/gz_bridge.yaml and the image bridge carry what the nodes use.

The ROS side of the bridges must be what the built-in simulator node offers (the same topics,
message types and directions: the drive and lap-monitor nodes cannot tell them apart), and the
Gazebo side what the gz world and car publish and subscribe. The nodes' topics and message
types are read from their source (rclpy is not needed), their relative names remapped as the
launch file and `follow-line ros` remap them.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from follow_line import interface
from follow_line.gazebo import sdf as gazebo

ROOT = Path(__file__).resolve().parents[1]
BRIDGE = yaml.safe_load((ROOT / "config" / "gz_bridge.yaml").read_text())
# ros_gz_bridge's README, "The following message types can be bridged for topics" (the rows
# of the types used here)
ROS_GZ_TYPES = {"rosgraph_msgs/msg/Clock": "gz.msgs.Clock",
                "geometry_msgs/msg/Twist": "gz.msgs.Twist",
                "nav_msgs/msg/Odometry": "gz.msgs.Odometry",
                "sensor_msgs/msg/Image": "gz.msgs.Image"}
KIND = {"GZ_TO_ROS": "publishes", "ROS_TO_GZ": "subscribes"}  # seen from ROS


def node_interface(module: str) -> set[tuple[str, str, str]]:
    """(topic, ROS type, publishes|subscribes) of each publisher and subscription of a node.

    Read from follow_line/ros/<module>.py: each create_publisher/create_subscription, the topic
    (an `interface` Topic's name) remapped by `interface.remappings()` (in the root namespace),
    the type to its import. A type chosen by `stamped` takes the
    unstamped one, the default of every node and what the launch file sets for Gazebo.
    Private topics (~/...) and the lifecycle topics of the managed drive node (the lockstep
    sim's transition events: the built-in simulator's own, never bridged) are left out.
    """
    tree = ast.parse((ROOT / "follow_line" / "ros" / f"{module}.py").read_text())
    types, constants, parameters = {}, {}, {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith(".msg"):
            for alias in node.names:
                types[alias.asname or alias.name] = \
                    f"{node.module.replace('.', '/')}/{alias.name}"
        elif isinstance(node, ast.ImportFrom) and node.module == "follow_line.interface":
            constants.update({a.asname or a.name: getattr(interface, a.name) for a in node.names})
    remapped = dict(interface.remappings())

    def value(expression: ast.expr) -> str:
        if isinstance(expression, ast.Constant):
            return expression.value
        if isinstance(expression, ast.Attribute) and expression.value.id == "self":
            return value(parameters[expression.attr])  # a parameter: its declared default
        if isinstance(expression, ast.Attribute):  # TOPIC.name, TOPIC from the interface
            return getattr(constants[expression.value.id], expression.attr)
        if isinstance(expression, ast.Name):
            return constants[expression.id]
        if isinstance(expression, ast.JoinedStr):  # an f-string of the above
            return "".join(str(value(part.value if isinstance(part, ast.FormattedValue)
                                     else part)) for part in expression.values)
        raise AssertionError(ast.dump(expression))

    for node in ast.walk(tree):  # self.x = declare(self, "x", DEFAULT, ...)
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                and getattr(node.value.func, "id", None) == "declare"
                and isinstance(node.targets[0], ast.Attribute)):
            parameters[node.targets[0].attr] = node.value.args[2]
    used = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("create_publisher", "create_subscription")):
            continue
        message, name = node.args[0], value(node.args[1])
        topic = remapped.get(name, name if name.startswith(("/", "~")) else f"/{name}")
        if isinstance(message, ast.IfExp):  # TwistStamped if self.stamped else Twist
            message = message.orelse
        lifecycle = types[message.id].startswith("lifecycle_msgs/")  # the managed drive node's
        if not topic.startswith("~") and not lifecycle:
            kind = "publishes" if node.func.attr == "create_publisher" else "subscribes"
            used.add((topic, types[message.id], kind))
    return used


def bridged() -> set[tuple[str, str, str]]:
    """(ROS topic, ROS type, publishes|subscribes) of the parameter bridge and image bridge."""
    out = {(e["ros_topic_name"], e["ros_type_name"], KIND[e["direction"]]) for e in BRIDGE}
    out |= {(topic, "sensor_msgs/msg/Image", "publishes") for topic in gazebo.GZ_IMAGE_TOPICS}
    return out


def test_the_node_interfaces_read_from_source():
    assert node_interface("sim_node") == {
        ("/clock", "rosgraph_msgs/msg/Clock", "publishes"),
        ("/cam_f1_left/image_raw", "sensor_msgs/msg/Image", "publishes"),
        ("/odom", "nav_msgs/msg/Odometry", "publishes"),
        ("/cmd_vel", "geometry_msgs/msg/Twist", "subscribes")}
    assert node_interface("drive_node") == {
        ("/cam_f1_left/image_raw", "sensor_msgs/msg/Image", "subscribes"),
        ("/cmd_vel", "geometry_msgs/msg/Twist", "publishes")}
    assert node_interface("lap_monitor_node") == {
        ("/odom", "nav_msgs/msg/Odometry", "subscribes"),
        ("/cmd_vel", "geometry_msgs/msg/Twist", "subscribes")}


def test_the_bridge_yaml_uses_ros_gz_bridge_keys_and_known_type_pairs():
    assert BRIDGE == gazebo.bridge_config()
    for entry in BRIDGE:
        assert list(entry) == ["ros_topic_name", "gz_topic_name", "ros_type_name",
                               "gz_type_name", "direction"]
        assert ROS_GZ_TYPES[entry["ros_type_name"]] == entry["gz_type_name"]
        assert entry["direction"] in KIND
        assert entry["gz_topic_name"] == entry["ros_topic_name"]
    assert {e["ros_topic_name"]: e["direction"] for e in BRIDGE} == {
        "/cmd_vel": "ROS_TO_GZ", "/odom": "GZ_TO_ROS", "/clock": "GZ_TO_ROS"}


def test_the_bridges_stand_in_for_the_builtin_simulator_node():
    assert bridged() == node_interface("sim_node")


def test_every_topic_the_drive_and_lap_monitor_nodes_use_is_served():
    publishers = {(t, m) for t, m, k in bridged() | node_interface("drive_node")
                  if k == "publishes"}
    for module in ("drive_node", "lap_monitor_node"):
        for topic, message, kind in node_interface(module):
            if kind == "subscribes":
                assert (topic, message) in publishers, (module, topic)
    # and the car's drive takes what the drive node publishes
    commands = {(t, m) for t, m, k in bridged() if k == "subscribes"}
    assert commands == {(t, m) for t, m, k in node_interface("drive_node") if k == "publishes"}


def test_the_gazebo_side_is_what_the_gz_world_and_car_use():
    car = ET.parse(ROOT / "models" / "f1_car_gz" / "model.sdf").getroot().find("model")
    gz_topics = {
        "gz.msgs.Twist": car.findtext("plugin[@name='gz::sim::systems::VelocityControl']/topic"),
        "gz.msgs.Odometry": car.findtext(
            "plugin[@name='gz::sim::systems::OdometryPublisher']/odom_topic"),
        "gz.msgs.Clock": "/clock",  # gz-sim's clock (also /world/<name>/clock)
    }
    assert {e["gz_type_name"]: e["gz_topic_name"] for e in BRIDGE} == gz_topics
    # image_bridge subscribes the Gazebo topic and publishes the ROS topic of the same name
    assert list(gazebo.GZ_IMAGE_TOPICS) == [car.findtext("link/sensor[@type='camera']/topic")]


def test_the_nodes_are_remapped_to_the_bridged_topics(tmp_path):
    from follow_line.ros.bringup import GraphSpec, node_commands

    graph_names = {graph for _, graph in interface.remappings()}
    assert graph_names <= {t for t, _, _ in bridged()}
    for command in node_commands(GraphSpec(), tmp_path / "record.json").values():
        rules = [rule for flag, rule in zip(command, command[1:], strict=False) if flag == "-r"]
        assert rules == [f"{name}:={graph}" for name, graph in interface.remappings()]


@pytest.mark.parametrize("ros_type", sorted({e["ros_type_name"] for e in BRIDGE}
                                            | {"sensor_msgs/msg/Image"}))
def test_the_ros_types_exist(ros_type):
    package, _, name = ros_type.split("/")
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} is not installed (requirements-ros.txt)")
    assert hasattr(importlib.import_module(f"{package}.msg"), name)
