import math

import numpy as np
import pytest

from follow_line.world.circuits.geometry import ReferenceLine
from follow_line.world.kinematics import Pose
from follow_line.world.lap import LapMonitor, LapRules

RADIUS = 20.0
LENGTH = 2 * math.pi * RADIUS


def circle_line(clockwise=False):
    a = np.linspace(0, 2 * np.pi, 400, endpoint=False) * (-1 if clockwise else 1)
    return ReferenceLine(np.column_stack([RADIUS * np.cos(a), RADIUS * np.sin(a)]))


def drive(monitor, line, speed, start_s=0.0, lateral=0.0, dt=0.05, t_max=1000.0):
    """Feed poses moving along `line` at `speed` until the monitor stops."""
    t = 0.0
    s = start_s
    while monitor.update(t, pose_on(line, s, lateral), (speed, 0.0)) is None and t < t_max:
        t += dt
        s += speed * dt
    return t


def pose_on(line, s, lateral=0.0):
    x, y, th = line.pose_at(s)
    return Pose(x - math.sin(th) * lateral, y + math.cos(th) * lateral, th)


@pytest.mark.parametrize("clockwise", [False, True])
def test_one_lap_time_both_directions(clockwise):
    line = circle_line(clockwise)
    monitor = LapMonitor(line, road_width=8.0)
    drive(monitor, line, speed=5.0)
    assert monitor.stop_reason == "lap_completed"
    assert monitor.completion_pct == 100.0
    assert monitor.lap_times == [pytest.approx(LENGTH / 5.0, abs=0.02)]


def test_start_anywhere_counts_a_lap_from_the_start_point():
    line = circle_line()
    monitor = LapMonitor(line, road_width=8.0)
    drive(monitor, line, speed=4.0, start_s=0.6 * LENGTH, lateral=1.5)  # crosses s = 0
    assert monitor.stop_reason == "lap_completed"
    assert monitor.lap_times[0] == pytest.approx(LENGTH / 4.0, abs=0.02)


def test_multiple_laps_each_timed():
    line = circle_line()
    monitor = LapMonitor(line, road_width=8.0, rules=LapRules(laps=3))
    drive(monitor, line, speed=10.0)
    assert monitor.stop_reason == "lap_completed"
    assert len(monitor.lap_times) == 3
    assert monitor.lap_times == pytest.approx([LENGTH / 10.0] * 3, abs=0.02)
    summary = monitor.summary()
    assert summary["distance_m"] == pytest.approx(3 * LENGTH, rel=1e-3)
    assert summary["avg_speed_mps"] == pytest.approx(10.0, rel=1e-3)


def test_half_way_is_fifty_percent():
    line = circle_line()
    monitor = LapMonitor(line, road_width=8.0)
    for i in range(101):
        monitor.update(i * 0.1, pose_on(line, i * 0.005 * LENGTH))
    assert monitor.completion_pct == pytest.approx(50.0, abs=0.2)
    assert monitor.stop_reason is None


def test_off_track_when_the_centre_leaves_the_road():
    line = circle_line()
    monitor = LapMonitor(line, road_width=8.0)
    for i in range(50):
        reason = monitor.update(i * 0.05, pose_on(line, i * 0.5, lateral=0.1 * i))
        if reason:
            break
    assert reason == "off_track"
    assert abs(monitor.samples[-1].cte) > 4.0 >= abs(monitor.samples[-2].cte)
    assert 0 < monitor.completion_pct < 100


def test_stuck_when_no_progress():
    line = circle_line()
    monitor = LapMonitor(line, road_width=8.0, rules=LapRules(stuck_seconds=2.0))
    t = 0.0
    while monitor.update(t, pose_on(line, 10.0)) is None:
        t += 0.05
    assert monitor.stop_reason == "stuck"
    assert t == pytest.approx(2.0, abs=0.06)


def test_driving_backwards_is_not_progress():
    line = circle_line()
    monitor = LapMonitor(line, road_width=8.0, rules=LapRules(stuck_seconds=3.0))
    t = drive(monitor, line, speed=-5.0)
    assert monitor.stop_reason == "stuck"
    assert monitor.completion_pct == 0.0
    assert monitor.progress < -10.0
    assert t == pytest.approx(3.0, abs=0.06)


def test_timeout():
    line = circle_line()
    monitor = LapMonitor(line, road_width=8.0, rules=LapRules(timeout_seconds=4.0))
    drive(monitor, line, speed=1.0)
    assert monitor.stop_reason == "timeout"
    assert monitor.samples[-1].t == pytest.approx(4.0, abs=0.06)
    assert monitor.completion_pct == pytest.approx(4.0 / LENGTH * 100, abs=0.1)


def test_summary_metrics():
    line = circle_line()
    monitor = LapMonitor(line, road_width=8.0)
    for i in range(20):
        monitor.update(i * 0.05, pose_on(line, i * 0.25, lateral=(-1) ** i * 0.5),
                       (5.0, 0.1 * (i % 2)), latency_ms=2.0)
    s = monitor.summary()
    assert s["cte_mean_m"] == pytest.approx(0.5, abs=1e-3)
    assert s["cte_rms_m"] == pytest.approx(0.5, abs=1e-3)
    assert s["cte_max_m"] == pytest.approx(0.5, abs=1e-3)
    assert s["smoothness_w"] == pytest.approx(0.1)
    assert s["smoothness_v"] == 0.0
    assert s["control_rate_hz"] == pytest.approx(20.0)
    assert s["latency_ms_mean"] == pytest.approx(2.0)
    assert s["stop_reason"] is None
