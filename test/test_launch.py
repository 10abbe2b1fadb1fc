"""drive.launch.py: checked statically here; run for real with launch_testing where ROS is."""

import ast
import importlib.util
import re
from pathlib import Path

import pytest

from follow_line.circuits import builtin_circuits, held_out_circuits

ROOT = Path(__file__).resolve().parents[1]
LAUNCH = ROOT / "launch" / "drive.launch.py"


def declared_arguments():
    tree = ast.parse(LAUNCH.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "ARGUMENTS":
            return ast.literal_eval(node.value)
    raise AssertionError("ARGUMENTS not found")


def test_the_seven_arguments_with_descriptions_and_choices():
    args = {name: (default, description, choices)
            for name, default, description, choices in declared_arguments()}
    assert set(args) == {"model", "circuit", "direction", "sim", "lockstep", "headless",
                         "use_sim_time"}
    for name, (default, description, choices) in args.items():
        assert len(description) > 10, name
        if choices is not None:
            assert default in choices, name
    assert args["sim"][2] == ["gazebo", "builtin"]
    assert args["direction"][2] == ["clockwise", "anticlockwise"]
    assert args["circuit"][2] == builtin_circuits() + held_out_circuits()
    assert args["headless"][2] == args["use_sim_time"][2] == ["true", "false"]
    assert args["lockstep"][2] == ["true", "false"]
    assert args["model"][2] is None  # any shipped network or model file


def test_every_circuit_choice_has_a_world():
    circuits = dict((a[0], a[3]) for a in declared_arguments())["circuit"]
    for name in circuits:
        assert (ROOT / "worlds" / f"{name}.world").is_file()


def test_nodes_config_files_and_executables_exist():
    text = LAUNCH.read_text()
    executables = set(re.findall(r'executable="(\w+)"', text)) - {"spawn_entity"}
    setup = (ROOT / "setup.py").read_text()
    for executable in executables:
        assert f"{executable} = follow_line.ros:" in setup, executable
    configs = re.findall(r'"config", "([\w.]+)"', text)
    assert "fastdds.xml" in configs and 'SetEnvironmentVariable("FASTDDS_DEFAULT_PROFILES_FILE"' \
        in text
    for config in configs:
        assert (ROOT / "config" / config).is_file(), config
    assert 'FindPackageShare("follow_line")' in text


@pytest.mark.skipif(importlib.util.find_spec("launch") is None
                    or importlib.util.find_spec("launch_ros") is None,
                    reason="ROS 2 launch is not installed here (no registry carries it)")
def test_launch_description_builds_with_real_launch_ros():
    spec = importlib.util.spec_from_file_location("drive_launch", LAUNCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    names = {a.name for a in description.get_launch_arguments()}
    assert names == {"model", "circuit", "direction", "sim", "lockstep", "headless",
                     "use_sim_time"}


@pytest.mark.parametrize("config,node", [("drive.yaml", "drive_node"),
                                         ("lap_monitor.yaml", "lap_monitor_node"),
                                         ("sim.yaml", "sim_node")])
def test_parameter_files_set_only_declared_parameters(config, node):
    import yaml

    (section,) = yaml.safe_load((ROOT / "config" / config).read_text()).values()
    source = (ROOT / "follow_line" / "ros" / f"{node}.py").read_text()
    if "declare_circuit(self)" in source:  # circuit and direction, declared by the helper
        source += (ROOT / "follow_line" / "ros" / "__init__.py").read_text()
    defaults = dict(re.findall(r'declare\(\s*(?:self|node),\s*"(\w+)",\s*([^,]+),', source))
    assert set(section["ros__parameters"]) <= set(defaults)
    for name, value in section["ros__parameters"].items():
        try:
            default = ast.literal_eval(defaults[name])
        except ValueError:  # a named constant: its type is checked by the node itself
            continue
        assert type(value) is type(default), name  # rclpy refuses 24 for a float parameter


def test_the_dds_profile_gives_shared_memory_a_segment_larger_than_a_frame():
    import xml.etree.ElementTree as ET

    ns = {"dds": "http://www.eprosima.com"}
    root = ET.parse(ROOT / "config" / "fastdds.xml").getroot()
    [shm] = [t for t in root.iterfind(".//dds:transport_descriptor", ns)
             if t.findtext("dds:type", namespaces=ns) == "SHM"]
    frame_bytes = 921_648  # a serialized 640x480 rgb8 sensor_msgs/Image
    assert int(shm.findtext("dds:segment_size", namespaces=ns)) >= 8 * frame_bytes
    participant = root.find(".//dds:participant", ns)
    assert participant.get("is_default_profile") == "true"
    used = {t.text for t in participant.iterfind(".//dds:userTransports/dds:transport_id", ns)}
    assert shm.findtext("dds:transport_id", namespaces=ns) in used
