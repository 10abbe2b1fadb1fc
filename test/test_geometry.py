import math

import numpy as np
import pytest

from follow_line.world.circuits.geometry import (
    ReferenceLine,
    catmull_rom_closed,
    resample_closed,
    signed_area,
)


def circle(radius=20.0, n=400, clockwise=False):
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    if clockwise:
        a = -a
    return np.column_stack([radius * np.cos(a), radius * np.sin(a)])


def test_spline_passes_through_control_points():
    control = np.array([[0, 0], [10, 0], [15, 8], [5, 12], [-4, 6]], float)
    dense = catmull_rom_closed(control, samples_per_segment=10)
    assert np.allclose(dense[::10], control)


def test_resample_spacing_is_uniform():
    pts = resample_closed(circle(n=37), 0.5)
    steps = np.linalg.norm(np.diff(np.vstack([pts, pts[:1]]), axis=0), axis=1)
    assert steps.std() < 0.01 and abs(steps.mean() - 0.5) < 0.01


def test_signed_area_orientation():
    assert signed_area(circle()) > 0
    assert signed_area(circle(clockwise=True)) < 0


def test_length_and_curvature_of_a_circle():
    line = ReferenceLine(circle(20.0))
    assert line.length == pytest.approx(2 * math.pi * 20.0, rel=1e-3)
    assert np.allclose(line.curvature, 1 / 20.0, rtol=1e-3)  # anticlockwise: turns left
    assert np.allclose(ReferenceLine(circle(20.0, clockwise=True)).curvature, -1 / 20.0,
                       rtol=1e-3)


def test_projection_arc_length_and_signed_cte():
    line = ReferenceLine(circle(20.0))  # starts at (20, 0) heading +y
    inside = line.project(18.0, 0.5)  # left of an anticlockwise circle is its inside
    assert inside.cte == pytest.approx(20.0 - math.hypot(18.0, 0.5), abs=0.01)
    assert inside.s == pytest.approx(20.0 * math.atan2(0.5, 18.0), abs=0.01)
    outside = line.project(0.0, -23.0)  # three quarters round, 3 m outside
    assert outside.cte == pytest.approx(-3.0, abs=0.01)
    assert outside.s == pytest.approx(0.75 * line.length, abs=0.05)
    assert outside.heading == pytest.approx(0.0, abs=0.02)


def test_windowed_projection_matches_global_and_recovers_from_jumps():
    line = ReferenceLine(circle(20.0))
    near = line.project(-20.5, 0.1, hint=200)
    assert near.s == pytest.approx(line.project(-20.5, 0.1).s)
    jumped = line.project(20.5, 0.0, hint=200)  # far outside the window
    assert (jumped.s == pytest.approx(0.0, abs=0.05)
            or jumped.s == pytest.approx(line.length, abs=0.05))


def test_pose_at_wraps_and_interpolates():
    line = ReferenceLine(circle(20.0))
    x, y, th = line.pose_at(line.length / 4)
    assert (x, y) == pytest.approx((0.0, 20.0), abs=0.01)
    assert th == pytest.approx(math.pi, abs=0.02)
    assert line.pose_at(line.length + 1.0)[:2] == pytest.approx(line.pose_at(1.0)[:2])


def test_distance_field_is_exact_and_signed():
    line = ReferenceLine(circle(20.0))
    field = line.distance_field((-30.0, -30.0), 0.5, (121, 121), max_distance=5.0)
    yy, xx = np.mgrid[0:121, 0:121] * 0.5 - 30.0
    polygon_r = 20.0 * math.cos(math.pi / 400)  # distance to a 400-gon is between this and 20
    expect = np.clip(20.0 - np.hypot(xx, yy), -5.0, 5.0)  # inside positive (left)
    assert np.abs(field - expect).max() < 20.0 - polygon_r + 1e-6


def test_self_intersection_detected():
    figure_eight = np.array([[0, 0], [10, 10], [20, 0], [10, -10]] * 1, float)[[0, 1, 3, 2]]
    assert ReferenceLine(figure_eight).self_intersects()
    assert not ReferenceLine(circle()).self_intersects()


def brute_force_self_intersects(points):
    """The O(n^2) reference: every pair of non-adjacent segments."""
    a, b, n = points, np.roll(points, -1, axis=0), len(points)

    def orient(p, q, r):
        return np.sign((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]))

    for i in range(n):
        for j in range(i + 2, n if i > 0 else n - 1):
            if (orient(a[i], b[i], a[j]) * orient(a[i], b[i], b[j]) < 0
                    and orient(a[j], b[j], a[i]) * orient(a[j], b[j], b[i]) < 0):
                return True
    return False


def test_the_linear_self_crossing_test_agrees_with_the_brute_force_one():
    rng = np.random.default_rng(0)
    results = []
    for trial in range(300):
        n = int(rng.integers(4, 40))
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radii = rng.uniform(1.0, 10.0 if trial % 2 else 2.0, n)  # star shapes and wild ones
        points = np.c_[radii * np.cos(angles), radii * np.sin(angles)]
        if trial % 3 == 0:
            points = points[rng.permutation(n)]  # scrambled: usually crossing
        points = points * 10.0 ** rng.integers(-1, 4) + rng.uniform(-1e6, 1e6, 2)
        expected = brute_force_self_intersects(points - points.mean(axis=0))
        assert ReferenceLine(points).self_intersects() == expected, trial
        results.append(expected)
    assert 30 < sum(results) < 270  # both answers were tested


def test_a_40_km_circle_of_200k_points_is_checked_without_quadratic_work():
    assert not ReferenceLine(circle(6366.0, 200_000)).self_intersects()
