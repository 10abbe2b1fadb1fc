import math

import numpy as np
import pytest

from follow_line.driving.expert import ExpertDriver
from follow_line.driving.run import RunSpec, run_drive
from follow_line.world.circuits import builtin_circuits
from follow_line.world.simulator import Pose, Simulator, StartOffset


def test_line_points_match_the_geometry(oval):
    sim = Simulator(oval, "clockwise")
    expert = ExpertDriver(sim.camera)
    for s in (10.0, 120.0):
        x, y, th = sim.line.pose_at(s)
        sim.pose = Pose(x, y, th)
        pts = expert.line_points(sim.frame())
        assert len(pts) > 10
        c, sn = math.cos(th), math.sin(th)
        world = np.column_stack([x + c * pts[:, 0] - sn * pts[:, 1],
                                 y + sn * pts[:, 0] + c * pts[:, 1]])
        cte = [abs(sim.line.project(px, py).cte) for px, py in world]
        assert max(cte) < 0.1


def test_rejects_wrong_image_size():
    with pytest.raises(ValueError, match="640x480x3"):
        ExpertDriver().line_points(np.zeros((240, 640, 3), np.uint8))


def test_steers_back_towards_the_line(oval):
    sim = Simulator(oval, "clockwise", start=StartOffset(along=5.0, lateral=1.5))
    expert = ExpertDriver(sim.camera)
    _, w = expert(sim.frame(), 0.0)
    assert w < 0  # the line is to the right: turn right (negative w)
    sim = Simulator(oval, "clockwise", start=StartOffset(along=5.0, lateral=-1.5))
    _, w = ExpertDriver(sim.camera)(sim.frame(), 0.0)
    assert w > 0


def test_completes_the_oval_from_an_offset_start(oval):
    record = run_drive(RunSpec(oval, "anticlockwise",
                               start=StartOffset(lateral=2.0, heading=0.2)), ExpertDriver())
    assert record["stop_reason"] == "lap_completed"
    assert record["completion_pct"] == 100.0


@pytest.mark.parametrize("direction", ["clockwise", "anticlockwise"])
@pytest.mark.parametrize("circuit", ["simple", "monaco", "nurburgring"])
def test_expert_completes_every_builtin_circuit(circuit, direction):
    from follow_line.world.circuits import load_circuit

    assert circuit in builtin_circuits()
    record = run_drive(RunSpec(load_circuit(circuit), direction), ExpertDriver())
    assert record["stop_reason"] == "lap_completed", record
    assert record["completion_pct"] == 100.0
    assert record["cte_max_m"] < 2.0
    assert record["lap_times_s"][0] == pytest.approx(record["circuit_length_m"]
                                                     / record["avg_speed_mps"], rel=0.02)
