import json

import pytest

from follow_line import bench, drivers
from follow_line.bench import plan, run_bench
from follow_line.drivers import driver_weights
from follow_line.errors import FollowLineError
from follow_line.zoo import build_untrained, save_model, weights_digest


class Crashing:
    name = "crashing"

    def reset(self):
        pass

    def __call__(self, image, t):
        raise RuntimeError("boom")


def test_bench_writes_tables_resumes_and_keeps_failures(tmp_path, oval_file, monkeypatch):
    monkeypatch.setitem(drivers.DRIVERS, "crashing", Crashing)
    runs = plan(["expert", "crashing"], [str(oval_file)], ["clockwise", "anticlockwise"])
    assert len(runs) == 4
    records = run_bench(runs, tmp_path, jobs=1, progress=False)
    ok = [r for r in records if "error" not in r]
    failed = [r for r in records if "error" in r]
    assert len(ok) == 2 and all(r["stop_reason"] == "lap_completed" for r in ok)
    assert len(failed) == 2 and all("RuntimeError: boom" in r["error"] for r in failed)
    md = (tmp_path / "results.md").read_text()
    assert "| Oval (clockwise) | 100% |" in md and "| Oval (anti-clockwise) | 100% |" in md
    assert "Manual Percentage" in md and "crashing Percentage" in md
    assert len((tmp_path / "results.csv").read_text().splitlines()) == 5
    assert len(json.loads((tmp_path / "results.json").read_text())["runs"]) == 4

    finished = tmp_path / "runs" / f"{runs[0].key}.json"
    stamp = finished.stat().st_mtime_ns
    executed = []
    real = bench._execute
    monkeypatch.setattr(bench, "_execute",
                        lambda run, *args, **kw: executed.append(run) or real(run, *args, **kw))
    run_bench(runs, tmp_path, jobs=1, progress=False)
    assert finished.stat().st_mtime_ns == stamp  # finished runs are not run again
    assert sorted(r.driver for r in executed) == ["crashing", "crashing"]  # failures retried

    ok_runs = [r for r in runs if r.driver == "expert"]
    run_bench(ok_runs, tmp_path, jobs=1, progress=False)  # another selection: new reports
    assert len(json.loads((tmp_path / "results.json").read_text())["runs"]) == 2
    report = tmp_path / "results.md"
    stamp = report.stat().st_mtime_ns
    run_bench(ok_runs, tmp_path, jobs=1, progress=False)  # nothing new: reports kept as they are
    assert report.stat().st_mtime_ns == stamp


def test_a_retrained_network_is_run_again(tmp_path, oval_file, monkeypatch):
    model, card = build_untrained("tinypilotnet")
    weights = save_model(model, card, tmp_path / "models")
    runs = plan(["expert", str(weights)], [str(oval_file)], ["clockwise"])
    records = run_bench(runs, tmp_path, jobs=1, progress=False)
    assert records[0]["weights"] is None  # the explicit driver has no weights
    assert records[1]["weights"] == driver_weights(str(weights)) == weights_digest(weights)
    executed = []
    real = bench._execute
    monkeypatch.setattr(bench, "_execute",
                        lambda run, *args, **kw: executed.append(run) or real(run, *args, **kw))
    run_bench(runs, tmp_path, jobs=1, progress=False)
    assert executed == []  # same weights: nothing to run
    model.get_layer("fc1").kernel.assign(model.get_layer("fc1").kernel * 0.5)
    save_model(model, card, tmp_path / "models")  # retrained
    records = run_bench(runs, tmp_path, jobs=1, progress=False)
    assert executed == [runs[1]]
    assert records[1]["weights"] == weights_digest(weights) != records[0]["weights"]


def test_plan_validates_names_first(oval_file):
    with pytest.raises(FollowLineError, match="unknown driver"):
        plan(["nobody"], [str(oval_file)], ["clockwise"])
    with pytest.raises(FollowLineError, match="unknown direction"):
        plan(["expert"], [str(oval_file)], ["sideways"])


def test_perturbed_runs_trajectories_and_plots(tmp_path, oval_file):
    runs = plan(["expert"], [str(oval_file)], ["clockwise"], perturbations=["clean", "dark"])
    digest = runs[0].key.rsplit("__", 1)[1]
    assert [r.key for r in runs] == [f"expert__oval__clockwise__r0__{digest}",
                                     f"expert__oval__clockwise__r0__dark__{digest}"]
    records = run_bench(runs, tmp_path, jobs=1, progress=False)
    assert [r["perturbation"] for r in records] == ["clean", "dark"]
    assert records[1]["appearance"]["brightness"] == 0.55
    saved = json.loads((tmp_path / "runs" / f"{runs[1].key}.json").read_text())
    assert len(saved["trajectory"]["x"]) == len(saved["trajectory"]["cte"]) > 100
    summary = json.loads((tmp_path / "results.json").read_text())["runs"]
    assert all("trajectory" not in r for r in summary)
    assert "**Robustness" in (tmp_path / "results.md").read_text()
    plots = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert plots == ["cte_oval.png", "lap_times.png", "robustness.png", "trajectory_expert.png"]
    with pytest.raises(FollowLineError, match="unknown perturbation"):
        plan(["expert"], [str(oval_file)], ["clockwise"], perturbations=["fog"])


def test_same_file_names_are_different_runs_and_an_empty_record_is_run_again(tmp_path,
                                                                              oval_file):
    mine = tmp_path / "mine" / "simple.yaml"  # a user's circuit named like the built-in one
    mine.parent.mkdir()
    mine.write_text(oval_file.read_text())
    runs = plan(["expert"], ["simple", str(mine)], ["clockwise"])
    assert len({r.key for r in runs}) == 2
    assert all(r.key.startswith("expert__simple__clockwise__r0__") for r in runs)
    out = tmp_path / "out"
    records = run_bench(runs, out, jobs=1, progress=False)
    assert sorted(r["circuit"] for r in records) == ["oval", "simple"]
    assert len(list((out / "runs").glob("*.json"))) == 2
    broken = out / "runs" / f"{runs[1].key}.json"
    broken.write_text("{}")  # e.g. a record truncated by hand: not a finished run
    records = run_bench(runs, out, jobs=1, progress=False)
    assert json.loads(broken.read_text())["stop_reason"] == "lap_completed"
    assert [r["circuit"] for r in records] == ["simple", "oval"]
