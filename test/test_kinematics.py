import math

import pytest

from follow_line.world.kinematics import V_LIMITS, W_LIMITS, Pose, clamp_command, integrate


def test_straight_line():
    p = integrate(Pose(1.0, 2.0, math.pi / 2), 3.0, 0.0, 2.0)
    assert (p.x, p.y, p.theta) == pytest.approx((1.0, 8.0, math.pi / 2))


def test_arc_is_exact_whatever_the_step():
    v, w = 5.0, 0.5  # radius 10 m
    one = integrate(Pose(0, 0, 0), v, w, 2 * math.pi)  # half a circle in one step
    assert (one.x, one.y) == pytest.approx((0.0, 20.0), abs=1e-9)
    many = Pose(0, 0, 0)
    for _ in range(1000):
        many = integrate(many, v, w, 2 * math.pi / 1000)
    assert (many.x, many.y, many.theta) == pytest.approx((one.x, one.y, one.theta), abs=1e-9)


def test_full_circle_returns_to_start():
    p = integrate(Pose(3.0, -1.0, 0.3), 4.0, -2.0, math.pi)  # -2 rad/s for pi s: one turn
    assert (p.x, p.y) == pytest.approx((3.0, -1.0), abs=1e-9)


def test_clamp_to_limits_and_refuse_nan():
    assert clamp_command(100.0, -50.0) == (V_LIMITS[1], W_LIMITS[0])
    assert clamp_command(-1.0, 1.0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="non-finite"):
        clamp_command(float("nan"), 0.0)
    with pytest.raises(ValueError, match="non-finite"):
        clamp_command(1.0, float("inf"))
