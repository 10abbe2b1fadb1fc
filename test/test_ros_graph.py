"""The nodes as separate processes on real rclpy and Fast DDS: signals, watchdog, lockstep.

Each node runs as `python -m follow_line.ros.<node>` with the parameters the bring-up (and
drive.launch.py) gives it. A probe node in the test process plays the camera or listens to
cmd_vel. Time limits here are the safety requirements themselves (a signalled node is gone
within 1 s, a stale camera stops the car within the watchdog timeout), with the margin stated.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from follow_line.driving.drivers import make_driver
from follow_line.driving.run import RunSpec, run_drive
from follow_line.interface import CAMERA, CLOCK, CMD_VEL, remap_arguments
from follow_line.ros.bringup import GraphSpec, dds_environment, node_commands
from follow_line.world.circuits import load_circuit
from follow_line.world.simulator import Simulator

rclpy = pytest.importorskip("rclpy", reason="ROS 2 wheels not installed (make test installs "
                            "them from requirements-ros.txt)")

EXIT_S = 1.0  # a signalled node is gone within this long
START_S = 60.0  # a node (TensorFlow import, network load) is up within this long
RUNS = [(c, d) for c in ("simple", "monaco", "nurburgring")
        for d in ("clockwise", "anticlockwise")]


@pytest.fixture
def probe():
    """A probe node in this process: `.spin_until(condition)`, publishers, subscriptions."""
    from rclpy.executors import SingleThreadedExecutor

    rclpy.init(args=[])
    node = rclpy.create_node("probe")
    executor = SingleThreadedExecutor()
    executor.add_node(node)

    def spin_until(condition, timeout=START_S):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                return False
            executor.spin_once(timeout_sec=0.01)
        return True

    yield SimpleNamespace(node=node, spin_until=spin_until)
    executor.shutdown()
    node.destroy_node()
    rclpy.shutdown()


class Graph:
    """Node processes of one test; logs in files; every process is gone afterwards."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, command: list[str], name: str | None = None,
              shipped_profile: bool = True) -> subprocess.Popen:
        name = name or command[2].rsplit(".", 1)[-1]
        log = open(self.tmp_path / f"{name}.log", "w")  # noqa: SIM115 (closed with the file)
        self.procs[name] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                            env=dds_environment(shipped_profile=shipped_profile))
        return self.procs[name]

    def start_graph(self, spec: GraphSpec, shipped_profile: bool = True, **extra) -> Path:
        """The bring-up's three nodes; `extra`: {node: [more -p arguments]}."""
        record = self.tmp_path / "record.json"
        for node, command in node_commands(spec, record).items():
            self.start(command + extra.get(node, []), shipped_profile=shipped_profile)
        return record

    def log(self, name: str) -> str:
        return (self.tmp_path / f"{name}.log").read_text()

    def signal_all(self, sig=signal.SIGINT) -> dict[str, tuple[int, float]]:
        """`sig` to every node at once; {name: (exit code, seconds to exit)}."""
        t0 = time.monotonic()
        for proc in self.procs.values():
            proc.send_signal(sig)
        return {name: self.wait(name, t0) for name in self.procs}

    def wait(self, name: str, t0: float, timeout: float = 10.0) -> tuple[int, float]:
        code = self.procs[name].wait(timeout=timeout)
        return code, time.monotonic() - t0

    def close(self):
        """SIGINT to every node still running, SIGKILL only if it does not end.

        A killed node leaves its Fast DDS shared-memory segment in /dev/shm.
        """
        running = [p for p in self.procs.values() if p.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGINT)
        for proc in running:
            try:
                proc.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def graph(tmp_path):
    g = Graph(tmp_path)
    yield g
    g.close()


def node_command(node: str, **params) -> list[str]:
    """A node's command line, its topics remapped as the bring-up remaps them."""
    args = [arg for k, v in params.items() for arg in ("-p", f"{k}:={v}")]
    return [sys.executable, "-m", f"follow_line.ros.{node}", "--ros-args", *remap_arguments(),
            *args]


def camera(probe):
    """A camera publisher and a cmd_vel recorder [(receive time, v)] on the probe."""
    from geometry_msgs.msg import Twist
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    publisher = probe.node.create_publisher(Image, CAMERA.graph, qos_profile_sensor_data)
    commands = []
    probe.node.create_subscription(
        Twist, CMD_VEL.graph, lambda m: commands.append((time.monotonic(), m.linear.x)), 100)
    return publisher, commands


FRAME = Simulator(load_circuit("simple"), "clockwise").frame()


