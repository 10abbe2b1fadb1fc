"""Inference latency as a robot lives it: the car keeps moving while the network thinks.

`0` is lockstep (the simulator waits for every command). A latency of N ms makes the
command computed from the frame taken at t act from t + N ms; the previous command holds
meanwhile. `measured` uses the driver's own wall-clock time per frame, times a factor
(`measured:4` emulates hardware four times slower). While the driver is busy, arriving
frames wait in a queue of depth 1 (as a ROS subscriber's): a newer frame replaces the
waiting one, which is skipped, and the driver takes the waiting frame as soon as it is free.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from follow_line.errors import FollowLineError

FORMS = "0 (lockstep), milliseconds (e.g. 100), 'measured' or 'measured:FACTOR' (e.g. measured:4)"
EPS = 1e-9


@dataclass(frozen=True)
class Latency:
    """A fixed delay in ms, or the measured one times `scale` (`ms` None)."""

    ms: float | None = 0.0
    scale: float = 1.0

    @property
    def lockstep(self) -> bool:
        """Whether commands act at once (the simulator waits for the driver)."""
        return self.ms == 0.0

    @property
    def label(self) -> str:
        """The text the user gave, normalised: '0', '100', 'measured', 'measured:4'."""
        if self.ms is not None:
            return f"{self.ms:g}"
        return "measured" if self.scale == 1.0 else f"measured:{self.scale:g}"

    def delay_s(self, wall_s: float) -> float:
        """The delay of a command whose computation took `wall_s` seconds of wall time."""
        return self.ms / 1e3 if self.ms is not None else wall_s * self.scale


def parse_latency(text: str) -> Latency:
    """'0', '100', '12.5', 'measured' or 'measured:4' -> Latency; anything else is an error."""
    value = str(text).strip()
    name, _, factor = value.partition(":")
    try:
        if name == "measured":
            scale = float(factor) if factor else 1.0
            if math.isfinite(scale) and scale > 0:
                return Latency(None, scale)
        elif not factor:
            ms = float(value)
            if math.isfinite(ms) and ms >= 0:
                return Latency(ms)
    except ValueError:
        pass
    raise FollowLineError(f"latency {text!r} is not valid; give {FORMS}")


class CommandQueue:
    """Which frame the driver takes when, and which command acts when (simulated seconds).

    `offer(t)` says a frame arrived at t; `start(now)` returns the frame time the driver
    should start on at `now`, if it is free and a frame waits; `computed(now, delay, cmd)`
    schedules `cmd` at now + delay and keeps the driver busy until then; `due(now)` pops
    the commands whose time has come. Counts frames driven and skipped.
    """

    def __init__(self) -> None:
        self.free_at = 0.0
        self.waiting: float | None = None
        self.pending: deque[tuple[float, tuple[float, float]]] = deque()
        self.driven = self.skipped = 0

    def offer(self, t: float) -> None:
        """A frame taken at `t` arrives; it replaces (skips) a frame still waiting."""
        if self.waiting is not None:
            self.skipped += 1
        self.waiting = t

    def start(self, now: float) -> float | None:
        """The waiting frame's time if the driver is free at `now` (it is taken), else None."""
        if self.waiting is None or self.free_at > now + EPS:
            return None
        taken, self.waiting = self.waiting, None
        self.driven += 1
        return taken

    def computed(self, now: float, delay: float, command: tuple[float, float]) -> None:
        """The driver, started at `now`, delivers `command` after `delay` seconds."""
        self.free_at = now + delay
        self.pending.append((self.free_at, command))

    def due(self, now: float) -> tuple[float, float] | None:
        """The newest command whose time has come by `now` (None if none)."""
        command = None
        while self.pending and self.pending[0][0] <= now + EPS:
            command = self.pending.popleft()[1]
        return command

    def next_event(self, now: float, end: float) -> float:
        """The next moment after `now`, at most `end`, when something happens.

        A command acts, or the driver frees up with a frame waiting.
        """
        times = [end]
        if self.pending:
            times.append(self.pending[0][0])
        if self.waiting is not None and self.free_at > now + EPS:
            times.append(self.free_at)
        return max(now, min(times))
