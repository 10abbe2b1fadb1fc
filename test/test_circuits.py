import math

import numpy as np
import pytest

from follow_line.errors import FollowLineError
from follow_line.world.circuits import (
    CIRCUIT_DIR,
    builtin_circuits,
    check_training_circuit,
    held_out_circuits,
    load_circuit,
)
from follow_line.world.circuits.geometry import signed_area

LENGTHS = {"simple": (440, 490), "monaco": (480, 560), "nurburgring": (570, 610),
           "montreal": (470, 520), "hungaroring": (515, 565)}


def test_builtin_names():
    # the training circuits, the default of collect, bench, perf and the Gazebo launch
    assert builtin_circuits() == ["simple", "monaco", "nurburgring"]


def test_held_out_names_are_the_other_builtin_files():
    assert held_out_circuits() == ["hungaroring", "montreal"]  # alphabetical
    files = sorted(p.stem for p in CIRCUIT_DIR.glob("*.yaml"))
    assert sorted(builtin_circuits() + held_out_circuits()) == files
    assert not set(builtin_circuits()) & set(held_out_circuits())


@pytest.mark.parametrize("name", ["hungaroring", "montreal"])
def test_held_out_circuits_load_by_name_and_say_so(name):
    circuit = load_circuit(name)
    assert circuit.name == name and circuit.held_out is True
    assert circuit.road_width == 8.0 and circuit.line_width == 0.4
    assert circuit.source.endswith(f"{name}.yaml")


@pytest.mark.parametrize("name", ["simple", "monaco", "nurburgring"])
def test_training_circuits_are_not_held_out(name):
    circuit = load_circuit(name)
    assert circuit.held_out is False
    assert check_training_circuit(circuit) is circuit
    assert check_training_circuit(name) == circuit


@pytest.mark.parametrize("name", ["hungaroring", "montreal"])
def test_check_training_circuit_refuses_a_held_out_circuit(name):
    for given in (load_circuit(name), name):
        with pytest.raises(FollowLineError) as info:
            check_training_circuit(given)
        message = str(info.value)
        assert message.startswith(f"circuit {name} is held out for testing: ")
        assert "simple, monaco, nurburgring" in message  # what to train on instead


def test_a_user_file_can_be_held_out(tmp_path, oval_file):
    path = tmp_path / "secret.yaml"
    path.write_text(oval_file.read_text() + "held_out: true\n")
    circuit = load_circuit(path)
    assert circuit.held_out is True
    with pytest.raises(FollowLineError, match="circuit oval is held out for testing"):
        check_training_circuit(path)
    path.write_text(oval_file.read_text() + "held_out: false\n")
    assert check_training_circuit(path).held_out is False
    assert load_circuit(oval_file).held_out is False  # the default


@pytest.mark.parametrize("name", ["hungaroring", "montreal"])
def test_held_out_circuits_are_no_tighter_than_monaco(name):
    def max_curvature(circuit_name):
        k = load_circuit(circuit_name).line("clockwise").curvature
        return np.abs(np.convolve(k, np.ones(6) / 6, mode="same")).max()

    assert max_curvature(name) <= max_curvature("monaco")


@pytest.mark.parametrize("direction", ["clockwise", "anticlockwise"])
@pytest.mark.parametrize("name", ["hungaroring", "montreal"])
def test_the_expert_laps_the_held_out_circuits(name, direction):
    from follow_line.driving.expert import ExpertDriver
    from follow_line.driving.run import RunSpec, run_drive

    record = run_drive(RunSpec(load_circuit(name), direction), ExpertDriver())
    assert record["stop_reason"] == "lap_completed", record
    assert record["completion_pct"] == 100.0
    assert record["cte_max_m"] < 1.5


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
    with pytest.raises(FollowLineError) as info:
        load_circuit("monza")
    assert "'monza'" in str(info.value)
    assert ("known: simple, monaco, nurburgring (training), hungaroring, montreal (held out "
            "for testing)") in str(info.value)


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
    assert "bad.yaml:3:" in msg and "from 0.05 to 4 (at most half of road_width 8)" in msg
    msg = bad(tmp_path, "name: x\nroad_width: 8\nline_width: 0.4\ninterpolation: bezier\n"
              + POINTS)
    assert "allowed: spline, polyline" in msg
    msg = bad(tmp_path, "name: [unclosed\n")
    assert "not valid YAML" in msg
    msg = bad(tmp_path, "- just\n- a list\n")
    assert "bad.yaml:1:" in msg and "mapping" in msg


@pytest.mark.parametrize("value", ["1", "'true'", "maybe", "[true]", ""])
def test_held_out_must_be_true_or_false(tmp_path, value):
    msg = bad(tmp_path, f"name: x\nroad_width: 8\nline_width: 0.4\nheld_out: {value}\n" + POINTS)
    assert "bad.yaml:4:" in msg and "field 'held_out' must be true or false" in msg