def frame_message(t: float):
    """The start-line camera frame of the simple circuit, stamped `t`."""
    import array

    from sensor_msgs.msg import Image

    from follow_line.ros.conversions import seconds_to_stamp

    msg = Image(height=480, width=640, encoding="rgb8", step=1920,
                data=array.array("B", FRAME.tobytes()))
    msg.header.stamp.sec, msg.header.stamp.nanosec = seconds_to_stamp(t)
    return msg


def drive_until_moving(probe, publisher, commands, count=5):
    """Frames at 20 Hz until the drive node has answered `count` of them with v > 0."""
    assert probe.spin_until(lambda: publisher.get_subscription_count() > 0), "no drive node"
    t = 1.0
    while sum(v > 0 for _, v in commands) < count:
        publisher.publish(frame_message(t))
        probe.spin_until(lambda: False, timeout=0.05)
        t += 0.05
        assert t < 1.0 + START_S * 20, "the drive node never drove"
    return t


# --- never left moving ----------------------------------------------------------------------

def test_the_watchdog_stops_the_car_on_the_steady_clock_while_sim_time_is_frozen(
        probe, graph):
    from rosgraph_msgs.msg import Clock

    clock = probe.node.create_publisher(Clock, CLOCK.graph, 10)
    graph.start(node_command("drive_node", model="expert", use_sim_time="true",
                             watchdog_timeout=0.3))
    publisher, commands = camera(probe)
    clock.publish(Clock())  # sim time stands still at 0: a stopped simulator
    drive_until_moving(probe, publisher, commands)
    last_frame = time.monotonic()
    assert probe.spin_until(lambda: commands[-1][1] == 0.0, timeout=2.0)
    stopped_after = commands[-1][0] - last_frame
    assert stopped_after <= 0.3 + 0.3, f"zero twist {stopped_after:.2f} s after the last frame"
    assert "watchdog_timeout 0.3 s): stopping the car" in graph.log("drive_node") or \
        probe.spin_until(lambda: "stopping the car" in graph.log("drive_node"), timeout=1.0)
    assert graph.procs["drive_node"].poll() is None  # stopped, still running, still safe


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_the_drive_node_stops_the_car_and_exits_0_within_1_s(probe, graph, sig):
    graph.start(node_command("drive_node", model="expert", watchdog_timeout=5.0))
    publisher, commands = camera(probe)
    drive_until_moving(probe, publisher, commands)
    [(code, seconds)] = graph.signal_all(sig).values()
    assert code == 0 and seconds < EXIT_S
    probe.spin_until(lambda: False, timeout=0.3)
    assert commands[-1][1] == 0.0 and commands[-2][1] > 0.0
    log = graph.log("drive_node")
    assert f"{sig.name}: shutting down" in log and "car stopped" in log
    assert "Traceback" not in log


def test_sigint_to_all_three_nodes_at_once_mid_run(probe, graph):
    """The bar: every node exits 0 within 1 s, the last cmd_vel is zero, the record says so."""
    from geometry_msgs.msg import TwistStamped

    commands = []
    probe.node.create_subscription(TwistStamped, CMD_VEL.graph,
                                   lambda m: commands.append(m.twist.linear.x), 1000)
    record = graph.start_graph(GraphSpec(model="pilotnet", circuit="monaco"))
    assert probe.spin_until(lambda: sum(v > 0 for v in commands) >= 100), "no run"
    exits = graph.signal_all(signal.SIGINT)
    assert all(code == 0 and seconds < EXIT_S for code, seconds in exits.values()), exits
    probe.spin_until(lambda: False, timeout=0.3)
    assert commands[-1] == 0.0
    data = json.loads(record.read_text())
    assert data["stop_reason"] == "interrupted" and 0.0 < data["completion_pct"] < 100.0
    for name in exits:
        assert "Traceback" not in graph.log(name), name


def test_sigterm_to_the_lap_monitor_writes_the_interrupted_record(probe, graph):
    record = graph.start_graph(GraphSpec(model="expert", circuit="simple"))
    assert probe.spin_until(lambda: "run started" in graph.log("lap_monitor_node"))
    probe.spin_until(lambda: False, timeout=0.5)
    t0 = time.monotonic()
    graph.procs["lap_monitor_node"].send_signal(signal.SIGTERM)
    code, seconds = graph.wait("lap_monitor_node", t0)
    assert code == 0 and seconds < EXIT_S
    data = json.loads(record.read_text())
    assert data["stop_reason"] == "interrupted" and data["trajectory"]["t"]
    assert "run interrupted at" in graph.log("lap_monitor_node")


