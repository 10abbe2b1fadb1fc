import numpy as np
import pytest

from follow_line.circuits import builtin_circuits, load_circuit
from follow_line.circuits.geometry import signed_area
from follow_line.errors import FollowLineError

LENGTHS = {"simple": (440, 490), "monaco": (480, 560), "nurburgring": (570, 610)}


def test_builtin_names():
    assert builtin_circuits() == ["simple", "monaco", "nurburgring"]


@pytest.mark.parametrize("name", sorted(LENGTHS))
def test_builtin_circuits_are_valid_loops(name):
    circuit = load_circuit(name)
    lo, hi = LENGTHS[name]
    assert lo <= circuit.length <= hi
    for direction, sign in (("clockwise", -1), ("anticlockwise", 1)):
        line = circuit.line(direction)
        assert np.sign(signed_area(line.points)) == sign
        assert np.hypot(*(line.points[0] - circuit.start)) < 0.5  # starts at the gate
        assert not line.self_intersects()
    # the road never overlaps itself: far apart along the loop means far apart in space
    pts = circuit.line("clockwise").points[::4]
    s = np.arange(len(pts)) * 2.0
    gap = np.abs(s[:, None] - s[None, :])
    gap = np.minimum(gap, circuit.length - gap)
    dist = np.hypot(*(pts[:, None] - pts[None, :]).transpose(2, 0, 1))
    assert dist[gap > 40.0].min() > circuit.road_width + 4.0


def test_monaco_is_the_twistiest():
    def max_curvature(name):
        k = load_circuit(name).line("clockwise").curvature
        return np.abs(np.convolve(k, np.ones(6) / 6, mode="same")).max()

    assert max_curvature("monaco") > max_curvature("nurburgring") > max_curvature("simple")


def test_directions_are_reverses_of_each_other():
    circuit = load_circuit("simple")
    cw, acw = circuit.line("clockwise"), circuit.line("anticlockwise")
    assert cw.length == pytest.approx(acw.length)
    assert np.allclose(cw.points[0], acw.points[0])
    assert np.allclose(np.sort(cw.points, axis=0), np.sort(acw.points, axis=0))


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(FollowLineError, match="'monza'.*simple, monaco, nurburgring"):
        load_circuit("monza")


def test_unknown_direction():
    with pytest.raises(FollowLineError, match="unknown direction 'left'.*anticlockwise"):
        load_circuit("simple").line("left")


def test_a_user_file_loads_by_path(oval_file):
    circuit = load_circuit(oval_file)
    assert circuit.name == "oval"
    assert circuit.start == (0.0, 0.0)


def bad(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(FollowLineError) as info:
        load_circuit(path)
    return str(info.value)


POINTS = "centre_line:\n  - [0, 0]\n  - [50, 0]\n  - [50, 50]\n  - [0, 50]\n"


def test_malformed_files_name_the_field_and_line(tmp_path):
    msg = bad(tmp_path, "name: x\nroad_width: wide\nline_width: 0.4\n" + POINTS)
    assert "bad.yaml:2:" in msg and "road_width" in msg and "'wide'" in msg
    msg = bad(tmp_path, "name: x\nroad_width: 8\nline_width: 0.4\ncentre_line:\n"
                        "  - [0, 0]\n  - [50, 0]\n  - [50]\n  - [0, 50]\n")
    assert "bad.yaml:7:" in msg and "centre_line point 2" in msg
    msg = bad(tmp_path, "name: x\nroad_width: 8\n" + POINTS)
    assert "missing field 'line_width'" in msg
    msg = bad(tmp_path, "name: x\nroad_width: 8\nline_width: 0.4\ncolour: red\n" + POINTS)
    assert "bad.yaml:4:" in msg and "unknown field 'colour'" in msg and "allowed:" in msg
    msg = bad(tmp_path, "name: x\nroad_width: 8\nline_width: 9\n" + POINTS)
    assert "bad.yaml:3:" in msg and "smaller than 'road_width'" in msg
    msg = bad(tmp_path, "name: x\nroad_width: 8\nline_width: 0.4\ninterpolation: bezier\n"
              + POINTS)
    assert "allowed: spline, polyline" in msg
    msg = bad(tmp_path, "name: [unclosed\n")
    assert "not valid YAML" in msg
    msg = bad(tmp_path, "- just\n- a list\n")
    assert "bad.yaml:1:" in msg and "mapping" in msg


def test_self_crossing_line_is_refused(tmp_path):
    msg = bad(tmp_path, "name: x\nroad_width: 8\nline_width: 0.4\ninterpolation: polyline\n"
                        "centre_line:\n  - [0, 0]\n  - [50, 50]\n  - [50, 0]\n  - [0, 50]\n")
    assert "bad.yaml:5:" in msg and "crosses itself" in msg
