"""Bring-up without launch_ros: the sim, drive and lap-monitor nodes as child processes.

For ROS 2 installed from PyPI (rclpy, Fast DDS, messages; no launch, launch_ros, ros2cli).
Each node runs in its own process with the parameters drive.launch.py gives it (sim:=builtin:
TwistStamped commands) and the shipped Fast DDS profile (config/fastdds.xml). With
`sim="gz"`, Gazebo Sim's processes (`gz_graph`) take the sim node's place, free-running with
Twist commands, as drive.launch.py's sim:=gz. The graph ends when the lap monitor has written
the run record, on Ctrl-C or SIGTERM, or when a process fails: every process still running
then gets SIGINT (and is killed after SHUTDOWN_S).
Plain Python: rclpy is imported only by the child processes.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from follow_line.errors import FollowLineError, NodeFailedError
from follow_line.files import package_folder, write_json_atomic
from follow_line.interface import CAMERA, ODOM, qos_override, remap_arguments
from follow_line.ros.runner import Signals
from follow_line.ros.simulators import GRAPH_SIMULATORS
from follow_line.world.worlds import get_world

LAP_MONITOR = "lap_monitor_node"  # its exit with 0 after the run ends the graph
RECORD_FILE = "record.json"  # the lap monitor's record, in the run's folder
PROFILES_ENV = "FASTDDS_DEFAULT_PROFILES_FILE"
DOMAIN_ENV = "ROS_DOMAIN_ID"
MAX_DOMAIN_ID = 232
SHUTDOWN_S = 5.0  # a node still running this long after SIGINT is killed
POLL_S = 0.1


@dataclass
class GraphSpec:
    """What the graph drives and how."""

    model: str = "pilotnet"
    circuit: str = "simple"
    direction: str = "clockwise"
    laps: int = 1
    lockstep: bool = True
    real_time_factor: float = 1.0
    timeout_seconds: float = 0.0  # 0: the lap monitor's default (300 s per lap)
    device: str = "auto"
    backend: str = "auto"
    sim: str = "builtin"  # the sim node, or "gz": Gazebo Sim (gz_graph), free-running only
    world: str | None = None  # world/worlds.py (None: the default): circuits, car, networks


def dds_environment(env: dict[str, str] | None = None,
                    shipped_profile: bool = True) -> dict[str, str]:
    """`env` (default: os.environ) with the shipped Fast DDS profile unless one is set.

    Without `shipped_profile`: no profile at all, Fast DDS's defaults (for comparison).
    """
    env = dict(os.environ if env is None else env)
    if shipped_profile:
        env.setdefault(PROFILES_ENV, str(package_folder("config") / "fastdds.xml"))
    else:
        env.pop(PROFILES_ENV, None)
    return env


def qos_overrides(spec: GraphSpec) -> dict[str, dict[str, str]]:
    """The QoS override parameters of each node, as drive.launch.py sets them.

    Lockstep: the drive node's camera subscription reliable. One frame is in flight at a
    time, so reliability costs no latency, and a frame that Fast DDS's defaults send as UDP
    fragments (it does not fit their shared-memory segment) is repaired when a fragment is
    lost instead of waiting for a re-send. The built-in sim: the lap monitor's odometry
    reliable (the sim publishes it reliably), so that the start pose is not lost.
    """
    camera = qos_override(CAMERA.graph, "reliability")
    odom = qos_override(ODOM.graph, "reliability")
    return {"drive_node": {camera: "reliable"} if spec.lockstep else {},
            LAP_MONITOR: {odom: "reliable" if spec.sim == "builtin" else "best_effort"}}


def node_commands(spec: GraphSpec, record_path: Path) -> dict[str, list[str]]:
    """The command line of each node: `python -m`, the remappings, params file, overrides.

    The sim node for the built-in simulator (TwistStamped commands); with Gazebo, the drive
    and lap-monitor nodes only, as drive.launch.py's sim:=gz gives them.
    """
    config = package_folder("config")
    builtin = spec.sim == "builtin"
    common = {"use_sim_time": True, "stamped": builtin, "world": get_world(spec.world).name}
    qos = qos_overrides(spec)
    sim = {"sim_node": ("sim", {"world": common["world"], "circuit": spec.circuit,
                                "direction": spec.direction,
                                "lockstep": spec.lockstep, "stamped": True,
                                "real_time_factor": float(spec.real_time_factor)})}
    params: dict[str, tuple[str, dict[str, object]]] = {
        **(sim if builtin else {}),
        "drive_node": ("drive", {**common, "model": spec.model, "device": spec.device,
                                 "backend": spec.backend, **qos["drive_node"]}),
        LAP_MONITOR: ("lap_monitor", {
            **common, "circuit": spec.circuit, "direction": spec.direction,
            "laps": spec.laps, "driver_name": spec.model, "record_path": str(record_path),
            "end": "shutdown", "timeout_seconds": float(spec.timeout_seconds),
            **qos[LAP_MONITOR]}),
    }
    return {node: [sys.executable, "-m", f"follow_line.ros.{node}", "--ros-args",
                   *remap_arguments(), "--params-file", str(config / f"{config_name}.yaml"),
                   *[arg for k, v in values.items() for arg in ("-p", f"{k}:={_ros(v)}")]]
            for node, (config_name, values) in params.items()}


def graph_processes(spec: GraphSpec, folder: Path
                    ) -> tuple[dict[str, list[str]], tuple[str, ...]]:
    """The command line of each process of the graph, in start order, and the one-shot ones.

    A one-shot process (Gazebo's car spawner) has done its work when it exits with 0. The
    record goes to `folder`/RECORD_FILE; Gazebo's world and car are written into `folder`.
    """
    nodes = node_commands(spec, folder / RECORD_FILE)
    if spec.sim == "builtin":
        return nodes, ()
    from follow_line.ros.gz_graph import ONE_SHOT, gz_commands

    return {**gz_commands(spec, folder), **nodes}, ONE_SHOT


def _ros(value: object) -> str:
    """A parameter value as `-p name:=value` writes it (YAML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # quoted: a path or name is never read as a number
    return repr(value)


def node_exit_message(node: str, code: int, reason: str | None = None) -> str:
    """Why the graph shuts down when `node` ended with `code` (launch and bring-up alike).

    `reason`: the node's own last error line, when its log is not on the screen.
    """
    if code < 0:
        how = f"was killed by {signal.Signals(-code).name}"
    elif code == 0:
        how = "ended"
    else:
        how = f"exited with code {code} ({reason or 'its log above says why'})"
    return f"{node} {how}: shutting down the graph, the car stays stopped"


def check_spec(spec: GraphSpec) -> None:
    """Refuse what the nodes would refuse, before any process starts."""
    import importlib.util

    from follow_line.driving.drivers import check_driver_name
    from follow_line.errors import unknown_name
    from follow_line.ros.gz_graph import check_gz_spec
    from follow_line.world.circuits import DIRECTIONS

    if importlib.util.find_spec("rclpy") is None:
        raise FollowLineError("ROS 2 is not available (rclpy cannot be imported): install the "
                              "wheels with `pip install -r requirements-ros.txt`, or source a "
                              "ROS 2 installation")
    get_world(spec.world).load(spec.circuit)
    if spec.direction not in DIRECTIONS:
        raise unknown_name("direction", spec.direction, DIRECTIONS)
    check_driver_name(spec.model, spec.world)
    if spec.laps < 1:
        raise FollowLineError(f"laps is {spec.laps}; allowed: an integer >= 1")
    if not spec.real_time_factor > 0:
        raise FollowLineError(f"real-time factor is {spec.real_time_factor}; allowed: > 0")
    if spec.sim not in GRAPH_SIMULATORS:
        raise unknown_name("simulator", spec.sim, GRAPH_SIMULATORS)
    if spec.sim == "gz":
        check_gz_spec(spec)


def _terminal() -> int | None:
    """Where the nodes' logs go when shown: our stderr, which is the terminal.

    `logs.quiet_libraries` moved descriptor 2 away from it; None (inherit descriptor 2)
    when `sys.stderr` has no file.
    """
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def run_graph(spec: GraphSpec, record_path: Path | None = None, quiet: bool = False,
              env: dict[str, str] | None = None, shipped_profile: bool = True) -> dict:
    """Run the graph until the lap monitor's record is written (or a signal); the record.

    Returns (and writes to `record_path`, if given) the lap monitor's run record, with
    stop_reason "interrupted" if the run was cut short, plus "node_exit_codes" (of every
    process). A process that ends before the run does (a one-shot one: with a code other
    than 0) ends the graph with a NodeFailedError naming it and why.
    """
    from follow_line.driving.drivers import driver_weights

    check_spec(spec)
    domain_id(env)
    with tempfile.TemporaryDirectory(prefix="follow_line_ros_") as tmp:
        path = Path(tmp) / RECORD_FILE
        commands, one_shot = graph_processes(spec, Path(tmp))
        logs = {name: Path(tmp) / f"{name}.log" for name in commands}
        children: dict[str, subprocess.Popen] = {}
        with Signals() as signals:
            try:
                for name, command in commands.items():
                    out = logs[name].open("w") if quiet else None  # noqa: SIM115 (the child's)
                    children[name] = subprocess.Popen(
                        command, env=dds_environment(env, shipped_profile), stdout=out,
                        stderr=subprocess.STDOUT if quiet else _terminal())
                    if out is not None:
                        out.close()
                failed = _wait(children, signals, one_shot)
            finally:
                codes = _stop(children)
        if failed:
            reason = (_failure_line(logs[failed]) or "it logged no error") if quiet else None
            raise NodeFailedError(node_exit_message(failed, codes[failed], reason))
        record = json.loads(path.read_text()) if path.exists() else {}
        if signals.received or not record:
            record = {**record, "stop_reason": "interrupted"}
        record["node_exit_codes"] = codes
        record.setdefault("weights", driver_weights(spec.model))  # as drive and bench record
    if record_path:
        write_json_atomic(Path(record_path), record)
    return record


def _failure_line(log: Path) -> str | None:
    """Why a node died, from its log (shown when the log is not on the screen).

    The last FATAL (else ERROR) line without its level and time stamp, else its last line
    that is not a log line (a traceback's exception).
    """
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    for level in ("[FATAL]", "[ERROR]"):
        found = [line for line in lines if line.startswith(level)]
        if found:
            return found[-1].split("]: ", 1)[-1]
    other = [line.strip() for line in lines
             if line.strip() and not line.startswith(("[INFO]", "[WARN]", "[DEBUG]"))]
    return other[-1] if other else None


def domain_id(env: dict[str, str] | None = None) -> int:
    """The ROS domain of `env` (default: os.environ; 0 when unset), checked to be valid.

    DDS maps a domain to UDP ports: 0-232 fit in 16 bits (ROS 2's "About Domain ID"; 0-101
    also keep clear of Linux's ephemeral ports). A node refuses any other value only once
    started, so the graph checks it first.
    """
    text = (os.environ if env is None else env).get(DOMAIN_ENV, "").strip() or "0"
    if not (re.fullmatch(r"[0-9]{1,3}", text) and int(text) <= MAX_DOMAIN_ID):
        raise FollowLineError(f"{DOMAIN_ENV} is {text!r}; allowed: an integer from 0 to "
                              f"{MAX_DOMAIN_ID} (0 to 101 is the safe choice on Linux)")
    return int(text)


def _wait(children: dict[str, subprocess.Popen], signals: Signals,
          one_shot: tuple[str, ...]) -> str | None:
    """Wait for the lap monitor to finish, a process to end, or a signal; the one that failed.

    Any process that ends, except the lap monitor after its run and a `one_shot` process
    (both with exit code 0), ends the graph as a failure.
    """
    while signals.received is None:
        for name, child in children.items():
            code = child.poll()
            if code is None or (code == 0 and name in one_shot):
                continue
            return None if code == 0 and name == LAP_MONITOR else name
        time.sleep(POLL_S)
    return None


def _stop(children: dict[str, subprocess.Popen]) -> dict[str, int]:
    """SIGINT to every node still running (all at once, as `ros2 launch` does); exit codes."""
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
    deadline = time.monotonic() + SHUTDOWN_S
    codes = {}
    for name, child in children.items():
        try:
            codes[name] = child.wait(timeout=max(deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            child.kill()
            codes[name] = child.wait()
    return codes