# --- start-up errors ------------------------------------------------------------------------

def test_a_missing_params_file_is_one_line_and_exit_code_2(tmp_path):
    missing = tmp_path / "nowhere.yaml"
    result = subprocess.run(node_command("drive_node") + ["--params-file", str(missing)],
                            capture_output=True, text=True, timeout=START_S)
    assert result.returncode == 2
    assert f"--params-file {missing}: no such file" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("node, params, text", [
    ("drive_node", {"model": "expert", "max_v": 99}, "'max_v' is 99.0"),
    ("lap_monitor_node", {"laps": 0}, "'laps' is 0"),
    ("sim_node", {"lockstep": "true"}, "'stamped' is False"),
])
def test_a_bad_parameter_is_exit_code_1_without_a_traceback(node, params, text):
    result = subprocess.run(node_command(node, **params), capture_output=True, text=True,
                            timeout=START_S, env=dds_environment())
    assert result.returncode == 1
    assert "FATAL" in result.stderr and text in result.stderr
    assert "Traceback" not in result.stderr and "AttributeError" not in result.stderr


# --- every frame delivered, lockstep --------------------------------------------------------

def test_a_20_hz_free_running_run_delivers_every_frame(probe, graph):
    """Every frame from the first one driven gets its command (matched by stamp)."""
    from geometry_msgs.msg import TwistStamped
    from rosgraph_msgs.msg import Clock

    from follow_line.ros.conversions import stamp_to_ns as ns

    commanded, ticks = set(), []

    def on_cmd(msg):
        if msg.twist.linear.x > 0:  # an answer to a frame, not a stop command
            commanded.add(ns(msg.header.stamp))

    probe.node.create_subscription(TwistStamped, CMD_VEL.graph, on_cmd, 1000)
    probe.node.create_subscription(Clock, CLOCK.graph, lambda m: ticks.append(ns(m.clock)), 1000)
    graph.start_graph(GraphSpec(model="expert", circuit="monaco", lockstep=False))
    assert probe.spin_until(lambda: commanded)
    probe.spin_until(lambda: False, timeout=3.0)  # 60 frames of 921,648 bytes
    graph.procs["sim_node"].send_signal(signal.SIGINT)  # the camera stops first
    graph.wait("sim_node", time.monotonic())
    probe.spin_until(lambda: False, timeout=0.5)
    graph.signal_all(signal.SIGINT)
    first = min(commanded)
    frames = [t for t in ticks if t >= first]
    assert len(frames) >= 50 and frames == sorted(set(frames)), (ticks[:3], first)
    lost = [t * 1e-9 for t in frames if t not in commanded]
    assert lost == []
    published = int(graph.log("sim_node").split(" frame(s) published")[0].split()[-1])
    assert published == len(ticks)


@pytest.mark.parametrize("model, circuit, direction, shipped_profile", [
    ("pilotnet", "monaco", "clockwise", True),
    ("pilotnet", "monaco", "clockwise", False),  # Fast DDS's defaults: frames over UDP
    ("expert", "simple", "anticlockwise", True),
    # every other circuit and direction: the same behaviour, in the slow suite
    *[pytest.param("expert", c, d, True, marks=pytest.mark.slow) for c, d in RUNS
      if (c, d) != ("simple", "anticlockwise")],
    *[pytest.param("pilotnet", c, d, True, marks=pytest.mark.slow) for c, d in RUNS
      if (c, d) != ("monaco", "clockwise")],
])
def test_a_lockstep_run_through_the_ros_graph_gives_the_in_process_record(
        graph, model, circuit, direction, shipped_profile):
    # one backend on both sides: `auto` picks the fastest at load, and backends differ in
    # the last bits (LiteRT, ONNX Runtime), which a whole lap can amplify
    record = graph.start_graph(GraphSpec(model=model, circuit=circuit, direction=direction,
                                         backend="litert"), shipped_profile=shipped_profile)
    code, _ = graph.wait("lap_monitor_node", time.monotonic(), timeout=300.0)
    assert code == 0, graph.log("lap_monitor_node")
    assert "sending it again" not in graph.log("sim_node")  # no frame was lost: no stall
    assert "best effort" not in graph.log("sim_node")
    ros = json.loads(record.read_text())
    local = run_drive(RunSpec(load_circuit(circuit), direction),
                      make_driver(model, backend="litert"))
    for key in ("completion_pct", "stop_reason", "laps_completed", "sim_time_s",
                "distance_m", "cte_mean_m", "cte_max_m", "smoothness_v", "smoothness_w",
                "control_rate_hz"):
        assert ros[key] == local[key], key
    assert ros["lap_times_s"] == pytest.approx(local["lap_times_s"], abs=1e-3)
    assert ros["trajectory"] == local["trajectory"]
    assert ros["frames_driven"] == len(local["trajectory"]["t"]) - 1


