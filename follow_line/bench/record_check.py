"""The run record's schema: a benchmark trusts a record in runs/ only once it validates.

A record someone edited, a truncated copy or a record of another version can hold values of
the wrong type or non-finite numbers under the right keys; counted as finished, it would
break the reports (and every later bench in that folder). `record_problem` names the first
field that does not fit, and the bench then drives that run again.
"""

from __future__ import annotations

import math
from typing import Any

from follow_line.world.circuits import DIRECTIONS
from follow_line.world.lap import STOP_REASONS

TEXT_FIELDS = ("driver", "circuit")
TRAJECTORY_COLUMNS = ("t", "x", "y", "v", "w", "progress", "cte")
#: Numbers the reports read, if present: (low, high), None for no bound; None values allowed.
NUMBER_FIELDS = {"distance_m": (0.0, None), "avg_speed_mps": (0.0, None),
                 "cte_mean_m": (0.0, None), "cte_rms_m": (0.0, None), "cte_max_m": (0.0, None),
                 "smoothness_v": (0.0, None), "smoothness_w": (0.0, None),
                 "control_rate_hz": (0.0, None), "latency_ms_mean": (0.0, None),
                 "real_time_factor": (0.0, None), "sim_time_s": (0.0, None)}


def _number(value: object) -> bool:
    """A finite int or float (not a bool, not text)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _range_text(low: float | None, high: float | None) -> str:
    if high is None:
        return f"a finite number >= {low:g}"
    return f"a number in [{low:g}, {high:g}]"


def _in_range(value: Any, low: float | None, high: float | None) -> bool:
    return (_number(value) and (low is None or value >= low)
            and (high is None or value <= high))


def record_problem(record: object) -> str | None:
    """What makes `record` unusable as a finished run (one phrase), or None if it is."""
    if not isinstance(record, dict):
        return f"a record is a JSON object, not {type(record).__name__}"
    for name in TEXT_FIELDS:
        if not isinstance(record.get(name), str):
            return f"{name} is {record.get(name)!r} (allowed: text)"
    if record.get("direction") not in DIRECTIONS:
        return f"direction is {record.get('direction')!r} (allowed: {', '.join(DIRECTIONS)})"
    if record.get("stop_reason") not in STOP_REASONS:
        return (f"stop_reason is {record.get('stop_reason')!r} "
                f"(allowed: {', '.join(STOP_REASONS)})")
    if not _in_range(record.get("completion_pct"), 0.0, 100.0):
        return (f"completion_pct is {record.get('completion_pct')!r} "
                f"(allowed: {_range_text(0.0, 100.0)})")
    laps = record.get("lap_times_s")
    if not isinstance(laps, list) or not all(_in_range(t, 0.0, None) and t > 0 for t in laps):
        return f"lap_times_s is {laps!r} (allowed: a list of positive finite numbers)"
    for name, (low, high) in NUMBER_FIELDS.items():
        value = record.get(name)
        if value is not None and not _in_range(value, low, high):
            return f"{name} is {value!r} (allowed: {_range_text(low, high)}, or null)"
    return _trajectory_problem(record.get("trajectory"))


def _trajectory_problem(trajectory: object) -> str | None:
    if not isinstance(trajectory, dict):
        return f"trajectory is {type(trajectory).__name__} (allowed: columns {TRAJECTORY_COLUMNS})"
    lengths = set()
    for name in TRAJECTORY_COLUMNS:
        column = trajectory.get(name)
        if not isinstance(column, list) or not all(_number(x) for x in column):
            return f"trajectory column {name!r} is not a list of finite numbers"
        lengths.add(len(column))
    if len(lengths) > 1:
        return f"trajectory columns have different lengths {sorted(lengths)}"
    return None
