"""Gazebo Sim runs of `follow-line ros --sim gz` and `bench --ros --sim gz`, without Gazebo.

Gazebo and ros_gz are not installable here: these tests check the command lines a run
starts (against a stand-in ament prefix whose executables are shell scripts), the files it
writes, its environment, the bench's identity of such runs and the one line a missing
ros_gz gives. The stand-ins run only in the supervision tests, which check the process
handling and nothing of Gazebo itself.
"""

import importlib.util
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest
import yaml
from test_bench import default_sigint, group_gone_within

from follow_line.bench import ros_runs
from follow_line.bench.runner import BenchRun, plan
from follow_line.cli import main
from follow_line.errors import FollowLineError
from follow_line.gazebo.sdf import bridge_config, bridge_yaml, car_model_sdf, spawn_pose, world_sdf
from follow_line.ros import gz_graph
from follow_line.ros.bringup import GraphSpec, check_spec, dds_environment, graph_processes
from follow_line.ros.simulators import missing_simulator_message
from follow_line.world.circuits import load_circuit

needs_ros = pytest.mark.skipif(importlib.util.find_spec("rclpy") is None,
                               reason="ROS 2 wheels not installed (make test installs them "
                               "from requirements-ros.txt)")
EXECUTABLES = {"ros_gz_sim": "create", "ros_gz_bridge": "parameter_bridge",
               "ros_gz_image": "image_bridge"}
GZ = GraphSpec(model="expert", circuit="monaco", lockstep=False, sim="gz")