def test_a_watchdog_stop_between_lockstep_frames_does_not_step_the_simulator(graph):
    """The watchdog's stop between frames leaves the lockstep record as it is.

    The watchdog fires at every gap between frames longer than 1 ms; its stop must not
    answer the frame the simulator waits for (stamped with that frame's stamp, it once
    stepped the car with a zero command and shifted the record by a frame).
    """
    record = graph.tmp_path / "record.json"
    commands = node_commands(GraphSpec(model="expert", circuit="simple"), record)
    commands["drive_node"] += ["-p", "watchdog_timeout:=0.001"]
    for command in commands.values():
        graph.start(command)
    code, _ = graph.wait("lap_monitor_node", time.monotonic(), timeout=300.0)
    assert code == 0, graph.log("lap_monitor_node")
    assert "stopping the car" in graph.log("drive_node")  # it did fire
    ros = json.loads(record.read_text())
    local = run_drive(RunSpec(load_circuit("simple"), "clockwise"), make_driver("expert"))
    assert ros["trajectory"] == local["trajectory"]


# --- the bring-up command -------------------------------------------------------------------

def test_follow_line_ros_drives_a_lap_and_writes_the_record(tmp_path):
    record = tmp_path / "runs" / "expert.json"
    result = subprocess.run([sys.executable, "-m", "follow_line", "ros", "--model", "expert",
                             "--circuit", "simple", "--json", str(record), "--quiet"],
                            capture_output=True, text=True, timeout=300, env=dds_environment())
    assert result.returncode == 0, result.stderr
    data = json.loads(record.read_text())
    assert data["stop_reason"] == "lap_completed" and data["source"] == "ros"
    assert data["node_exit_codes"] == {"sim_node": 0, "drive_node": 0, "lap_monitor_node": 0}
    assert json.loads(result.stdout)["lap_times_s"] == data["lap_times_s"]


def test_follow_line_ros_shows_the_nodes_logs_but_no_library_chatter():
    result = subprocess.run([sys.executable, "-m", "follow_line", "ros", "--model",
                             "tinypilotnet", "--circuit", "simple", "--timeout", "3"],
                            capture_output=True, text=True, timeout=300, env=dds_environment())
    assert result.returncode == 1, result.stderr  # a 3 s timeout: lap not completed
    assert "[follow_line_drive]: driving with tinypilotnet" in result.stderr
    for chatter in ("oneDNN", "XNNPACK", "absl", "I0000"):
        assert chatter not in result.stderr


