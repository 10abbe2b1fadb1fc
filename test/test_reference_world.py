"""The reference world: circuit design primitives, the reference circuits, camera and expert."""

import math

import numpy as np
import pytest
import yaml

from follow_line.driving.expert import REFERENCE_PARAMS, ExpertDriver
from follow_line.driving.run import Lockstep
from follow_line.world import circuits
from follow_line.world.camera import REFERENCE_CAMERA
from follow_line.world.circuits import builtin_circuits, held_out_circuits, load_circuit
from follow_line.world.circuits.design import (
    REFERENCE,
    Corner,
    Design,
    hairpin,
    length,
    main,
    rotate,
    sample,
)
from follow_line.world.circuits.geometry import ReferenceLine
from follow_line.world.lap import LapMonitor
from follow_line.world.simulator import Pose, Simulator

REFERENCE_DIR = circuits.CIRCUIT_DIR / "reference"
NAMES = [d.name for d in REFERENCE]
# Lengths (m) of the seed study's Gazebo worlds where the issue gives them, +- a tolerance.
LENGTHS = {"simple": (430, 10), "nurburgring": (550, 15), "montmelo": (740, 15),
           "montreal": (1430, 10)}
SQUARE = [Corner(0, 0, 5), Corner(100, 0, 5), Corner(100, 100, 5), Corner(0, 100, 5)]
STADIUM = [Corner(0, 0, 2.0), *hairpin(50, 0, 0, 2.0), Corner(0, 4, 2.0)]


def radii(points: np.ndarray) -> np.ndarray:
    """Radius of curvature (m) at each point of a closed line, inf on straights."""
    with np.errstate(divide="ignore"):
        return 1.0 / np.abs(ReferenceLine(points).curvature)


def test_a_rounded_polygon_closes_exactly_with_even_steps():
    for corners in (SQUARE, STADIUM):
        pts = sample(corners)
        steps = np.linalg.norm(np.diff(pts, axis=0, append=pts[:1]), axis=1)
        straight = steps[0]  # the line starts in the middle of a straight
        assert steps[-1] == pytest.approx(straight, abs=1e-9)  # the closing step
        assert straight == pytest.approx(length(corners) / len(pts), abs=1e-9)
        assert np.all(steps <= straight + 1e-9)  # chords of arcs are a little shorter
    assert length(SQUARE) == pytest.approx(4 * 90 + 2 * math.pi * 5)
    assert length(STADIUM) == pytest.approx(2 * 46 + 2 * math.pi * 2)


def test_fillets_have_the_radius_asked_for():
    for corners, radius in ((SQUARE, 5.0), (STADIUM, 2.0)):
        r = radii(sample(corners))
        assert r.min() == pytest.approx(radius, rel=0.01)
        on_arcs = r[np.isfinite(r)]  # vertices where the line turns: arcs and their ends
        assert np.median(on_arcs) == pytest.approx(radius, rel=0.01)
    # A hairpin turns 180 degrees: its two legs are parallel, 2 r apart.
    pts = sample(STADIUM)
    assert pts[:, 1].max() - pts[:, 1].min() == pytest.approx(4.0, abs=1e-9)


def test_rotate_keeps_the_shape():
    turned = rotate(SQUARE, 30.0)
    assert length(turned) == pytest.approx(length(SQUARE))
    assert turned[1].x == pytest.approx(100 * math.cos(math.pi / 6))


def test_impossible_corners_are_refused():
    with pytest.raises(ValueError, match="overlap"):
        sample([Corner(0, 0, 30), Corner(40, 0, 30), Corner(40, 40, 30), Corner(0, 40, 30)])
    with pytest.raises(ValueError, match="hairpin"):
        sample([Corner(0, 0, 1), Corner(50, 0, 1), Corner(10, 0.1, 1)])
    with pytest.raises(ValueError, match="positive radius"):
        sample([Corner(0, 0, 0), Corner(50, 0, 1), Corner(0, 50, 1)])
    with pytest.raises(ValueError, match="side"):
        hairpin(0, 0, 0, 2.0, "up")


def test_the_files_are_what_design_generates(tmp_path):
    assert sorted(p.stem for p in REFERENCE_DIR.glob("*.yaml")) == sorted(NAMES)
    main([str(tmp_path)])
    for design in REFERENCE:
        text = (REFERENCE_DIR / f"{design.name}.yaml").read_text()
        assert text == design.yaml() == (tmp_path / f"{design.name}.yaml").read_text()


