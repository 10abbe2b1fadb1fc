"""Bench runs through the ROS 2 graph: the sim, drive and lap-monitor nodes as processes.

`follow-line bench --ros` drives each run of the matrix with `ros.bringup.run_graph` on the
built-in simulator node, in lockstep (the record the in-process bench writes) or free-running
(the driver's real time per frame delays its commands, recorded as latency "measured").
The sim node draws the nominal world from the nominal start only: perturbations, repetitions
(their start jitter) and emulated latencies are refused, as are Gazebo and Ray.

Each bench process drives in its own ROS domain, so that concurrent runs (`--jobs`) never
hear each other: with the caller's domain D (ROS_DOMAIN_ID, default 0), process number s
(0 the main process, 1, 2, ... the workers) drives in (D + 1 + s mod 101) mod 102, which is
never D and lies in 0-101, the ids that Fast DDS's default port mapping keeps clear of
Linux's ephemeral ports.
Discovery stays on this machine unless ROS_AUTOMATIC_DISCOVERY_RANGE says otherwise.
"""

from __future__ import annotations

import os

from follow_line.errors import FollowLineError, unknown_name
from follow_line.world.circuits import load_circuit

LOCKSTEP, FREE_RUNNING = "ros-lockstep", "ros-free-running"
VIAS = {LOCKSTEP: "0", FREE_RUNNING: "measured"}  # how a run is driven -> its latency label
DOMAIN_IDS = 102  # 0-101
DOMAIN_ENV = "ROS_DOMAIN_ID"


def check_simulator(sim: str) -> None:
    """Refuse a simulator other than the built-in one: what it needs, or that it is not built.

    The bench drives the built-in sim node only; Gazebo would need ros_gz and its own runner.
    """
    from follow_line.ros.simulators import missing_simulator_message

    if sim != "builtin":
        raise FollowLineError(missing_simulator_message(sim) or f"--sim {sim}: the bench "
                              "drives the built-in simulator node only (--sim builtin)")


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
                                  "--free-running (the driver's real latency)")
        check_spec(graph_spec(run))
    caller_domain()


def graph_spec(run):
    """The `GraphSpec` of a bench run (a `runner.BenchRun` driven through ROS)."""
    from follow_line.ros.bringup import GraphSpec

    return GraphSpec(model=run.driver, circuit=run.circuit, direction=run.direction,
                     laps=run.laps, lockstep=run.via == LOCKSTEP)


def caller_domain() -> int:
    """The caller's ROS domain (ROS_DOMAIN_ID, 0 if unset), which the runs never use."""
    text = os.environ.get(DOMAIN_ENV, "").strip() or "0"
    try:
        return int(text)
    except ValueError:
        raise FollowLineError(f"ROS_DOMAIN_ID is {text!r}; allowed: an integer 0-232") from None


def run_domain(slot: int) -> int:
    """The ROS domain of bench process number `slot` (see the module's docstring)."""
    return (caller_domain() + 1 + slot % (DOMAIN_IDS - 1)) % DOMAIN_IDS


def drive_through_ros(run, slot: int) -> dict:
    """Drive `run` through the ROS graph in process `slot`'s domain; the lap monitor's record.

    A graph stopped by a signal (Ctrl-C, the bench stopping its workers) raises
    KeyboardInterrupt: its record is not a result. A failing node raises NodeFailedError.
    """
    from follow_line.ros.bringup import run_graph

    domain = run_domain(slot)
    env = {**os.environ, DOMAIN_ENV: str(domain)}
    env.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    record = run_graph(graph_spec(run), quiet=True, env=env)
    if record["stop_reason"] == "interrupted":
        raise KeyboardInterrupt
    record["circuit_file"] = load_circuit(run.circuit).source
    record["ros_domain_id"] = domain
    return record