def test_self_crossing_line_is_refused(tmp_path):
    msg = bad(tmp_path, "name: x\nroad_width: 8\nline_width: 0.4\ninterpolation: polyline\n"
                        "centre_line:\n  - [0, 0]\n  - [50, 50]\n  - [50, 0]\n  - [0, 50]\n")
    assert "bad.yaml:5:" in msg and "crosses itself" in msg


@pytest.mark.parametrize("east, north", [(0.0, 0.0), (500_000.0, 4_649_776.0),
                                         (9.9e7, -9.9e7)])
def test_geometry_is_exact_at_any_coordinates(tmp_path, oval_file, east, north):
    import yaml

    doc = yaml.safe_load(oval_file.read_text())
    doc["centre_line"] = [[x + east, y + north] for x, y in doc["centre_line"]]
    path = tmp_path / "far.yaml"
    path.write_text(yaml.safe_dump(doc))
    far, near = load_circuit(path), load_circuit(oval_file)
    assert len(far.control_points) == len(near.control_points)  # none silently dropped
    assert far.length == pytest.approx(near.length, abs=1e-3)


def test_documented_limits_are_checked_before_anything_large_is_built(tmp_path):
    from follow_line.world.circuits import MAX_CONTROL_POINTS, MAX_FILE_BYTES

    head = "name: x\nroad_width: 8\nline_width: 0.4\n"
    bomb = head + "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a]\n" + POINTS
    assert "YAML aliases (*name) are not allowed" in bad(tmp_path, bomb)
    many = "\n".join(f"  - [{math.cos(k / 1000):.6f}, {math.sin(k / 1000):.6f}]"
                     for k in range(MAX_CONTROL_POINTS + 1))
    assert f"4 to {MAX_CONTROL_POINTS:,} points" in bad(tmp_path, head + "centre_line:\n" + many)
    huge = head + "centre_line:\n  - [0, 0]\n  - [6366, 0]\n  - [6366, 6366]\n  - [0, 6366]\n"
    assert "at most 8,000 m in a 2,500 m x 2,500 m box" in bad(tmp_path, huge)
    big = tmp_path / "big.yaml"
    big.write_text("#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(FollowLineError, match=f"at most {MAX_FILE_BYTES:,} bytes"):
        load_circuit(big)


# A sliver 2 km x 2 km: the shortest loop in such a box is 5.7 km (twice its diagonal).
BOX_2KM = ("name: box\nroad_width: 3\nline_width: 0.1\ninterpolation: polyline\n"
           "centre_line: [[0, 0], [2000, 1990], [2000, 2000], [0, 10]]\n")


def test_a_2km_box_loads_and_its_tiles_stay_near_the_road(tmp_path):
    from follow_line.world.render import TILE_REACH_M
    from follow_line.world.tiles import RESOLUTION_M, SLOT_CELLS, TILE_CELLS, near_road

    path = tmp_path / "box.yaml"
    path.write_text(BOX_2KM)
    circuit = load_circuit(path)
    assert circuit.length == pytest.approx(5664, abs=2)
    max_d = circuit.road_width / 2 + 3.0
    tiles = near_road(circuit.line("anticlockwise"), max_d + TILE_REACH_M, max_d + 1.0)
    tile_m = TILE_CELLS * RESOLUTION_M
    assert tiles.slot.shape == (79, 79)  # 2 km and the margins, in 25.6 m tiles
    # memory follows the line, not the box: ~3 tiles per tile length of line (two lines)
    assert len(tiles.stored) < 3 * circuit.length / tile_m
    assert np.prod(tiles.atlas_shape) * 4 < 80e6 < 2000**2 / RESOLUTION_M**2 * 4 / 10
    assert max(tiles.atlas_shape) < 32767 // 2  # remap's coordinates, with room to spare
    assert tiles.atlas_shape[0] % SLOT_CELLS == 0


@pytest.mark.slow
def test_a_2km_box_renders(tmp_path):
    from follow_line.world.appearance import RED_LINE
    from follow_line.world.simulator import Simulator

    path = tmp_path / "box.yaml"
    path.write_text(BOX_2KM)
    sim = Simulator(load_circuit(path), "clockwise")
    for s in (100.0, 2000.0, 4000.0):
        sim.start = sim.start.__class__(along=s)
        sim.reset()
        bottom = sim.frame()[-1].astype(int)  # the red line under the camera, at the centre
        assert np.abs(bottom[318:322] - RED_LINE).sum(axis=1).max() < 40


def test_a_circuit_over_the_limits_is_one_line_and_exit_2(tmp_path, capsys):
    from follow_line.cli import main

    path = tmp_path / "wide.yaml"
    path.write_text("name: wide\nroad_width: 3\nline_width: 0.1\ninterpolation: polyline\n"
                    "centre_line: [[0, 0], [2600, 0], [2600, 100], [0, 100]]\n")
    assert main(["drive", "--circuit", str(path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("follow-line: error: ")
    assert ("wide.yaml:5: the circuit is 5,400 m long in a 2,600 m x 100 m box; at most "
            "8,000 m in a 2,500 m x 2,500 m box") in err


def test_numbers_with_an_exponent_are_numbers(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("name: x\nroad_width: 8e0\nline_width: 4E-1\ncentre_line:\n"
                    "  - [0, 0]\n  - [5e1, 0]\n  - [5e1, 5e1]\n  - [0, 50]\n")
    circuit = load_circuit(path)
    assert circuit.road_width == 8.0 and circuit.line_width == 0.4
    assert circuit.control_points[2] == (50.0, 50.0)


def test_the_circuits_command_lists_and_draws_the_held_out_circuits(tmp_path, capsys):
    from follow_line.cli import main

    png = tmp_path / "map.png"
    assert main(["circuits", "--plot", str(png)]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    for name in ("simple", "monaco", "nurburgring"):
        assert " 8.0  training " in rows[name]
    for name in ("hungaroring", "montreal"):
        assert " 8.0  held out " in rows[name]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


SQUARE = "  - [0, 0]\n  - [50, 0]\n  - [50, 50]\n  - [0, 50]\n"


@pytest.mark.parametrize("road, line, points, start, field, allowed", [
    (".nan", "0.4", SQUARE, None, "road_width", "from 2 to 30"),
    (".inf", "0.4", SQUARE, None, "road_width", "from 2 to 30"),
    ("1e9", "0.4", SQUARE, None, "road_width", "from 2 to 30"),
    ("300", "0.4", SQUARE, None, "road_width", "from 2 to 30"),
    ("0.5", "0.1", SQUARE, None, "road_width", "from 2 to 30"),
    ("8", ".nan", SQUARE, None, "line_width", "from 0.05 to 4"),
    ("8", "-.inf", SQUARE, None, "line_width", "from 0.05 to 4"),
    ("8", "0.001", SQUARE, None, "line_width", "from 0.05 to 4"),
    ("8", "0.4", SQUARE.replace("[50, 50]", "[50, .nan]"), None, "centre_line point 2",
     "each from -1e+08 to 1e+08"),
    ("8", "0.4", SQUARE.replace("[50, 50]", "[1e300, 50]"), None, "centre_line point 2",
     "each from -1e+08 to 1e+08"),
    ("8", "0.4", SQUARE, "[.nan, 0]", "field 'start'", "pair of numbers"),
    ("8", "0.4", SQUARE, "[1400, 0]", "field 'start' is 1,350.0 m from the red line",
     "at most 4 m (half of road_width) from the line"),
    ("8", "0.4", "  - [0, 0]\n  - [1, 0]\n  - [1, 1]\n  - [0, 1]\n", None, "4.0 m long",
     "at least 80 m long (10 road widths) in a box at least 8 m on each side"),
    ("8", "0.4", "  - [0, 0]\n  - [200, 0]\n  - [200, 5]\n  - [0, 5]\n", None, "5.0 m box",
     "in a box at least 8 m on each side"),
])
def test_every_number_is_checked_against_its_documented_range(tmp_path, road, line, points,
                                                              start, field, allowed):
    text = (f"name: x\nroad_width: {road}\nline_width: {line}\n"
            + (f"start: {start}\n" if start else "") + "interpolation: polyline\n"
            + "centre_line:\n" + points)
    msg = bad(tmp_path, text)
    assert "\n" not in msg and field in msg and allowed in msg, msg


def test_the_widest_road_on_the_smallest_loop_loads_quickly(tmp_path):
    import time

    path = tmp_path / "wide.yaml"
    path.write_text("name: wide\nroad_width: 30\nline_width: 15\ninterpolation: polyline\n"
                    "centre_line:\n  - [0, 0]\n  - [90, 0]\n  - [90, 60]\n  - [0, 60]\n")
    began = time.monotonic()
    circuit = load_circuit(path)
    assert circuit.road_width == 30.0 and time.monotonic() - began < 5.0


def test_a_folder_named_like_a_circuit_file_is_reported_as_a_folder(tmp_path):
    folder = tmp_path / "x.yaml"
    folder.mkdir()
    with pytest.raises(FollowLineError, match="x.yaml is a folder, not a circuit file"):
        load_circuit(folder)
    with pytest.raises(FollowLineError, match="circuit file .*gone.yaml does not exist"):
        load_circuit(tmp_path / "gone.yaml")
