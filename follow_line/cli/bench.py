"""`follow-line bench` and `perf`: the benchmark matrix, and the performance budgets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from follow_line.bench.perturb import PERTURBATIONS
from follow_line.cli.options import AddCommand, add, csv, jobs, latencies, positive_int
from follow_line.errors import FollowLineError
from follow_line.ros.simulators import GRAPH_SIMULATORS


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the benchmark matrix and write results.json/.csv/.md."""
    from follow_line.bench.perturb import expand_perturbations
    from follow_line.bench.ros_runs import VIAS, check_simulator, via_of
    from follow_line.bench.runner import IN_PROCESS, default_jobs, plan, run_bench
    from follow_line.world.circuits import DIRECTIONS
    from follow_line.world.worlds import get_world

    if args.out.exists() and not args.out.is_dir():
        raise FollowLineError(f"--out {args.out} is a file; give a results folder")
    if not args.ros and (args.free_running or args.sim):
        raise FollowLineError(f"{'--free-running' if args.free_running else '--sim'} drives "
                              "through the ROS graph: add --ros")
    if args.ros:
        check_simulator(args.sim or "builtin")
    via = via_of(args.sim or "builtin", args.free_running) if args.ros else IN_PROCESS
    runs = plan(args.models, args.circuits or get_world(args.world).circuits(),
                args.directions or list(DIRECTIONS), args.repeat, args.laps,
                expand_perturbations(args.perturb), args.latency or [VIAS.get(via, "0")], via,
                args.world)
    if args.address and args.executor != "ray":
        raise FollowLineError("--address is the Ray cluster of --executor ray")
    records = run_bench(runs, args.out, jobs=args.jobs or default_jobs(),
                        progress=not args.quiet, executor=args.executor, address=args.address)
    print((args.out / "results.md").read_text())
    failed = [r for r in records if "error" in r]
    for r in failed:
        print(f"run failed: {r['driver']} {r['circuit']} {r['direction']} "
              f"{r['perturbation']} latency {r['latency']}: {r['error']}",
              file=sys.stderr)
    return 1 if failed else 0


def add_bench(command: AddCommand) -> None:
    """Add `bench`."""
    p = command("bench", help="drivers x circuits x directions, tables in --out")
    p.add_argument("--models", type=csv, default=["pilotnet"],
                   help="comma-separated drivers: expert, shipped networks, model files "
                        "(default: pilotnet)")
    add(p, "world", "circuits", "directions")
    p.add_argument("--repeat", type=positive_int, default=1,
                   help="repetitions per run; repetition k > 0 jitters the start (seed k)")
    add(p, "laps")
    add(p, "perturb", type=csv, default=["clean"],
        help="comma-separated perturbations, or 'all': "
             + ", ".join(f"{p.name} ({p.description})"
                         for p in PERTURBATIONS.values()).replace("%", "%%"))
    p.add_argument("--latency", type=latencies,
                   help="comma-separated inference latencies: 0 (lockstep, the default), "
                        "milliseconds, 'measured' or 'measured:FACTOR'; several make a "
                        "latency sweep (latency.md, plots/latency.png)")
    p.add_argument("--ros", action="store_true",
                   help="drive each run through the ROS 2 graph (sim, drive and lap-monitor "
                        "nodes as processes, concurrent runs in different ROS domains; needs "
                        "rclpy), in lockstep: the in-process bench's records; clean runs only")
    p.add_argument("--free-running", action="store_true",
                   help="with --ros: simulate in real time instead of in lockstep, so the "
                        "driver's real latency counts (recorded as latency 'measured')")
    p.add_argument("--sim", choices=GRAPH_SIMULATORS,
                   help="with --ros: the simulator (default builtin); gz: each run in its "
                        "own headless Gazebo Sim server (ros_gz), free-running")
    p.add_argument("--jobs", type=jobs, help="parallel processes (default and most: cores); "
                   "with --executor ray, the CPUs of the local Ray instance")
    p.add_argument("--executor", default="local", choices=("local", "ray"),
                   help="local worker processes (default), or Ray tasks (requirements-ray.txt)")
    p.add_argument("--address", help="with --executor ray: an existing cluster ('auto', or "
                   "ray://host:port); default: a new local Ray instance")
    add(p, "out", required=True, help="results folder (resumable)")
    add(p, "quiet")
    p.set_defaults(func=cmd_bench)


def cmd_perf(args: argparse.Namespace) -> int:
    """Measure the figures of docs/architecture.md "Performance budgets" on this machine."""
    from follow_line.bench.perf import perf_markdown, run_perf
    from follow_line.driving.nets import known_networks
    from follow_line.files import write_json_atomic

    if args.networks is None:
        args.networks = known_networks()
    onnx_files = sorted(args.onnx.glob("*.onnx")) if args.onnx else []
    if args.onnx and not onnx_files:
        raise FollowLineError(f"--onnx {args.onnx}: no .onnx model there "
                              "(follow-line export writes them)")
    figures = run_perf(args.circuits, args.networks, onnx_files)
    if args.json:
        write_json_atomic(args.json, figures)
    print(perf_markdown(figures))
    return 0


def add_perf(command: AddCommand) -> None:
    """Add `perf`."""
    p = command("perf", help="render time and closed-loop real-time factor")
    add(p, "circuits", default=["simple", "monaco", "nurburgring"],
        help="comma-separated (default: simple, monaco, nurburgring)")
    p.add_argument("--networks", type=csv, default=None,
                   help="networks to time (default: all registry networks, pilotnet first)")
    p.add_argument("--onnx", type=Path, metavar="DIR",
                   help="also time every NAME.onnx model in DIR (exported, quantised) on ONNX "
                        "Runtime")
    add(p, "json")
    p.set_defaults(func=cmd_perf)


def register(command: AddCommand) -> None:
    """Add `bench` and `perf`."""
    add_bench(command)
    add_perf(command)
