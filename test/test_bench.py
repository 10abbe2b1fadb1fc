import json
import re

import pytest

from follow_line.bench import runner as bench
from follow_line.bench.runner import plan, run_bench
from follow_line.driving import drivers
from follow_line.driving.drivers import driver_weights
from follow_line.driving.zoo import build_untrained, save_model, weights_digest
from follow_line.errors import FollowLineError


class Crashing:
    name = "crashing"

    def reset(self):
        pass

    def __call__(self, image, t):
        raise RuntimeError("boom")


def test_bench_writes_tables_resumes_and_keeps_failures(tmp_path, oval_file, monkeypatch):
    monkeypatch.setitem(drivers.DRIVERS, "crashing", lambda world: Crashing())
    runs = plan(["expert", "crashing"], [str(oval_file)], ["clockwise", "anticlockwise"])
    assert len(runs) == 4
    records = run_bench(runs, tmp_path, jobs=1, progress=False)
    ok = [r for r in records if "error" not in r]
    failed = [r for r in records if "error" in r]
    assert len(ok) == 2 and all(r["stop_reason"] == "lap_completed" for r in ok)
    assert len(failed) == 2 and all("RuntimeError: boom" in r["error"] for r in failed)
    md = (tmp_path / "results.md").read_text()
    assert "| Driver | Oval cw | Oval acw | lap / explicit |" in md
    assert re.search(r"\| Manual \| 100 % 0:\d\d \| 100 % 0:\d\d \| 1.00 \|", md)
    assert "| crashing | error | error |  |" in md
    seed = (tmp_path / "results_seed.md").read_text()
    assert "| Oval (clockwise) | 100% |" in seed and "| Oval (anti-clockwise) | 100% |" in seed
    assert "Manual Percentage" in seed and "crashing Percentage" in seed
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
    clean, dark = (r.key.rsplit("__", 1) for r in runs)
    assert [clean[0], dark[0]] == ["expert__oval__clockwise__r0",
                                   "expert__oval__clockwise__r0__dark"]
    assert clean[1] != dark[1]  # the digest covers the conditions, not only the names
    records = run_bench(runs, tmp_path, jobs=1, progress=False)
    assert [r["perturbation"] for r in records] == ["clean", "dark"]
    assert records[1]["appearance"]["brightness"] == 0.55
    saved = json.loads((tmp_path / "runs" / f"{runs[1].key}.json").read_text())
    assert len(saved["trajectory"]["x"]) == len(saved["trajectory"]["cte"]) > 100
    summary = json.loads((tmp_path / "results.json").read_text())["runs"]
    assert all("trajectory" not in r for r in summary)
    assert "**Robustness" in (tmp_path / "results.md").read_text()
    robustness = (tmp_path / "robustness.md").read_text()
    assert robustness.startswith("**Robustness") and "| Manual | 100 % (1/1) |" in robustness
    plots = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert plots == ["cte_oval.png", "lap_times.png", "robustness.png", "trajectory_expert.png"]
    page = (tmp_path / "report.html").read_text()
    assert "<caption>Driving results" in page and "<caption>Robustness" in page
    assert page.count('src="data:image/png;base64,') == 4
    links = re.findall(r'href="(runs/[^"]+\.json)"', page)
    assert links == [f"runs/{r.key}.json" for r in runs]
    assert all((tmp_path / link).is_file() for link in links)
    with pytest.raises(FollowLineError, match="unknown perturbation"):
        plan(["expert"], [str(oval_file)], ["clockwise"], perturbations=["fog"])


def test_same_file_names_are_different_runs_and_an_empty_record_is_run_again(
        tmp_path, oval_file):
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


@pytest.mark.slow  # 80 s on a loaded 2-core machine; test_labels.py is the quick check
def test_two_drivers_or_circuits_of_one_name_get_two_rows(tmp_path, oval_file):
    folders = [tmp_path / "a", tmp_path / "b"]
    models = []
    for folder in folders:  # two different networks, each saved as tinypilotnet.keras
        model, card = build_untrained("tinypilotnet")
        models.append(save_model(model, card, folder))
    assert models[0].name == models[1].name == "tinypilotnet.keras"
    mine = tmp_path / "mine" / "simple.yaml"  # a user's circuit whose name is simple
    mine.parent.mkdir()
    mine.write_text(oval_file.read_text().replace("name: oval", "name: simple"))
    runs = plan([str(m) for m in models] + ["expert"], [str(mine)], ["clockwise"])
    runs += plan(["expert"], ["simple"], ["clockwise"])
    run_bench(runs, tmp_path / "out", jobs=1, progress=False)
    md = (tmp_path / "out" / "results.md").read_text()
    rows = [line.split(" | ")[0] for line in md.splitlines() if line.startswith("| ")]
    assert rows[1:] == ["| Manual", "| tinypilotnet.keras (a/)", "| tinypilotnet.keras (b/)"]
    assert "| Driver | Simple (mine/) cw | Simple (built-in) cw |" in md
    csv = (tmp_path / "out" / "results.csv").read_text()
    assert csv.count("tinypilotnet.keras (a/)") == csv.count("tinypilotnet.keras (b/)") == 1
    page = (tmp_path / "out" / "report.html").read_text()
    assert "tinypilotnet.keras (a/)" in page and "simple (built-in)" in page
    plots = {p.name for p in (tmp_path / "out" / "plots").iterdir()}
    assert {"cte_simple_built-in.png", "cte_simple_mine.png",
            "trajectory_tinypilotnet.keras_a.png"} <= plots, plots