@pytest.mark.parametrize("args, text", [
    (["--circuit", "atlantis"], "atlantis"),
    (["--direction", "sideways"], "invalid choice: 'sideways'"),
    (["--model", "no_such_network"], "expert"),
    (["--free-running", "--real-time-factor", "0"], "--real-time-factor: must be > 0"),
])
def test_follow_line_ros_refuses_bad_input_before_starting_nodes(args, text):
    result = subprocess.run([sys.executable, "-m", "follow_line", "ros", *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and text in result.stderr
    assert "Traceback" not in result.stderr and "[INFO]" not in result.stderr


def test_a_node_that_dies_ends_follow_line_ros_naming_it_even_when_quiet(tmp_path):
    # a good card over weights that are not a network: the graph starts, the drive node dies
    shutil.copy(Path(__file__).resolve().parents[1] / "models" / "tinypilotnet.json",
                tmp_path / "broken.json")
    (tmp_path / "broken.keras").write_text("not a network")
    result = subprocess.run([sys.executable, "-m", "follow_line", "ros", "--model",
                             str(tmp_path / "broken.keras"), "--quiet"],
                            capture_output=True, text=True, timeout=120, env=dds_environment())
    assert result.returncode == 4, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("follow-line: error: drive_node exited with code 1 (parameter "
                           "'model' is") and "shutting down the graph" in line


def children_of(pid: int) -> set[int]:
    """The process ids whose parent is `pid`."""
    found = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines()
                          if ":\t" in line)
        except OSError:  # the process ended meanwhile
            continue
        if fields.get("PPid", "").strip() == str(pid):
            found.add(int(status.parent.name))
    return found


def running(pid: int) -> bool:
    """Whether `pid` is alive (not a zombie)."""
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def test_kill_9_of_the_drive_node_ends_follow_line_ros_and_every_node(probe):
    bringup = subprocess.Popen([sys.executable, "-m", "follow_line", "ros", "--model",
                                "expert", "--circuit", "monaco", "--free-running", "--quiet"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env=dds_environment())
    try:
        from geometry_msgs.msg import TwistStamped

        moving = []
        probe.node.create_subscription(TwistStamped, CMD_VEL.graph,
                                       lambda m: moving.append(m.twist.linear.x > 0), 10)
        assert probe.spin_until(lambda: any(moving)), "the car never moved"
        nodes = children_of(bringup.pid)
        [drive] = [pid for pid in nodes
                   if "drive_node" in Path(f"/proc/{pid}/cmdline").read_text()]
        t0 = time.monotonic()
        os.kill(drive, signal.SIGKILL)
        code = bringup.wait(timeout=30)
        assert time.monotonic() - t0 < 30
        assert code == 4 and "drive_node was killed by SIGKILL" in bringup.stderr.read()
        assert len(nodes) == 3 and not [pid for pid in nodes if running(pid)]
    finally:
        if bringup.poll() is None:
            bringup.kill()
            bringup.wait()


def lifecycle_client(probe, service: str, kind):
    client = probe.node.create_client(kind, f"/follow_line_drive/{service}")
    assert probe.spin_until(client.service_is_ready), f"no {service} service"
    return client


def call(probe, client, request):
    future = client.call_async(request)
    assert probe.spin_until(future.done, timeout=10.0)
    return future.result()


def test_a_deactivated_drive_node_publishes_a_zero_twist_and_nothing_after_it(probe):
    """While `follow-line ros` drives, the drive node is a managed node `ros2 lifecycle` sees."""
    from geometry_msgs.msg import TwistStamped
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState, GetState

    bringup = subprocess.Popen([sys.executable, "-m", "follow_line", "ros", "--model",
                                "expert", "--circuit", "monaco", "--free-running", "--quiet"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=dds_environment())
    try:
        commands = []
        probe.node.create_subscription(
            TwistStamped, CMD_VEL.graph,
            lambda m: commands.append((time.monotonic(), m.twist.linear.x)), 100)
        names = probe.node.get_node_names
        assert probe.spin_until(lambda: any("drive" in n for n in names()))
        get_state = lifecycle_client(probe, "get_state", GetState)
        change_state = lifecycle_client(probe, "change_state", ChangeState)
        assert probe.spin_until(lambda: sum(v > 0 for _, v in commands) >= 5)
        assert call(probe, get_state, GetState.Request()).current_state.label == "active"
        deactivate = ChangeState.Request(
            transition=Transition(id=Transition.TRANSITION_DEACTIVATE))
        assert call(probe, change_state, deactivate).success
        answered = time.monotonic()
        probe.spin_until(lambda: False, timeout=1.5)
        assert commands[-1][1] == 0.0  # the last twist is zero, and nothing follows it
        assert [v for t, v in commands if t > answered] in ([], [0.0])
        assert call(probe, get_state, GetState.Request()).current_state.label == "inactive"
        count = len(commands)
        activate = ChangeState.Request(transition=Transition(id=Transition.TRANSITION_ACTIVATE))
        assert call(probe, change_state, activate).success  # ... and it drives again
        assert probe.spin_until(lambda: sum(v > 0 for _, v in commands[count:]) >= 5)
    finally:
        bringup.send_signal(signal.SIGINT)
        assert bringup.wait(timeout=30) == 130


def test_end_keep_stops_the_car_keeps_the_graph_up_and_writes_a_new_record(graph):
    folder = graph.tmp_path / "runs"
    folder.mkdir()
    earlier = folder / "mine.json"
    earlier.write_text("{}")
    graph.start_graph(GraphSpec(model="expert", circuit="simple"),
                      lap_monitor_node=["-p", "end:=keep", "-p", f"record_path:={folder}"])
    deadline = time.monotonic() + 300
    while "run over, car stopped" not in graph.log("lap_monitor_node"):
        assert time.monotonic() < deadline and graph.procs["lap_monitor_node"].poll() is None
        time.sleep(0.2)
    time.sleep(0.5)
    assert all(proc.poll() is None for proc in graph.procs.values())  # the graph stays up
    assert "car stopped (zero twist acknowledged)" in graph.log("drive_node")
    assert "follow_line_drive is inactive: not stepping" in graph.log("sim_node")
    [record] = folder.glob("follow_line_expert_simple_clockwise_*.json")
    assert json.loads(record.read_text())["stop_reason"] == "lap_completed"
    assert earlier.read_text() == "{}"
