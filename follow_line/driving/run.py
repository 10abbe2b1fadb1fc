"""The closed loop without ROS: simulator -> camera frame -> driver -> (v, w) -> lap monitor."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

import numpy as np

from follow_line import __version__
from follow_line.driving.video import VideoRecorder
from follow_line.world.circuits import Circuit
from follow_line.world.lap import LapMonitor, LapRules
from follow_line.world.simulator import Appearance, Simulator, StartOffset


class Driver(Protocol):
    """Anything that turns camera frames into velocity commands."""

    name: str

    def reset(self) -> None:
        """Forget everything about the previous run."""

    def __call__(self, image: np.ndarray, t: float) -> tuple[float, float]:
        """(v, w) for the RGB frame taken at simulated time `t`."""


@dataclass
class RunSpec:
    """What to drive and how."""

    circuit: Circuit
    direction: str
    rules: LapRules = field(default_factory=LapRules)
    appearance: Appearance = field(default_factory=Appearance)
    start: StartOffset = field(default_factory=StartOffset)


def run_drive(spec: RunSpec, driver: Driver, video: Path | None = None,
              on_progress: Callable[[float, float], None] | None = None) -> dict:
    """Drive until a stop reason; returns the run record (DESIGN.md "Outputs").

    `on_progress(completion_pct, sim_time)` is called after every frame.
    """
    sim = Simulator(spec.circuit, spec.direction, appearance=spec.appearance, start=spec.start)
    monitor = LapMonitor(sim.line, spec.circuit.road_width, spec.rules)
    driver.reset()
    monitor.update(sim.time, sim.pose)
    recorder = VideoRecorder(video, sim.camera.rate_hz) if video else None
    wall0 = time.perf_counter()
    try:
        while monitor.stop_reason is None:
            frame = sim.frame()
            t0 = time.perf_counter()
            v, w = driver(frame, sim.time)
            latency_ms = (time.perf_counter() - t0) * 1e3
            sim.step(v, w)
            monitor.update(sim.time, sim.pose, sim.command, latency_ms)
            if recorder:
                recorder.write(frame, sim.time, sim.command, monitor.completion_pct)
            if on_progress:
                on_progress(monitor.completion_pct, sim.time)
    finally:
        if recorder:
            recorder.close()
    wall = time.perf_counter() - wall0
    summary = monitor.summary()
    return {
        "circuit": spec.circuit.name,
        "circuit_file": spec.circuit.source,
        "direction": spec.direction,
        "driver": driver.name,
        "laps": spec.rules.laps,
        "circuit_length_m": round(sim.line.length, 2),
        **summary,
        "stop_commands": getattr(driver, "faults", 0),  # non-finite outputs replaced by a stop
        "wall_time_s": round(wall, 3),
        "real_time_factor": round(summary["sim_time_s"] / wall, 2) if wall > 0 else None,
        "appearance": spec.appearance.to_dict(),
        "start_offset": vars(spec.start),
        "follow_line_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "trajectory": monitor.trajectory(),
    }
