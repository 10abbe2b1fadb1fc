"""Performance figures (the budgets of DESIGN.md): medians over many repetitions, one core."""

from __future__ import annotations

import platform
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from follow_line.circuits import load_circuit
from follow_line.drive import RunSpec, run_drive
from follow_line.expert import ExpertDriver
from follow_line.sim import Simulator


def machine() -> str:
    """CPU model and core count of this machine."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    import os

    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def time_render(circuit: str = "monaco", frames: int = 1000) -> dict:
    """Median and p99 milliseconds to render one 640x480 frame along the line."""
    sim = Simulator(load_circuit(circuit), "clockwise")
    step = sim.line.length / frames
    poses = []
    for i in range(frames):
        x, y, th = sim.line.pose_at(i * step)
        poses.append(sim.pose.__class__(x, y, th))
    for pose in poses[:20]:
        sim.renderer.render(pose)
    times = []
    for pose in poses:
        t0 = time.perf_counter()
        sim.renderer.render(pose)
        times.append((time.perf_counter() - t0) * 1e3)
    return {"render_ms_median": statistics.median(times),
            "render_ms_p99": float(np.percentile(times, 99)), "frames": frames}


def closed_loop(circuits: list[str], direction: str = "clockwise") -> list[dict]:
    """Real-time factor of full laps with the explicit driver (render + driver + monitor)."""
    out = []
    for name in circuits:
        record = run_drive(RunSpec(load_circuit(name), direction), ExpertDriver())
        out.append({"circuit": name, "direction": direction,
                    "sim_time_s": record["sim_time_s"], "wall_time_s": record["wall_time_s"],
                    "real_time_factor": record["real_time_factor"],
                    "stop_reason": record["stop_reason"]})
    return out


def run_perf(circuits: list[str]) -> dict:
    """All figures, single-threaded OpenCV."""
    cv2.setNumThreads(1)
    return {"machine": machine(), "render": time_render(circuits[0]),
            "closed_loop_expert": closed_loop(circuits)}


def perf_markdown(figures: dict) -> str:
    """The README's performance section body."""
    r = figures["render"]
    lines = [f"Measured on: {figures['machine']} (OpenCV limited to one thread).", "",
             "| figure | value | budget |", "|---|---|---|",
             f"| render one 640x480 frame, median (p99) | {r['render_ms_median']:.3f} ms "
             f"({r['render_ms_p99']:.3f} ms) | <= 2 ms |"]
    for row in figures["closed_loop_expert"]:
        lines.append(f"| closed loop, explicit driver, {row['circuit']} {row['direction']} "
                     f"({row['sim_time_s']:.1f} s simulated in {row['wall_time_s']:.2f} s) | "
                     f"{row['real_time_factor']:.1f}x real time | >= 50x |")
    return "\n".join(lines) + "\n"
