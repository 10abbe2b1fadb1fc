"""follow_line.interface: the one place topic names are written, and what it derives."""

from __future__ import annotations

import ast
from pathlib import Path

from follow_line import interface

ROOT = Path(__file__).resolve().parents[1]


def topic_names() -> set[str]:
    """Every name a topic of the interface goes by: the nodes' and the graph's."""
    return {name for topic in interface.TOPICS for name in (topic.name, topic.graph)}


def test_no_topic_name_is_written_outside_the_interface_module():
    names = topic_names()
    sources = sorted((ROOT / "follow_line").rglob("*.py")) + sorted((ROOT / "launch").glob("*.py"))
    found = []
    for path in sources:
        if path == ROOT / "follow_line" / "interface.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in names:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert found == []
    assert len(sources) > 50 and {"/cmd_vel", "cmd_vel", "/clock", "odom"} <= names


def test_the_nodes_names_are_relative_and_remapped_to_the_graphs_absolute_names():
    for topic in interface.TOPICS:
        assert topic.graph.startswith("/") and topic.type.count("/") == 2, topic
        if topic is interface.CLOCK:  # global, as use_sim_time wants
            assert topic.name == topic.graph == "/clock"
        else:
            assert not topic.name.startswith("/"), topic
    assert interface.remappings() == [("camera/image_raw", "/cam_f1_left/image_raw"),
                                      ("cmd_vel", "/cmd_vel"), ("odom", "/odom")]
    assert interface.remap_arguments() == [
        "-r", "camera/image_raw:=/cam_f1_left/image_raw", "-r", "cmd_vel:=/cmd_vel",
        "-r", "odom:=/odom"]
    assert interface.COMPLETION.graph == f"/{interface.LAP_MONITOR_NODE}/completion"


def test_qos_override_names_the_parameter_rclpy_declares():
    # rclpy/qos_overriding_options.py: f'qos_overrides.{topic_name}.{entity_type_str}.{policy}'
    assert interface.qos_override("/odom", "reliability") == \
        "qos_overrides./odom.subscription.reliability"
    assert interface.qos_override("/cmd_vel", "depth", "publisher") == \
        "qos_overrides./cmd_vel.publisher.depth"


def test_the_recorded_roles_are_the_dataset_index_keys():
    from follow_line.learning.data import TOPICS

    assert TOPICS == {"image": "/cam_f1_left/image_raw", "cmd_vel": "/cmd_vel",
                      "odom": "/odom"}
