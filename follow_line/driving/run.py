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
from follow_line.driving.latency import EPS, CommandQueue, Latency
from follow_line.driving.video import VideoRecorder
from follow_line.world.circuits import Circuit
from follow_line.world.lap import LapMonitor, LapRules
from follow_line.world.simulator import Appearance, Simulator, StartOffset
from follow_line.world.worlds import World, get_world


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
    latency: Latency = field(default_factory=Latency)
    world: World = field(default_factory=get_world)  # its car's camera (world/worlds.py)


def run_drive(spec: RunSpec, driver: Driver, video: Path | None = None,
              on_progress: Callable[[float, float], None] | None = None) -> dict:
    """Drive until a stop reason; returns the run record (docs/architecture.md "Outputs").

    `on_progress(completion_pct, sim_time)` is called after every frame period.
    """
    sim = Simulator(spec.circuit, spec.direction, camera=spec.world.camera,
                    appearance=spec.appearance, start=spec.start)
    monitor = LapMonitor(sim.line, spec.circuit.road_width, spec.rules)
    driver.reset()
    monitor.update(sim.time, sim.pose)
    recorder = VideoRecorder(video, sim.camera.rate_hz) if video else None
    loop = Lockstep() if spec.latency.lockstep else Delayed(spec.latency)
    wall0 = time.perf_counter()
    try:
        while monitor.stop_reason is None:
            frame = loop.period(sim, driver, monitor)
            if recorder:
                recorder.write(frame, sim.time, sim.command, monitor.completion_pct)
            if on_progress:
                on_progress(monitor.completion_pct, sim.time)
    finally:
        if recorder:
            recorder.close()
    wall = time.perf_counter() - wall0
    summary = monitor.summary()
    if summary["sim_time_s"] > 0:  # frames the driver took per simulated second
        summary["control_rate_hz"] = round(loop.driven / summary["sim_time_s"], 2)
    return {
        "circuit": spec.circuit.name,
        "circuit_file": spec.circuit.source,
        "world": spec.world.name,
        "direction": spec.direction,
        "driver": driver.name,
        "weights": getattr(driver, "weights", None),  # a network's weights file digest
        "laps": spec.rules.laps,
        "circuit_length_m": round(sim.line.length, 2),
        **summary,
        "latency": spec.latency.label,
        "frames_driven": loop.driven,
        "frames_skipped": loop.skipped,
        "stop_commands": getattr(driver, "faults", 0),  # non-finite outputs replaced by a stop
        "wall_time_s": round(wall, 3),
        "real_time_factor": round(summary["sim_time_s"] / wall, 2) if wall > 0 else None,
        "appearance": spec.appearance.to_dict(),
        "start_offset": vars(spec.start),
        "follow_line_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "trajectory": monitor.trajectory(),
    }


class Lockstep:
    """The simulator waits for the driver: every frame's command acts at once."""

    skipped = 0

    def __init__(self) -> None:
        self.driven = 0

    def period(self, sim: Simulator, driver: Driver, monitor: LapMonitor) -> np.ndarray:
        """Drive one frame period; returns the camera frame."""
        frame = sim.frame()
        t0 = time.perf_counter()
        v, w = driver(frame, sim.time)
        latency_ms = (time.perf_counter() - t0) * 1e3
        sim.step(v, w)
        self.driven += 1
        monitor.update(sim.time, sim.pose, sim.command, latency_ms)
        return frame


class Delayed:
    """The car moves on while the driver thinks (`latency`); see `driving.latency`."""

    def __init__(self, latency: Latency) -> None:
        self.latency = latency
        self.queue = CommandQueue()
        self.command = (0.0, 0.0)

    @property
    def driven(self) -> int:
        """Frames the driver took."""
        return self.queue.driven

    @property
    def skipped(self) -> int:
        """Frames replaced while waiting for a busy driver."""
        return self.queue.skipped

    def period(self, sim: Simulator, driver: Driver, monitor: LapMonitor) -> np.ndarray:
        """One frame period; returns its camera frame.

        The frame arrives (replacing one still waiting: a period's frame is the newest),
        the driver takes it when free, and commands act when their delay has passed; the
        simulator steps between those moments.
        """
        now, end = sim.time, sim.time + sim.camera.period
        frame = sim.frame()
        self.queue.offer(now)
        used_ms = None
        while True:
            # at the period's end the next frame arrives at the same moment: it goes first
            taken = self.queue.start(now) if now < end - EPS else None
            if taken is not None:
                t0 = time.perf_counter()
                command = driver(frame, taken)
                delay = self.latency.delay_s(time.perf_counter() - t0)
                self.queue.computed(now, delay, command)
                used_ms = delay * 1e3
            self.command = self.queue.due(now) or self.command
            if now >= end - EPS:
                break
            later = self.queue.next_event(now, end)
            sim.step(*self.command, dt=later - now)
            now = later
        monitor.update(sim.time, sim.pose, sim.command, used_ms)
        return frame