def script(path, body):
    """An executable shell script at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


@pytest.fixture
def ros_gz(tmp_path, monkeypatch):
    """Install stand-ins: an ament prefix with ros_gz's packages, and `gz` on PATH.

    `install(bodies, gz=True)`: `bodies` maps an executable's name (`gz`, `create`, ...) to
    its shell body (default: sleep); the prefix.
    """
    def install(bodies=None, gz=True):
        bodies = bodies or {}
        prefix = tmp_path / "prefix"
        index = prefix / "share" / "ament_index" / "resource_index" / "packages"
        index.mkdir(parents=True)
        for package, name in EXECUTABLES.items():
            (index / package).write_text("")
            (prefix / "share" / package).mkdir()
            script(prefix / "lib" / package / name, bodies.get(name, "exec sleep 600"))
        if gz:
            script(prefix / "bin" / "gz", bodies.get("gz", "exec sleep 600"))
        monkeypatch.setenv("AMENT_PREFIX_PATH", str(prefix))
        monkeypatch.setenv("PATH", f"{prefix / 'bin'}{os.pathsep}{os.environ['PATH']}")
        return prefix

    return install


def arguments(command, *flags):
    """The value after each of `flags` in `command`."""
    return [command[command.index(flag) + 1] for flag in flags]


@pytest.mark.parametrize("direction", ["clockwise", "anticlockwise"])
def test_a_gazebo_run_starts_the_server_the_spawner_the_bridges_and_the_nodes(
        ros_gz, tmp_path, direction):
    prefix = ros_gz()
    folder = tmp_path / "run"
    spec = GraphSpec(model="expert", circuit="monaco", direction=direction, lockstep=False,
                     sim="gz")
    commands, one_shot = graph_processes(spec, folder)
    assert list(commands) == ["gz sim", "ros_gz_sim create", "follow_line_gz_bridge",
                              "follow_line_gz_image", "drive_node", "lap_monitor_node"]
    assert one_shot == ("ros_gz_sim create",)
    circuit = load_circuit("monaco")

    world = folder / "worlds" / "gz" / "monaco.sdf"
    assert commands["gz sim"] == [str(prefix / "bin" / "gz"), "sim", "-s", "-r",
                                  "--headless-rendering", str(world)]
    assert world.read_text() == world_sdf(circuit, "gz")
    assert ET.parse(world).getroot().find("world").get("name") == "monaco"

    spawn = commands["ros_gz_sim create"]
    assert spawn[0] == str(prefix / "lib" / "ros_gz_sim" / "create")
    world_name, name, model = arguments(spawn, "-world", "-name", "-file")
    assert (world_name, name) == ("monaco", "f1_car")
    assert (folder / "models" / "f1_car_gz" / "model.sdf").read_text() == car_model_sdf("gz")
    assert model == str(folder / "models" / "f1_car_gz" / "model.sdf")
    x, y, z, yaw = (float(v) for v in arguments(spawn, "-x", "-y", "-z", "-Y"))
    assert (x, y, z, yaw) == pytest.approx(spawn_pose(circuit, direction), abs=1e-12)
    assert (x, y) == pytest.approx(tuple(circuit.start), abs=0.5)  # at the start gate
    line = circuit.line(direction)
    ahead = line.pose_at(2.0)  # 2 m further along the line in this direction
    assert (ahead[0] - x, ahead[1] - y) == pytest.approx(
        (2 * math.cos(yaw), 2 * math.sin(yaw)), abs=0.1)

    bridge = commands["follow_line_gz_bridge"]
    assert bridge[0] == str(prefix / "lib" / "ros_gz_bridge" / "parameter_bridge")
    assert bridge[1:4] == ["--ros-args", "-r", "__node:=follow_line_gz_bridge"]
    [config] = [a.split(":=", 1)[1] for a in bridge if a.startswith("config_file:=")]
    assert open(config).read() == bridge_yaml()
    assert yaml.safe_load(open(config)) == bridge_config()
    assert commands["follow_line_gz_image"] == [
        str(prefix / "lib" / "ros_gz_image" / "image_bridge"), "/cam_f1_left/image_raw",
        "--ros-args", "-r", "__node:=follow_line_gz_image"]

    for node in ("drive_node", "lap_monitor_node"):
        assert "use_sim_time:=true" in commands[node] and "stamped:=false" in commands[node]
        assert not any("reliability:=" in a and "reliable" in a for a in commands[node])
        assert "camera/image_raw:=/cam_f1_left/image_raw" in commands[node]  # remapped
    assert 'qos_overrides./odom.subscription.reliability:="best_effort"' in \
        commands["lap_monitor_node"]
    assert f'direction:="{direction}"' in commands["lap_monitor_node"]


def test_a_circuit_file_gets_its_own_world_and_the_builtin_graph_keeps_its_sim_node(
        ros_gz, tmp_path, oval_file):
    ros_gz()
    oval = GraphSpec(model="expert", circuit=str(oval_file), lockstep=False, sim="gz")
    commands, _ = graph_processes(oval, tmp_path / "oval")
    world = tmp_path / "oval" / "worlds" / "gz" / "oval.sdf"
    assert commands["gz sim"][-1] == str(world)
    assert world.read_text() == world_sdf(load_circuit(oval_file), "gz")
    assert arguments(commands["ros_gz_sim create"], "-world") == ["oval"]
    builtin, one_shot = graph_processes(GraphSpec(model="expert"), tmp_path / "builtin")
    assert list(builtin) == ["sim_node", "drive_node", "lap_monitor_node"] and one_shot == ()
    assert "stamped:=true" in builtin["drive_node"]
    assert not (tmp_path / "builtin" / "worlds").exists()


def test_without_ros_gz_or_gz_one_line_names_what_to_install(ros_gz, monkeypatch):
    monkeypatch.delenv("AMENT_PREFIX_PATH", raising=False)
    monkeypatch.setenv("ROS_DISTRO", "jazzy")
    with pytest.raises(FollowLineError) as missing:
        gz_graph.executables()
    assert str(missing.value) == missing_simulator_message("gz")
    assert "ros-jazzy-ros-gz" in str(missing.value) and "\n" not in str(missing.value)
    ros_gz({"create": "exit 0"}, gz=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(FollowLineError) as no_gz:
        gz_graph.executables()
    text = str(no_gz.value)
    assert text.startswith("sim:=gz needs Gazebo Sim's executables, and gz sim cannot be found")
    assert "sudo apt install ros-jazzy-ros-gz" in text and "sim:=builtin" in text
    assert "\n" not in text


def test_gazebo_runs_free_on_its_own_clock(ros_gz):
    ros_gz()
    with pytest.raises(FollowLineError, match="lockstep is the built-in simulator's"):
        gz_graph.check_gz_spec(GraphSpec(sim="gz"))
    with pytest.raises(FollowLineError, match="Gazebo Sim runs its worlds at 1.0"):
        gz_graph.check_gz_spec(GraphSpec(sim="gz", lockstep=False, real_time_factor=2.0))
    gz_graph.check_gz_spec(GZ)
    with pytest.raises(FollowLineError, match="unknown simulator 'gazebo'"):
        check_spec(GraphSpec(sim="gazebo", lockstep=False))


@needs_ros
def test_follow_line_ros_sim_gz_without_ros_gz_is_one_line(monkeypatch, capsys):
    monkeypatch.delenv("AMENT_PREFIX_PATH", raising=False)
    assert main(["ros", "--sim", "gz", "--model", "expert"]) == 2
    err = capsys.readouterr().err
    assert err == f"follow-line: error: {missing_simulator_message('gz')}\n"


def test_gazebo_bench_runs_have_their_own_key_domain_and_partition(monkeypatch):
    monkeypatch.setenv("ROS_DOMAIN_ID", "7")
    monkeypatch.delenv("GZ_PARTITION", raising=False)
    assert ros_runs.via_of("gz", False) == ros_runs.via_of("gz", True) == ros_runs.GAZEBO
    assert ros_runs.via_of("builtin", True) == ros_runs.FREE_RUNNING
    gz = BenchRun("pilotnet", "simple", "clockwise", latency="measured", via=ros_runs.GAZEBO)
    free = BenchRun("pilotnet", "simple", "clockwise", latency="measured",
                    via=ros_runs.FREE_RUNNING)
    assert gz.key.startswith("pilotnet__simple__clockwise__r0__latmeasured__ros-gazebo-sim__")
    assert gz.key.rsplit("__", 1)[1] != free.key.rsplit("__", 1)[1]  # the digest differs
    spec = ros_runs.graph_spec(gz)
    assert (spec.sim, spec.lockstep) == ("gz", False)
    other = BenchRun("pilotnet", "simple", "anticlockwise", latency="measured",
                     via=ros_runs.GAZEBO)
    environments = [ros_runs.run_environment(gz, 1), ros_runs.run_environment(other, 2)]
    assert [e["ROS_DOMAIN_ID"] for e in environments] == ["9", "10"]
    partitions = [e["GZ_PARTITION"] for e in environments]
    assert len(set(partitions)) == 2
    assert all(re.fullmatch(r"follow_line_\w+", p) and str(os.getpid()) in p
               for p in partitions)
    assert partitions[0] != ros_runs.run_environment(other, 1)["GZ_PARTITION"]  # per run
    assert "GZ_PARTITION" not in ros_runs.run_environment(free, 1)


@needs_ros
def test_bench_sim_gz_plans_measured_runs_and_refuses_emulated_latencies(
        ros_gz, tmp_path, capsys):
    ros_gz()
    [run] = plan(["expert"], ["simple"], ["clockwise"], latencies=["measured"],
                 via=ros_runs.GAZEBO)
    assert run.via == "ros-gazebo-sim"
    out = tmp_path / "b"
    assert main(["bench", "--ros", "--sim", "gz", "--latency", "0", "--models", "expert",
                 "--circuits", "simple", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "latency '0' cannot be emulated" in err and "--sim gz" in err and not out.exists()


def start_gz_run(tmp_path, domain):
    """`follow-line ros --sim gz` in its own process group, on the stand-ins, in `domain`."""
    env = {**dds_environment(), "ROS_DOMAIN_ID": str(domain),
           "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}
    return subprocess.Popen([sys.executable, "-m", "follow_line", "ros", "--sim", "gz",
                             "--model", "expert", "--quiet"], env=env, cwd=tmp_path,
                            start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint)


@needs_ros
@pytest.mark.parametrize(("executable", "name"), [("gz", "gz sim"),
                                                  ("parameter_bridge", "follow_line_gz_bridge")])
def test_a_gazebo_process_that_dies_ends_the_run_naming_it_and_leaves_no_process(
        ros_gz, ros_domains, tmp_path, executable, name):
    """Supervision only: the Gazebo executables are stand-in scripts, not Gazebo.

    The spawner exits with 0 at once (its work done), which does not end the run; the one
    that dies after 3 s does, with the line naming it, and no process of the run is left.
    """
    ros_gz({"create": "exit 0", executable: "sleep 3; exit 3"})
    proc = start_gz_run(tmp_path, ros_domains["gazebo"])
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 4, err
    assert err.strip() == (f"follow-line: error: {name} exited with code 3 (it logged no "
                           "error): shutting down the graph, the car stays stopped")
    assert group_gone_within(proc.pid, 10.0), "a process of the run was left"


@needs_ros
def test_sigterm_stops_every_process_of_a_gazebo_run(ros_gz, ros_domains, tmp_path):
    """Supervision only: the Gazebo executables are stand-in scripts, not Gazebo."""
    started = tmp_path / "server.pid"
    ros_gz({"create": "exit 0", "gz": f"echo $$ > {started}; exec sleep 600"})
    proc = start_gz_run(tmp_path, ros_domains["gazebo"])
    deadline = time.monotonic() + 60
    while not started.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
        time.sleep(0.1)
    time.sleep(3.0)  # the nodes are up
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    record = json.loads(out)
    assert record["stop_reason"] == "interrupted"
    assert set(record["node_exit_codes"]) == {"gz sim", "ros_gz_sim create",
                                              "follow_line_gz_bridge", "follow_line_gz_image",
                                              "drive_node", "lap_monitor_node"}
    assert record["node_exit_codes"]["ros_gz_sim create"] == 0
    assert group_gone_within(proc.pid, 10.0), "a process of the run was left"
