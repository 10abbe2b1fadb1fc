"""`follow-line ros` and `ros-perf`: runs and figures through the ROS 2 graph (needs rclpy)."""

from __future__ import annotations

import argparse
import json

from follow_line.cli.options import (
    AddCommand,
    add,
    check_writable,
    positive,
    positive_int,
)
from follow_line.ros.simulators import GRAPH_SIMULATORS


def cmd_ros(args: argparse.Namespace) -> int:
    """Drive one run through the ROS 2 graph (sim or Gazebo, drive and lap-monitor nodes)."""
    from follow_line.ros.bringup import GraphSpec, run_graph

    spec = GraphSpec(model=args.model, circuit=args.circuit, direction=args.direction,
                     laps=args.laps, lockstep=not args.free_running and args.sim == "builtin",
                     real_time_factor=args.real_time_factor, timeout_seconds=args.timeout or 0.0,
                     device=args.device, backend=args.backend, sim=args.sim, world=args.world)
    check_writable(args.json)
    record = run_graph(spec, record_path=args.json, quiet=args.quiet)
    print(json.dumps({k: v for k, v in record.items() if k != "trajectory"}, indent=2))
    if record["stop_reason"] == "interrupted":
        return 130
    return 0 if record["stop_reason"] == "lap_completed" else 1


def add_ros(command: AddCommand) -> None:
    """Add `ros`."""
    p = command("ros", help="drive one circuit through the ROS 2 graph (sim, drive and "
                "lap-monitor nodes as processes; needs rclpy, not launch)")
    add(p, "model", "backend", "device", "world", "circuit", "direction", "laps")
    p.add_argument("--free-running", action="store_true",
                   help="simulate in real time (x --real-time-factor) instead of in lockstep "
                        "with the driver")
    p.add_argument("--sim", default="builtin", choices=GRAPH_SIMULATORS,
                   help="the package's simulator node (default), or Gazebo Sim through ros_gz "
                        "(a headless server, free-running on its own clock)")
    p.add_argument("--real-time-factor", type=positive, default=1.0,
                   help="free-running: simulated seconds per wall-clock second")
    add(p, "timeout")
    add(p, "json", help="write the run record to this file")
    add(p, "quiet", help="hide the nodes' logs")
    p.set_defaults(func=cmd_ros)


def cmd_ros_perf(args: argparse.Namespace) -> int:
    """Lockstep speed, latency and frames lost through the ROS 2 graph."""
    from follow_line.bench.ros_perf import ros_perf, ros_perf_markdown
    from follow_line.files import write_json_atomic
    from follow_line.ros.bringup import GraphSpec, check_spec

    spec = GraphSpec(model=args.model, circuit=args.circuit, backend=args.backend)
    check_spec(spec)
    figures = ros_perf(spec, seconds=args.seconds, repeats=args.repeats,
                       compare_defaults=not args.no_defaults)
    if args.json:
        write_json_atomic(args.json, figures)
    print(ros_perf_markdown(figures))
    return 0


def add_ros_perf(command: AddCommand) -> None:
    """Add `ros-perf`."""
    p = command("ros-perf", help="latency, frames lost and lockstep speed through the "
                "ROS 2 graph (needs rclpy)")
    add(p, "model", "backend")
    add(p, "circuit", default="monaco")
    p.add_argument("--seconds", type=positive, default=30.0, help="free-running window (sim s)")
    p.add_argument("--repeats", type=positive_int, default=3, help="lockstep runs")
    p.add_argument("--no-defaults", action="store_true",
                   help="skip the comparison run with Fast DDS's default transports")
    add(p, "json")
    p.set_defaults(func=cmd_ros_perf)


def register(command: AddCommand) -> None:
    """Add `ros` and `ros-perf`."""
    add_ros(command)
    add_ros_perf(command)