# --- the process lifecycle, with real processes and signals -------------------------------

BENCH_ARGS = ["--models", "expert", "--circuits", "simple", "--repeat", "5", "--laps", "3",
              "--jobs", "2", "--quiet"]  # 10 runs of about a second each


def start_bench(out):
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-m", "follow_line", "bench", *BENCH_ARGS,
                             "--out", str(out)], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=default_sigint)


def default_sigint():
    """In the child: SIGINT as at a terminal, even if this test run inherited it ignored.

    A non-interactive shell ignores SIGINT in its background jobs (`make test &`).
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for_runs(out, count, proc, timeout=120.0):
    import time

    deadline = time.monotonic() + timeout
    while len(list((out / "runs").glob("*.json"))) < count:
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline
        time.sleep(0.05)


def group_gone_within(pgid, seconds):
    """Whether every process of the bench's process group has exited within `seconds`."""
    import os
    import signal
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    os.killpg(pgid, signal.SIGKILL)
    return False


def finish_and_check(out):
    """Resume the bench to the end: every run present exactly once, reports of all of them."""
    from follow_line.bench.runner import plan

    runs = plan(["expert"], ["simple"], ["clockwise", "anticlockwise"], repeat=5, laps=3)
    records = run_bench(runs, out, jobs=2, progress=False)
    assert sorted(p.stem for p in (out / "runs").glob("*.json")) == sorted(r.key for r in runs)
    assert all(r["stop_reason"] == "lap_completed" and len(r["lap_times_s"]) == 3
               for r in records)
    results = json.loads((out / "results.json").read_text())
    assert results["keys"] == [r.key for r in runs] and len(results["runs"]) == 10
    assert len((out / "results.csv").read_text().splitlines()) == 11


@pytest.mark.parametrize("how", ["kill -9", "SIGINT to the main process",
                                 "Ctrl-C twice to the group"])
def test_a_stopped_bench_leaves_no_process_and_loses_no_run(tmp_path, how):
    import os
    import signal
    import time

    out = tmp_path / "bench"
    proc = start_bench(out)
    wait_for_runs(out, 2, proc)
    if how == "kill -9":
        os.kill(proc.pid, signal.SIGKILL)
    elif how == "SIGINT to the main process":
        os.kill(proc.pid, signal.SIGINT)
    else:
        os.killpg(proc.pid, signal.SIGINT)
        time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)
    code = proc.wait(timeout=10)
    assert code == (-signal.SIGKILL if how == "kill -9" else 130)
    assert group_gone_within(proc.pid, 5.0), f"processes left after {how}"
    assert len(list((out / "runs").glob("*.json"))) < 10  # it stopped, not ran the queue
    finish_and_check(out)


@pytest.mark.slow
def test_a_bench_killed_at_random_moments_finishes_with_every_run_once(tmp_path):
    import os
    import random
    import signal
    import time

    out = tmp_path / "bench"
    rng = random.Random(0)
    for _ in range(4):
        proc = start_bench(out)
        time.sleep(rng.uniform(0.5, 6.0))  # during start-up, a run, or a record's write
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert group_gone_within(proc.pid, 5.0)
    finish_and_check(out)


@pytest.mark.parametrize("field, value", [
    ("completion_pct", "abc"), ("completion_pct", float("nan")), ("completion_pct", 140.0),
    ("lap_times_s", "fast"), ("lap_times_s", [float("inf")]), ("stop_reason", None),
    ("direction", 3), ("cte_mean_m", "x"),
])
def test_a_record_that_does_not_validate_is_run_again_with_a_warning(
        tmp_path, oval_file, caplog, field, value):
    runs = plan(["expert"], [str(oval_file)], ["clockwise"])
    run_bench(runs, tmp_path, jobs=1, progress=False)
    path = tmp_path / "runs" / f"{runs[0].key}.json"
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, field: value}))  # NaN and Infinity as JSON allows
    for report in ("results.json", "results.md", "report.html"):
        (tmp_path / report).unlink()
    [again] = run_bench(runs, tmp_path, jobs=1, progress=False)
    assert again["completion_pct"] == 100.0 and again[field] == record[field]
    assert json.loads((tmp_path / "results.json").read_text())["runs"][0]["completion_pct"] \
        == 100.0
    [warning] = [r.getMessage() for r in caplog.records if "running it again" in r.getMessage()]
    assert str(path) in warning and field in warning


def test_a_trajectory_of_strings_is_run_again(tmp_path, oval_file):
    runs = plan(["expert"], [str(oval_file)], ["clockwise"])
    run_bench(runs, tmp_path, jobs=1, progress=False)
    path = tmp_path / "runs" / f"{runs[0].key}.json"
    record = json.loads(path.read_text())
    record["trajectory"]["x"] = [str(x) for x in record["trajectory"]["x"]]
    path.write_text(json.dumps(record))
    [again] = run_bench(runs, tmp_path, jobs=1, progress=False)
    assert all(isinstance(x, float) for x in again["trajectory"]["x"])
