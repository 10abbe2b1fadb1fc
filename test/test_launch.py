"""drive.launch.py: checked statically here; run for real with launch_testing where ROS is."""

import ast
import importlib.util
import math
import os
import re
import sys
import types
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from catkin_pkg.package import parse_package

from follow_line import interface
from follow_line.gazebo import sdf as gazebo
from follow_line.world.circuits import load_circuit
from follow_line.world.worlds import get_world, world_names

ROOT = Path(__file__).resolve().parents[1]
LAUNCH = ROOT / "launch" / "drive.launch.py"
LAUNCH_MODULES = ("launch", "launch.actions", "launch.conditions", "launch.event_handlers",
                  "launch.launch_description_sources", "launch.substitutions", "launch_ros",
                  "launch_ros.actions", "launch_ros.parameter_descriptions",
                  "launch_ros.substitutions")
ARGUMENT_NAMES = {"model", "world", "circuit", "direction", "sim", "lockstep", "headless",
                  "use_sim_time", "laps", "timeout", "record", "end", "verbose"}


def declared_arguments():
    tree = ast.parse(LAUNCH.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "ARGUMENTS":
            return ast.literal_eval(node.value)
    raise AssertionError("ARGUMENTS not found")


def test_the_arguments_with_descriptions_and_choices():
    args = {name: (default, description, choices)
            for name, default, description, choices in declared_arguments()}
    assert set(args) == ARGUMENT_NAMES
    assert args["end"][0] == "shutdown" and args["end"][2] == ["shutdown", "keep"]
    assert args["record"][0] == "auto" and args["verbose"][2] == ["true", "false"]
    assert (args["laps"][0], args["timeout"][0]) == ("1", "0")
    for name, (default, description, choices) in args.items():
        assert len(description) > 10, name
        if choices is not None and name != "world":
            assert default in choices, name
    # world: the launch takes its default from DEFAULT_WORLD (one constant), its choices here
    assert args["world"][0] is None and args["world"][2] == world_names()
    assert args["sim"][2] == ["gz", "gazebo", "builtin"]
    assert args["sim"][0] == "gz"  # Gazebo Sim: every current distro (classic is Humble only)
    assert args["direction"][2] == ["clockwise", "anticlockwise"]
    circuits = [c for w in map(get_world, world_names()) for c in w.circuits() + w.held_out()]
    assert args["circuit"][2] == list(dict.fromkeys(circuits))  # every world's, each once
    assert args["headless"][2] == args["use_sim_time"][2] == ["true", "false"]
    assert args["lockstep"][2] == ["true", "false"]
    assert args["model"][2] is None  # any shipped network or model file


def test_every_circuit_choice_has_a_world():
    circuits = dict((a[0], a[3]) for a in declared_arguments())["circuit"]
    for world in world_names():
        names = get_world(world).circuits() + get_world(world).held_out()
        assert set(names) <= set(circuits)
        for name in names:
            assert (ROOT / gazebo.world_file(name, "classic", world)).is_file()
            assert (ROOT / gazebo.world_file(name, "gz", world)).is_file()


def launched_nodes() -> list[tuple[str, str]]:
    """(package, executable) of every Node(...) in the launch file."""
    nodes = []
    for call in ast.walk(ast.parse(LAUNCH.read_text())):
        if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "Node":
            keywords = {k.arg: k.value for k in call.keywords}
            nodes.append((keywords["package"].value, keywords["executable"].value))
    return nodes


def test_nodes_config_files_and_executables_exist():
    text = LAUNCH.read_text()
    nodes = launched_nodes()
    setup = (ROOT / "setup.py").read_text()
    ours = {executable for package, executable in nodes if package == "follow_line"}
    assert ours == {"sim_node", "drive_node", "lap_monitor_node"}
    for executable in ours:
        assert f"{executable} = follow_line.ros.runner:" in setup, executable
    # every other package the launch file runs or includes is an exec_depend of package.xml
    depends = {d.name for d in parse_package(str(ROOT / "package.xml")).exec_depends}
    others = {package for package, _ in nodes if package != "follow_line"}
    others |= set(re.findall(r'FindPackageShare\("(\w+)"\)', text)) - {"follow_line"}
    assert others == {"gazebo_ros", "ros_gz_sim", "ros_gz_bridge", "ros_gz_image"}
    assert others <= depends
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
    assert names == ARGUMENT_NAMES


def declared_defaults(node: str) -> dict[str, str]:
    """The parameters node `node` declares, each with its default's source text."""
    source = (ROOT / "follow_line" / "ros" / f"{node}.py").read_text()
    if "declare_circuit(self" in source or "declare_world(self" in source:  # by the helpers
        source += (ROOT / "follow_line" / "ros" / "parameters.py").read_text()
    return dict(re.findall(r'declare\(\s*(?:self|node),\s*"(\w+)",\s*([^,]+),', source))


@pytest.mark.parametrize("config,node", [("drive.yaml", "drive_node"),
                                         ("lap_monitor.yaml", "lap_monitor_node"),
                                         ("sim.yaml", "sim_node")])
def test_parameter_files_set_only_declared_parameters(config, node):
    import yaml

    (section,) = yaml.safe_load((ROOT / "config" / config).read_text()).values()
    defaults = declared_defaults(node)
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


# -- The launch file run against recording stand-ins of launch and launch_ros ----------------
# launch and launch_ros are not installable here: each of their classes is replaced by one that
# keeps its constructor's arguments, so the actions the launch file builds for each `sim`
# choice can be inspected, with their substitutions evaluated for given launch arguments.


class Recorded:
    """Stand-in for a launch class: keeps its constructor's arguments."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


class LaunchConfiguration(Recorded):
    def perform(self, context) -> str:
        return context.launch_configurations[self.args[0]]


def fake_module(name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    classes = {"LaunchConfiguration": LaunchConfiguration}

    def getattr_(attr: str):
        return classes.setdefault(attr, type(attr, (Recorded,), {}))

    module.__getattr__ = getattr_
    return module


@pytest.fixture
def launch_file(monkeypatch):
    """The launch file's module, imported against the recording stand-ins.

    Every ROS package counts as installed (ros_gz and gazebo_ros are not, here).
    """
    from follow_line.ros import simulators

    monkeypatch.setattr(simulators, "has_ros_package", lambda name: True)
    for name in LAUNCH_MODULES:
        monkeypatch.setitem(sys.modules, name, fake_module(name))
    spec = importlib.util.spec_from_file_location("drive_launch_recorded", LAUNCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def context(**arguments) -> types.SimpleNamespace:
    """A launch context with the file's defaults overridden by `arguments`."""
    values = {name: default for name, default, _, _ in declared_arguments()}
    values.update(arguments)
    return types.SimpleNamespace(launch_configurations=values)


def evaluate(value, ctx) -> str:
    """The text a substitution (or a list of them) gives.

    A package's share folder is the repository for follow_line (setup.py installs worlds/,
    models/ and config/ there as they are in the repository) and <share NAME> for others.
    """
    if isinstance(value, (str, bool, int, float)):  # a plain value: as it is
        return value
    if isinstance(value, list):
        return "".join(evaluate(v, ctx) for v in value)
    kind = type(value).__name__
    if kind == "LaunchConfiguration":
        return value.perform(ctx)
    if kind == "FindPackageShare":
        return str(ROOT) if value.args[0] == "follow_line" else f"<share {value.args[0]}>"
    if kind == "PathJoinSubstitution":
        return os.path.join(*(evaluate(v, ctx) for v in value.args[0]))
    if kind == "PythonExpression":
        return str(eval(evaluate(value.args[0], ctx)))  # noqa: S307 - the launch file's own
    if kind == "EnvironmentVariable":
        return evaluate(value.kwargs["default_value"], ctx)
    if kind == "ParameterValue":  # launch_ros coerces the text: float("90"), str("2024")
        assert value.kwargs["value_type"] in (str, float)
        return value.kwargs["value_type"](evaluate(value.args[0], ctx))
    raise AssertionError(f"no evaluation for {kind}")


def launched_value(value, ctx):
    """A parameter value as launch_ros hands it to the node.

    A typed ParameterValue is coerced, any other substitution is read as YAML ("3" is an
    int, "True" a bool, "2024" an int too), a plain value stays as it is.
    """
    import yaml

    if isinstance(value, (str, bool, int, float)) or type(value).__name__ == "ParameterValue":
        return evaluate(value, ctx)
    return yaml.safe_load(evaluate(value, ctx) or "''")


def active(module, ctx) -> list:
    """The launch description's actions whose condition holds (OpaqueFunctions expanded)."""
    actions = []
    for entity in module.generate_launch_description().args[0]:
        condition = entity.kwargs.get("condition")
        if condition is not None and evaluate(condition.args[0], ctx).lower() != "true":
            continue
        if type(entity).__name__ == "OpaqueFunction":
            actions += entity.kwargs["function"](ctx)
        else:
            actions.append(entity)
    return actions


def nodes(actions) -> dict[tuple[str, str], Recorded]:
    return {(a.kwargs["package"], a.kwargs["executable"]): a for a in actions
            if type(a).__name__ == "Node"}


def flags(node, ctx) -> dict[str, str]:
    """A `-flag value ...` argument list as a dict."""
    arguments = [evaluate(a, ctx) for a in node.kwargs["arguments"]]
    assert all(a.startswith("-") for a in arguments[::2]) and len(arguments) % 2 == 0
    return dict(zip(arguments[::2], arguments[1::2], strict=True))


def node_parameters(node, ctx) -> dict[str, str]:
    """The parameters a launched node gets from its dicts (files aside), evaluated."""
    out = {}
    for entry in node.kwargs["parameters"]:
        if isinstance(entry, dict):
            out.update({k: evaluate(v, ctx) for k, v in entry.items()})
    return out


@pytest.mark.parametrize("headless", ["false", "true"])
@pytest.mark.parametrize("circuit,direction", [("monaco", "clockwise"),
                                               ("hungaroring", "anticlockwise")])
def test_sim_gz_runs_gz_sim_creates_the_car_and_bridges_the_topics(
        launch_file, circuit, direction, headless):
    ctx = context(sim="gz", circuit=circuit, direction=direction, headless=headless)
    actions = active(launch_file, ctx)
    [include] = [a for a in actions if type(a).__name__ == "IncludeLaunchDescription"]
    assert evaluate(include.args[0].args[0], ctx) == "<share ros_gz_sim>/launch/gz_sim.launch.py"
    gz_args = evaluate(dict(include.kwargs["launch_arguments"])["gz_args"], ctx).split()
    world = gz_args[-1]
    assert gz_args[:-1] == (["-r", "-s", "--headless-rendering"] if headless == "true"
                            else ["-r"])
    assert world == str(ROOT / "worlds" / "gz" / f"{circuit}.sdf")
    assert ET.parse(world).getroot().find("world").get("name") == circuit

    launched = nodes(actions)
    assert set(launched) == {("ros_gz_sim", "create"), ("ros_gz_bridge", "parameter_bridge"),
                             ("ros_gz_image", "image_bridge"),
                             ("follow_line", "drive_node"), ("follow_line", "lap_monitor_node")}
    create = flags(launched["ros_gz_sim", "create"], ctx)
    assert set(create) == {"-world", "-name", "-file", "-x", "-y", "-z", "-Y"}
    assert create["-world"] == circuit and create["-name"] == "f1_car"
    assert create["-file"] == str(ROOT / "models" / "f1_car_gz" / "model.sdf")
    model = ET.parse(create["-file"]).getroot().find("model")
    assert model.get("name") == create["-name"]
    assert model.find("plugin[@name='gz::sim::systems::VelocityControl']") is not None
    pose = [float(create[f]) for f in ("-x", "-y", "-z", "-Y")]
    assert pose == pytest.approx(gazebo.spawn_pose(load_circuit(circuit), direction), abs=1e-9)

    bridge = node_parameters(launched["ros_gz_bridge", "parameter_bridge"], ctx)
    assert bridge == {"config_file": str(ROOT / "config" / "gz_bridge.yaml")}
    image = launched["ros_gz_image", "image_bridge"]
    assert [evaluate(a, ctx) for a in image.kwargs["arguments"]] == [interface.CAMERA.graph]

    # the same drive and lap-monitor nodes as with the other simulators, on sim time, with
    # plain Twist commands (what the bridge carries) and best-effort odometry
    drive = node_parameters(launched["follow_line", "drive_node"], ctx)
    lap = node_parameters(launched["follow_line", "lap_monitor_node"], ctx)
    assert drive["use_sim_time"] == lap["use_sim_time"] == "True"
    assert drive["stamped"] == lap["stamped"] == "False"
    assert lap[interface.qos_override("/odom", "reliability")] == "best_effort"
    assert (lap["circuit"], lap["direction"]) == (circuit, direction)
    for node in ("drive_node", "lap_monitor_node"):  # remapped to the bridged topics
        assert launched["follow_line", node].kwargs["remappings"] == interface.remappings()


def test_sim_gz_start_pose_faces_along_the_chosen_direction(launch_file):
    poses = {}
    for direction in ("clockwise", "anticlockwise"):
        ctx = context(sim="gz", circuit="simple", direction=direction)
        create = flags(nodes(active(launch_file, ctx))["ros_gz_sim", "create"], ctx)
        poses[direction] = float(create["-x"]), float(create["-y"]), float(create["-Y"])
    (x1, y1, yaw1), (x2, y2, yaw2) = poses.values()
    assert math.hypot(x1 - x2, y1 - y2) < 1.0  # the same start gate
    assert math.cos(yaw1 - yaw2) < -0.99  # opposite headings


@pytest.mark.parametrize("sim,simulator", [
    ("gz", {("ros_gz_sim", "create"), ("ros_gz_bridge", "parameter_bridge"),
            ("ros_gz_image", "image_bridge")}),
    ("gazebo", {("gazebo_ros", "spawn_entity.py")}),
    ("builtin", {("follow_line", "sim_node")})])
def test_each_sim_choice_starts_only_its_simulator(launch_file, sim, simulator):
    ctx = context(sim=sim)
    actions = active(launch_file, ctx)
    assert set(nodes(actions)) == simulator | {("follow_line", "drive_node"),
                                               ("follow_line", "lap_monitor_node")}
    included = [a for a in actions if type(a).__name__ == "IncludeLaunchDescription"]
    includes = [evaluate(a.args[0].args[0], ctx) for a in included]
    assert includes == {"gz": ["<share ros_gz_sim>/launch/gz_sim.launch.py"],
                        "gazebo": ["<share gazebo_ros>/launch/gazebo.launch.py"],
                        "builtin": []}[sim]
    if sim == "gazebo":
        spawn = flags(nodes(actions)["gazebo_ros", "spawn_entity.py"], ctx)
        assert spawn["-file"] == str(ROOT / "models" / "f1_car" / "model.sdf")
        gazebo_args = dict(included[0].kwargs["launch_arguments"])
        assert evaluate(gazebo_args["world"], ctx) == str(ROOT / "worlds" / "simple.world")
    # the Fast DDS profile is set for every node, whichever the simulator
    [env] = [a for a in actions if type(a).__name__ == "SetEnvironmentVariable"]
    assert evaluate(env.args[1], ctx) == str(ROOT / "config" / "fastdds.xml")


def test_the_run_arguments_reach_the_nodes(launch_file):
    ctx = context(sim="builtin", laps="3", timeout="90", record="runs/", end="keep",
                  verbose="true")
    launched = nodes(active(launch_file, ctx))
    lap = node_parameters(launched["follow_line", "lap_monitor_node"], ctx)
    assert (lap["laps"], lap["timeout_seconds"], lap["record_path"], lap["end"]) == (
        "3", 90.0, "runs/", "keep")
    assert type(lap["timeout_seconds"]) is float
    drive_node = launched["follow_line", "drive_node"]
    drive = node_parameters(drive_node, ctx)
    assert drive["autostart"] is True and drive["verbose"] == "True"
    # the sim steps, and the lap monitor stops, the drive node the launch starts
    sim = node_parameters(launched["follow_line", "sim_node"], ctx)
    assert lap["driver_node"] == sim["driver_node"] == drive_node.kwargs["name"] == (
        "follow_line_drive")
    reliability = "qos_overrides./cam_f1_left/image_raw.subscription.reliability"
    assert drive[reliability] == "reliable"  # lockstep: no frame waits for a re-send
    odom = "qos_overrides./odom.subscription.reliability"
    assert lap[odom] == "reliable"  # the built-in sim's odometry: none lost at the start
    # the nodes' relative topics remapped to the car's, the simulator's as well
    for node in launched.values():
        assert node.kwargs["remappings"] == [("camera/image_raw", "/cam_f1_left/image_raw"),
                                             ("cmd_vel", "/cmd_vel"), ("odom", "/odom")]
    free = context(sim="builtin", lockstep="false")
    drive = node_parameters(nodes(active(launch_file, free))["follow_line", "drive_node"], free)
    assert drive[reliability] == "best_effort" and drive["verbose"] == "False"
    lap = node_parameters(nodes(active(launch_file, free))["follow_line", "lap_monitor_node"],
                          free)
    assert (lap["record_path"], lap["end"]) == ("auto", "shutdown")  # the defaults


@pytest.mark.parametrize("sim", ["gz", "builtin"])
@pytest.mark.parametrize("arguments", [
    {}, {"laps": "3", "timeout": "90", "record": "2024", "end": "keep", "verbose": "true"},
    {"record": "", "lockstep": "false", "use_sim_time": "false"}])
def test_the_nodes_declare_what_the_launch_gives_them_with_the_declared_type(
        launch_file, sim, arguments):
    ctx = context(sim=sim, **arguments)
    for (package, executable), node in nodes(active(launch_file, ctx)).items():
        if package != "follow_line":
            continue
        defaults = declared_defaults(executable)
        for entry in node.kwargs["parameters"]:
            for name, value in (entry.items() if isinstance(entry, dict) else ()):
                if name == "use_sim_time" or name.startswith("qos_overrides."):
                    continue  # declared by rclpy itself
                assert name in defaults, (executable, name)
                try:
                    default = ast.literal_eval(defaults[name])
                except ValueError:  # a named constant
                    continue
                # rclpy refuses a value of another type (record_path 2024, an int)
                assert type(launched_value(value, ctx)) is type(default), (executable, name)


RUNNING = types.SimpleNamespace(is_shutdown=False)


def exited(code: int) -> types.SimpleNamespace:
    """A ProcessExited event's stand-in."""
    return types.SimpleNamespace(returncode=code)


def exit_handlers(actions) -> dict:
    """The on_exit of each process the actions watch with OnProcessExit, by process."""
    handlers = [a.args[0] for a in actions if type(a).__name__ == "RegisterEventHandler"]
    assert all(type(h).__name__ == "OnProcessExit" for h in handlers)
    return {h.kwargs["target_action"]: h.kwargs["on_exit"] for h in handlers}


def assert_shuts_down(on_exit, code: int, message: str) -> None:
    """`on_exit` for `code` logs `message` and shuts the launch down with it as the reason."""
    log, shutdown = on_exit(exited(code), RUNNING)
    assert type(log).__name__ == "LogInfo" and type(shutdown).__name__ == "Shutdown"
    assert log.kwargs["msg"] == shutdown.kwargs["reason"] == message


def test_any_node_that_ends_shuts_the_launch_down_naming_it(launch_file):
    ctx = context(sim="builtin")
    actions = active(launch_file, ctx)
    launched = nodes(actions)
    watched = exit_handlers(actions)
    assert all(node in watched for node in launched.values())
    for key, name in ((("follow_line", "sim_node"), "follow_line_sim"),
                      (("follow_line", "drive_node"), "follow_line_drive"),
                      (("follow_line", "lap_monitor_node"), "follow_line_lap_monitor")):
        on_exit = watched[launched[key]]
        assert_shuts_down(on_exit, -9, f"{name} was killed by SIGKILL: shutting down the graph, "
                                       "the car stays stopped")
        # the lap monitor's own end (end:=shutdown) ends the launch as well
        assert_shuts_down(on_exit, 0, f"{name} ended: shutting down the graph, the car stays "
                                      "stopped")
        # nodes ending because the launch shuts down say nothing more
        assert on_exit(exited(0), types.SimpleNamespace(is_shutdown=True)) is None


@pytest.mark.parametrize("sim, spawner, required", [
    ("gz", ("ros_gz_sim", "create"), "on_exit_shutdown"),
    ("gazebo", ("gazebo_ros", "spawn_entity.py"), "server_required")])
def test_gazebo_ending_a_bridge_ending_or_the_spawn_failing_shuts_the_launch_down(
        launch_file, sim, spawner, required):
    ctx = context(sim=sim)
    actions = active(launch_file, ctx)
    launched = nodes(actions)
    watched = exit_handlers(actions)
    assert all(node in watched for node in launched.values())
    [include] = [a for a in actions if type(a).__name__ == "IncludeLaunchDescription"]
    assert dict(include.kwargs["launch_arguments"])[required] == "true"  # the simulator itself
    on_exit = watched[launched[spawner]]
    assert on_exit(exited(0), RUNNING) is None  # the car is in the world: its work is done
    assert_shuts_down(on_exit, 1, f"{' '.join(spawner)} exited with code 1 (its log above "
                                  "says why): shutting down the graph, the car stays stopped")
    bridges = {"gz": {("ros_gz_bridge", "parameter_bridge"): "follow_line_gz_bridge",
                      ("ros_gz_image", "image_bridge"): "follow_line_gz_image"},
               "gazebo": {}}[sim]
    for key, name in bridges.items():
        assert launched[key].kwargs["name"] == name
        assert_shuts_down(watched[launched[key]], 0, f"{name} ended: shutting down the graph, "
                                                     "the car stays stopped")


@pytest.mark.parametrize("sim, package", [("gz", "ros_gz_sim"), ("gazebo", "gazebo_ros")])
def test_a_missing_simulator_ends_the_launch_before_any_node_in_one_line(
        launch_file, monkeypatch, sim, package):
    from follow_line.ros import simulators

    monkeypatch.setattr(simulators, "has_ros_package", lambda name: False)
    monkeypatch.setenv("ROS_DISTRO", "humble")
    entities = launch_file.generate_launch_description().args[0]
    kinds = [type(e).__name__ for e in entities]
    first_function = kinds.index("OpaqueFunction")
    # checked before anything but the arguments: no environment, simulator or node yet
    assert set(kinds[:first_function]) == {"DeclareLaunchArgument"}
    assert first_function < kinds.index("Node")
    with pytest.raises(RuntimeError) as error:
        entities[first_function].kwargs["function"](context(sim=sim))
    message = str(error.value)
    assert "\n" not in message and package in message and "sim:=builtin" in message
    assert f"sim:={sim} needs" in message and "ros-humble-" in message
    assert entities[first_function].kwargs["function"](context(sim="builtin")) == []