def test_a_design_reads_back_through_the_loader(tmp_path):
    path = tmp_path / "stadium.yaml"
    path.write_text(Design("stadium", "test: a stadium", tuple(STADIUM)).yaml())
    circuit = load_circuit(path)
    assert (circuit.road_width, circuit.line_width) == (3.0, 0.11)
    assert circuit.description == "test: a stadium"
    assert circuit.length == pytest.approx(length(STADIUM), rel=1e-3)
    assert radii(circuit.centre_line).min() == pytest.approx(2.0, rel=0.03)


@pytest.mark.parametrize("design", REFERENCE, ids=NAMES)
def test_reference_statistics(design):
    doc = yaml.safe_load((REFERENCE_DIR / f"{design.name}.yaml").read_text())
    assert doc["road_width"] == 3.0  # the seed's worlds: 2.4-3.3 m
    assert 0.10 <= doc["line_width"] <= 0.12
    assert len(doc["centre_line"]) <= circuits.MAX_CONTROL_POINTS
    pts = np.array(doc["centre_line"], dtype=float)
    line = ReferenceLine(pts)
    assert 429 - 5 <= line.length <= 1433 + 5
    if design.name in LENGTHS:
        target, tolerance = LENGTHS[design.name]
        assert line.length == pytest.approx(target, abs=tolerance)
    assert 1.95 <= radii(pts).min() <= 6.0
    assert not line.self_intersects()
    box = pts.max(axis=0) - pts.min(axis=0)
    if design.name == "montreal":
        assert box == pytest.approx([617, 227], abs=3)
    assert box.max() <= circuits.MAX_EXTENT_M


def test_two_reference_circuits_are_held_out():
    held = {d.name for d in REFERENCE if d.held_out}
    assert len(held) == 2 and not held & set(builtin_circuits() + held_out_circuits())
    for name in held:
        assert "held_out: true" in (REFERENCE_DIR / f"{name}.yaml").read_text()


def reference_circuit(name: str):
    """A reference circuit through the loader."""
    return load_circuit(REFERENCE_DIR / f"{name}.yaml")


@pytest.mark.parametrize("name", NAMES)
def test_every_reference_circuit_loads(name):
    circuit = reference_circuit(name)
    assert circuit.name == name and circuit.interpolation == "polyline"
    assert circuit.held_out == (name in ("lakeside", "canyon"))


def test_reference_camera():
    assert REFERENCE_CAMERA.mount_height == 0.144
    assert REFERENCE_CAMERA.mount_forward == pytest.approx(0.29 + 0.09)
    assert (REFERENCE_CAMERA.width, REFERENCE_CAMERA.height) == (640, 480)


def test_the_expert_sees_the_thin_line_in_a_2m_hairpin():
    circuit = reference_circuit("monaco")
    sim = Simulator(circuit, "anticlockwise", camera=REFERENCE_CAMERA)
    expert = ExpertDriver(REFERENCE_CAMERA, REFERENCE_PARAMS)
    r = radii(sim.line.points)
    s = float(sim.line.s[int(np.argmin(r))]) - 3.0  # 3 m before the apex of a 2 m hairpin
    x, y, th = sim.line.pose_at(s)
    sim.pose = Pose(x, y, th)
    pts = expert.line_points(sim.frame())
    assert len(pts) >= 10 and abs(pts[-1, 1]) > 0.5  # the chain follows the hairpin round
    c, sn = math.cos(th), math.sin(th)
    world = np.column_stack([x + c * pts[:, 0] - sn * pts[:, 1],
                             y + sn * pts[:, 0] + c * pts[:, 1]])
    assert max(abs(sim.line.project(px, py).cte) for px, py in world) < 0.05


def drive(name: str, direction: str) -> dict:
    """One lap of the reference expert, reference camera, on a reference circuit."""
    circuit = reference_circuit(name)
    sim = Simulator(circuit, direction, camera=REFERENCE_CAMERA)
    monitor = LapMonitor(sim.line, circuit.road_width)
    driver = ExpertDriver(REFERENCE_CAMERA, REFERENCE_PARAMS)
    monitor.update(sim.time, sim.pose)
    loop = Lockstep()
    while monitor.stop_reason is None:
        loop.period(sim, driver, monitor)
    return monitor.summary()


def check_lap(record: dict) -> None:
    assert record["stop_reason"] == "lap_completed", record
    assert record["completion_pct"] == 100.0
    assert record["cte_max_m"] < 0.5  # of a 1.5 m half road


@pytest.mark.parametrize("direction", ["clockwise", "anticlockwise"])
def test_the_reference_expert_laps_simple(direction):
    check_lap(drive("simple", direction))


@pytest.mark.slow
@pytest.mark.parametrize("direction", ["clockwise", "anticlockwise"])
@pytest.mark.parametrize("name", NAMES)
def test_the_reference_expert_laps_every_reference_circuit(name, direction):
    check_lap(drive(name, direction))
