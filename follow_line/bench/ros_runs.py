"""Bench runs through the ROS 2 graph: the sim, drive and lap-monitor nodes as processes.

`follow-line bench --ros` drives each run of the matrix with `ros.bringup.run_graph` on the
built-in simulator node, in lockstep (the record the in-process bench writes) or free-running
(the driver's real time per frame delays its commands, recorded as latency "measured"); with
`--sim gz`, in Gazebo Sim (`ros.gz_graph`: one headless server per run, the car created at
the circuit's start gate), free-running on Gazebo's clock, also latency "measured".
Either simulator draws the nominal world from the nominal start only: perturbations,
repetitions (their start jitter) and emulated latencies are refused, as is Ray.

Each bench process drives in its own ROS domain, so that concurrent runs (`--jobs`) never
hear each other: with the caller's domain D (ROS_DOMAIN_ID, default 0), process number s
(0 the main process, 1, 2, ... the workers) drives in (D + 1 + s mod 101) mod 102, which is
never D and lies in 0-101, the ids that Fast DDS's default port mapping keeps clear of
Linux's ephemeral ports. A run in Gazebo also has a Gazebo Transport partition
(GZ_PARTITION) of its own, named after the run and its process, so that the servers of
concurrent runs never hear each other.
Discovery stays on this machine unless ROS_AUTOMATIC_DISCOVERY_RANGE says otherwise.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from follow_line.errors import FollowLineError, unknown_name

if TYPE_CHECKING:
    from follow_line.bench.runner import BenchRun
    from follow_line.ros.bringup import GraphSpec

LOCKSTEP, FREE_RUNNING, GAZEBO = "ros-lockstep", "ros-free-running", "ros-gazebo-sim"
#: How a run is driven -> its latency label.
VIAS = {LOCKSTEP: "0", FREE_RUNNING: "measured", GAZEBO: "measured"}
DOMAIN_IDS = 102  # 0-101
DOMAIN_ENV = "ROS_DOMAIN_ID"


def check_simulator(sim: str) -> None:
    """Refuse Gazebo Sim (`sim` "gz") without its executables: one line naming what to install."""
    from follow_line.ros.gz_graph import executables

    if sim == "gz":
        executables()


def via_of(sim: str, free_running: bool) -> str:
    """How `bench --ros` drives its runs: Gazebo Sim (always free), or the sim node's way."""
    if sim == "gz":
        return GAZEBO
    return FREE_RUNNING if free_running else LOCKSTEP


def check_ros_runs(runs: list) -> None:
    """Refuse, before anything runs, what the ROS graph cannot drive (one line each)."""
    from follow_line.ros.bringup import check_spec

    for run in runs:
        if run.via not in VIAS:
            raise unknown_name("way through ROS", run.via, list(VIAS))
        if run.perturbation != "clean":
            raise FollowLineError(f"perturbation {run.perturbation!r} cannot be driven through "
                                  "the ROS graph (the sim node draws the nominal world); "
                                  "allowed with --ros: clean")
        if run.repeat:
            raise FollowLineError("--repeat > 1 jitters the start, which the ROS sim node "
                                  "cannot; allowed with --ros: --repeat 1")
        if run.latency != VIAS[run.via]:
            raise FollowLineError(f"latency {run.latency!r} cannot be emulated through the ROS "
                                  "graph; allowed with --ros: 0 (lockstep), and measured with "
                                  "--free-running or --sim gz (the driver's real latency)")
        check_spec(graph_spec(run))
    caller_domain()


def graph_spec(run: BenchRun) -> GraphSpec:
    """The `GraphSpec` of a bench run (a `runner.BenchRun` driven through ROS)."""
    from follow_line.ros.bringup import GraphSpec

    return GraphSpec(model=run.driver, circuit=run.circuit, direction=run.direction,
                     laps=run.laps, lockstep=run.via == LOCKSTEP,
                     sim="gz" if run.via == GAZEBO else "builtin", world=run.world)


def caller_domain() -> int:
    """The caller's ROS domain (ROS_DOMAIN_ID, 0 if unset, checked), which the runs never use."""
    from follow_line.ros.bringup import domain_id

    return domain_id()


def run_domain(slot: int) -> int:
    """The ROS domain of bench process number `slot` (see the module's docstring)."""
    return (caller_domain() + 1 + slot % (DOMAIN_IDS - 1)) % DOMAIN_IDS


def run_environment(run: BenchRun, slot: int) -> dict[str, str]:
    """The environment of `run`'s processes: process `slot`'s domain, a Gazebo partition.

    The partition (Gazebo runs only) is `follow_line_<run key>_<pid>`, letters, digits and
    underscores: its own for every run of every bench on this machine.
    """
    from follow_line.ros.gz_graph import PARTITION_ENV

    env = {**os.environ, DOMAIN_ENV: str(run_domain(slot))}
    env.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    if run.via == GAZEBO:
        env[PARTITION_ENV] = re.sub(r"[^A-Za-z0-9_]", "_",
                                    f"follow_line_{run.key}_{os.getpid()}")
    return env


def drive_through_ros(run: BenchRun, slot: int) -> dict:
    """Drive `run` through the ROS graph in process `slot`'s domain; the lap monitor's record.

    A graph stopped by a signal (Ctrl-C, the bench stopping its workers) raises
    KeyboardInterrupt: its record is not a result. A failing node raises NodeFailedError.
    """
    from follow_line.ros.bringup import run_graph

    env = run_environment(run, slot)
    record = run_graph(graph_spec(run), quiet=True, env=env)
    if record["stop_reason"] == "interrupted":
        raise KeyboardInterrupt
    record["circuit_file"] = run.load_circuit().source
    record["ros_domain_id"] = int(env[DOMAIN_ENV])
    return record
