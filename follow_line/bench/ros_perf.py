"""Figures of the ROS graph (separate processes, real DDS): lockstep speed, latency, frames lost.

* lockstep: the real-time factor of whole runs (median over repeats), from the run records,
  and the frames the sim sent again (a probe counts /clock ticks whose stamp repeats), with
  the shipped Fast DDS profile and with Fast DDS's defaults;
* free-running at the camera rate: a probe node in this process takes the receive time of
  each /clock tick (published just before the frame with the same stamp) and of the drive
  node's TwistStamped answering it; image -> cmd_vel latency is their difference, and a frame
  is lost when it has no answer (counted from the first frame answered to the end of the
  window). Run with the shipped Fast DDS profile and, for comparison, with Fast DDS defaults.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import replace
from typing import Any

import numpy as np

from follow_line.interface import CLOCK, CMD_VEL
from follow_line.ros.bringup import GraphSpec, run_graph
from follow_line.ros.conversions import NS_PER_S, stamp_to_ns


def profile_name(shipped_profile: bool) -> str:
    """How the figures name a transport setting."""
    return "shipped" if shipped_profile else "Fast DDS defaults"


def lockstep_figures(spec: GraphSpec, repeats: int = 3, shipped_profile: bool = True) -> dict:
    """Real-time factor, lap and re-sent frames of `repeats` lockstep runs through the graph."""
    records, resent = [], []
    for _ in range(repeats):
        probe = Probe()
        try:
            records.append(run_graph(replace(spec, lockstep=True), quiet=True,
                                     shipped_profile=shipped_profile))
        finally:
            probe.close()
        resent.append(probe.repeated_ticks)
    return {"profile": profile_name(shipped_profile),
            "model": spec.model, "circuit": spec.circuit, "direction": spec.direction,
            "repeats": repeats, "resent_frames": resent,
            "real_time_factor_median": statistics.median(r["real_time_factor"]
                                                         for r in records),
            "real_time_factor_min": min(r["real_time_factor"] for r in records),
            "lap_times_s": [r["lap_times_s"] for r in records],
            "stop_reasons": [r["stop_reason"] for r in records]}


class Probe:
    """Receive times of /clock ticks and of the TwistStamped answers, by stamp (ns)."""

    def __init__(self) -> None:
        import rclpy
        from geometry_msgs.msg import TwistStamped
        from rclpy.executors import SingleThreadedExecutor
        from rosgraph_msgs.msg import Clock

        self.context = rclpy.Context()
        rclpy.init(args=[], context=self.context)
        self.node = rclpy.create_node("follow_line_benchmark_probe", context=self.context)
        self.ticks: dict[int, float] = {}
        self.repeated_ticks = 0  # ticks whose stamp came before: frames sent again
        self.answers: dict[int, float] = {}
        self.node.create_subscription(Clock, CLOCK.graph, self._on_clock, 1000)
        self.node.create_subscription(TwistStamped, CMD_VEL.graph, self._on_cmd, 1000)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _on_clock(self, msg: Any) -> None:
        stamp = stamp_to_ns(msg.clock)
        self.repeated_ticks += stamp in self.ticks
        self.ticks.setdefault(stamp, time.perf_counter())

    def _on_cmd(self, msg: Any) -> None:
        if msg.twist.linear.x > 0:  # an answer to a frame, not a stop command
            self.answers.setdefault(stamp_to_ns(msg.header.stamp), time.perf_counter())

    def _spin(self) -> None:
        while not self._stop.is_set():
            self.executor.spin_once(timeout_sec=0.05)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.executor.shutdown()
        self.node.destroy_node()
        self.context.try_shutdown()


def free_running_figures(spec: GraphSpec, seconds: float = 30.0,
                         shipped_profile: bool = True) -> dict:
    """Latency (median, p99, max) and frames lost of a `seconds` free-running run."""
    probe = Probe()
    try:
        record = run_graph(replace(spec, lockstep=False, timeout_seconds=seconds), quiet=True,
                           shipped_profile=shipped_profile)
        time.sleep(0.2)
    finally:
        probe.close()
    if not probe.answers:
        return {"profile": profile_name(shipped_profile), "frames": 0, "driven": 0, "lost": 0,
                "stop_reason": record["stop_reason"]}
    first, end = min(probe.answers), seconds * NS_PER_S
    frames = [t for t in sorted(probe.ticks) if first <= t <= end]
    answered = [t for t in frames if t in probe.answers]
    latency = np.array([probe.answers[t] - probe.ticks[t] for t in answered]) * 1e3
    return {"profile": profile_name(shipped_profile), "model": spec.model,
            "circuit": spec.circuit, "seconds": seconds,
            "frames": len(frames), "driven": len(answered),
            "lost": len(frames) - len(answered),
            "latency_ms_median": round(float(np.median(latency)), 3),
            "latency_ms_p99": round(float(np.percentile(latency, 99)), 3),
            "latency_ms_max": round(float(latency.max()), 3),
            "completion_pct": record.get("completion_pct"),
            "stop_reason": record["stop_reason"]}


def ros_perf(spec: GraphSpec, seconds: float = 30.0, repeats: int = 3,
             compare_defaults: bool = True) -> dict:
    """Every figure: lockstep and free-running with the shipped profile (and with defaults)."""
    from follow_line.bench.perf import machine

    profiles = (True, False) if compare_defaults else (True,)
    return {"machine": machine(),
            "lockstep": [lockstep_figures(spec, repeats, shipped) for shipped in profiles],
            "free_running": [free_running_figures(spec, seconds, shipped)
                             for shipped in profiles]}


def ros_perf_markdown(figures: dict) -> str:
    """The ROS performance table of docs/ros.md."""
    lines = [f"Measured on: {figures['machine']}; sim, drive and lap-monitor nodes as three "
             "processes on rclpy + Fast DDS (PyPI wheels).", "",
             "| figure | value | budget |", "|---|---|---|"]
    for lock in figures["lockstep"]:
        shipped = lock["profile"] == "shipped"
        where = (f"lockstep, {lock['model']}, {lock['circuit']} {lock['direction']}, "
                 f"{lock['profile']}")
        laps = sorted({lap for laps in lock["lap_times_s"] for lap in laps})
        lines += [f"| {where}: real-time factor, median of {lock['repeats']} runs (min) | "
                  f"{lock['real_time_factor_median']:.1f}x ({lock['real_time_factor_min']:.1f}x)"
                  f" | {'>= 10x' if shipped else ''} |",
                  f"| {where}: frames sent again, per run; laps (s) | "
                  f"{', '.join(map(str, lock['resent_frames']))}; "
                  f"{', '.join(f'{lap:.3f}' for lap in laps)} | |"]
    for row in figures["free_running"]:
        if not row["frames"]:
            lines.append(f"| free-running 20 Hz, {row['profile']} | no frame answered | |")
            continue
        where = f"free-running 20 Hz, {row['model']}, {row['seconds']:g} s, {row['profile']}"
        shipped = row["profile"] == "shipped"
        lines += [f"| {where}: image -> cmd_vel latency, median (p99, max) | "
                  f"{row['latency_ms_median']:.2f} ms ({row['latency_ms_p99']:.2f} ms, "
                  f"{row['latency_ms_max']:.2f} ms) | {'p99 <= 5 ms' if shipped else ''} |",
                  f"| {where}: frames lost | {row['lost']} of {row['frames']} | "
                  f"{'0' if shipped else ''} |"]
    return "\n".join(lines) + "\n"
