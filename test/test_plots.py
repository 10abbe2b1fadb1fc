import matplotlib.pyplot as plt
import numpy as np
import pytest

from follow_line.bench.plots import write_bench_plots
from follow_line.world.circuits import load_circuit


def record(driver, direction, fraction=1.0, repeat=0, perturbation=None, trajectory=True):
    """A synthetic run on 'simple': driven along the line for `fraction` of a lap."""
    line = load_circuit("simple").line(direction)
    s = np.linspace(0.0, fraction * line.length, 60)
    v = 4.0 + 2.0 * np.sin(s / 20.0)
    t = np.concatenate([[0.0], np.cumsum(np.diff(s) / v[1:])])
    x, y, _ = np.array([line.pose_at(si) for si in s]).T
    completed = fraction >= 1.0
    run = {"driver": driver, "circuit": "simple", "direction": direction, "repeat": repeat,
           "completion_pct": 100.0 * min(fraction, 1.0),
           "stop_reason": "lap_completed" if completed else "off_track",
           "lap_times_s": [float(t[-1]) + repeat] if completed else []}
    if perturbation:
        run["perturbation"] = perturbation
    if trajectory:
        run["trajectory"] = {"t": t.tolist(), "x": x.tolist(), "y": y.tolist(), "v": v.tolist(),
                             "w": np.zeros_like(s).tolist(), "progress": s.tolist(),
                             "cte": (0.3 * np.sin(s / 7.0)).tolist()}
    return run


def crashed(driver, direction):
    return {"driver": driver, "circuit": "simple", "direction": direction, "repeat": 0,
            "error": "RuntimeError: boom"}


def assert_png(path):
    image = plt.imread(path)
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 300
    assert image[..., :3].std() > 0.05  # not a blank canvas
    assert path.stat().st_size < 400_000


@pytest.fixture(scope="module")
def records():
    return [record("expert", "clockwise"),
            record("expert", "clockwise", repeat=1),
            record("expert", "anticlockwise"),
            record("pilotnet", "clockwise", fraction=0.37),
            crashed("pilotnet", "anticlockwise"),
            record("old", "clockwise", trajectory=False)]


def test_clean_benchmark_writes_trajectory_cte_and_lap_time_plots(tmp_path, records):
    written = write_bench_plots(records, tmp_path)
    names = sorted(p.name for p in written)
    assert names == ["cte_simple.png", "lap_times.png", "trajectory_expert.png",
                     "trajectory_pilotnet.png"]
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == names
    for path in written:
        assert_png(path)


def test_robustness_only_with_a_perturbation(tmp_path, records):
    perturbed = records + [record("expert", "clockwise", fraction=0.5, perturbation="noise"),
                           record("pilotnet", "clockwise", perturbation="dark")]
    written = write_bench_plots(perturbed, tmp_path)
    assert tmp_path / "plots" / "robustness.png" in written
    assert_png(tmp_path / "plots" / "robustness.png")


def test_only_crashed_runs_give_a_lap_chart_without_bars(tmp_path):
    written = write_bench_plots([crashed("expert", "clockwise")], tmp_path)
    assert [p.name for p in written] == ["lap_times.png"]
    assert_png(written[0])


def test_no_records_write_nothing(tmp_path):
    assert write_bench_plots([], tmp_path) == []
    assert not (tmp_path / "plots").exists()


def test_a_record_whose_circuit_file_moved_is_drawn_from_the_built_in(tmp_path):
    moved = dict(record("expert", "clockwise"), circuit_file="/gone/follow_line/simple.yaml")
    assert_png(write_bench_plots([moved], tmp_path)[0])


def test_latency_sweep_plot(tmp_path):
    sweep = [dict(record("expert", "clockwise"), latency="0"),
             dict(record("expert", "clockwise", repeat=2), latency="100"),
             dict(record("pilotnet", "clockwise"), latency="0"),
             dict(record("pilotnet", "clockwise", fraction=0.4), latency="100",
                  latency_ms_mean=100.0)]
    written = write_bench_plots(sweep, tmp_path)
    assert written[-1] == tmp_path / "plots" / "latency.png"
    assert_png(written[-1])
    assert "trajectory_expert.png" in {p.name for p in written}  # lockstep runs drawn
