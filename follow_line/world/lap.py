"""Lap monitor: progress along the reference line, lap times, stop reasons and run metrics.

Time is simulated time. Progress is the arc length driven along the reference line, in the
driving direction, counted from where the car was first seen: that point is the finish
gate, and lap k is complete when progress passes k line lengths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from follow_line.world.circuits.geometry import ReferenceLine
from follow_line.world.kinematics import Pose

STOP_REASONS = ("lap_completed", "off_track", "stuck", "timeout")


@dataclass(frozen=True)
class LapRules:
    """When a run ends."""

    laps: int = 1
    off_track_margin: float = 0.0  # metres beyond the road edge the car's centre may go
    stuck_seconds: float = 5.0  # no new progress for this long: stuck
    timeout_seconds: float | None = None  # default: 300 s per lap

    def timeout_for(self, laps: int) -> float:
        """The simulated-time limit of a run."""
        return self.timeout_seconds if self.timeout_seconds is not None else 300.0 * laps


@dataclass
class Sample:
    """One monitored instant."""

    t: float
    x: float
    y: float
    v: float
    w: float
    progress: float
    cte: float


@dataclass
class LapMonitor:
    """Follows a car along `line`; call `update` with each new pose, read `summary()`."""

    line: ReferenceLine
    road_width: float
    rules: LapRules = field(default_factory=LapRules)

    def __post_init__(self) -> None:
        self.samples: list[Sample] = []
        self.lap_times: list[float] = []
        self.stop_reason: str | None = None
        self.latencies_ms: list[float] = []
        self._index: int | None = None
        self._best = 0.0
        self._best_time = 0.0
        self._lap_start = 0.0
        self._s_prev = 0.0
        self._distance = 0.0

    @property
    def progress(self) -> float:
        """Arc length driven so far, metres (negative when driven backwards)."""
        return self.samples[-1].progress if self.samples else 0.0

    @property
    def completion_pct(self) -> float:
        """Share of the requested laps driven, 0-100."""
        total = self.rules.laps * self.line.length
        return float(min(max(self._best / total, 0.0), 1.0) * 100.0)

    def update(self, t: float, pose: Pose, command: tuple[float, float] = (0.0, 0.0),
               latency_ms: float | None = None) -> str | None:
        """Take the pose at simulated time `t`; returns the stop reason once the run ends."""
        if self.stop_reason is not None:
            return self.stop_reason
        proj = self.line.project(pose.x, pose.y, self._index)
        self._index = proj.index
        if self.samples:
            prev = self.samples[-1]
            ds = (proj.s - self._s_prev + self.line.length / 2) % self.line.length
            progress = prev.progress + ds - self.line.length / 2
            self._distance += math.hypot(pose.x - prev.x, pose.y - prev.y)
        else:
            progress = 0.0
            self._lap_start = t
            self._best_time = t
        self._s_prev = proj.s
        sample = Sample(t, pose.x, pose.y, command[0], command[1], progress, proj.cte)
        if latency_ms is not None:
            self.latencies_ms.append(latency_ms)
        self._count_laps(sample)
        self.samples.append(sample)
        if progress > self._best + 0.05:
            self._best, self._best_time = progress, t
        self.stop_reason = self._stop(sample)
        return self.stop_reason

    def _count_laps(self, sample: Sample) -> None:
        length = self.line.length
        while (len(self.lap_times) < self.rules.laps
               and sample.progress >= (len(self.lap_times) + 1) * length and self.samples):
            prev = self.samples[-1]
            gate = (len(self.lap_times) + 1) * length
            frac = (gate - prev.progress) / max(sample.progress - prev.progress, 1e-12)
            t_cross = prev.t + min(max(frac, 0.0), 1.0) * (sample.t - prev.t)
            self.lap_times.append(t_cross - self._lap_start)
            self._lap_start = t_cross

    def _stop(self, sample: Sample) -> str | None:
        if len(self.lap_times) >= self.rules.laps:
            return "lap_completed"
        if abs(sample.cte) > self.road_width / 2 + self.rules.off_track_margin:
            return "off_track"
        if sample.t - self._best_time > self.rules.stuck_seconds:
            return "stuck"
        if sample.t - self.samples[0].t >= self.rules.timeout_for(self.rules.laps):
            return "timeout"
        return None

    def trajectory(self) -> dict[str, list[float]]:
        """The monitored samples as JSON-ready columns (t, x, y, v, w, progress, cte)."""
        columns = ("t", "x", "y", "v", "w", "progress", "cte")
        return {c: [round(getattr(x, c), 3) for x in self.samples] for c in columns}

    def summary(self) -> dict:
        """The run's metrics (docs/architecture.md "Lap monitor"), JSON-ready."""
        s = self.samples
        elapsed = s[-1].t - s[0].t if s else 0.0
        cte = np.abs([x.cte for x in s]) if s else np.zeros(1)
        v = np.array([x.v for x in s]) if s else np.zeros(1)
        w = np.array([x.w for x in s]) if s else np.zeros(1)
        lat = np.array(self.latencies_ms) if self.latencies_ms else None
        return {
            "completion_pct": round(self.completion_pct, 2),
            "laps_completed": len(self.lap_times),
            "lap_times_s": [round(x, 3) for x in self.lap_times],
            "stop_reason": self.stop_reason,
            "sim_time_s": round(elapsed, 3),
            "distance_m": round(self._distance, 2),
            "avg_speed_mps": round(self._distance / elapsed, 3) if elapsed > 0 else 0.0,
            "cte_mean_m": round(float(cte.mean()), 4),
            "cte_rms_m": round(float(np.sqrt(np.mean(cte**2))), 4),
            "cte_max_m": round(float(cte.max()), 4),
            "smoothness_v": round(float(np.mean(np.abs(np.diff(v)))), 4) if len(v) > 1 else 0.0,
            "smoothness_w": round(float(np.mean(np.abs(np.diff(w)))), 4) if len(w) > 1 else 0.0,
            "control_rate_hz": round((len(s) - 1) / elapsed, 2) if elapsed > 0 else 0.0,
            "latency_ms_mean": round(float(lat.mean()), 4) if lat is not None else None,
            "latency_ms_p99": round(float(np.percentile(lat, 99)), 4) if lat is not None else None,
        }
