"""`follow-line bench --ros`: each run through the ROS graph on real rclpy and Fast DDS.

In lockstep the records (and so the tables) are the in-process bench's; runs through ROS
have their own keys, resume, stop on Ctrl-C and refuse what the sim node cannot draw.
"""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from test_bench import default_sigint, group_gone_within

from follow_line.bench import ros_runs
from follow_line.bench.runner import BenchRun, plan, run_bench
from follow_line.cli import main
from follow_line.ros.simulators import missing_simulator_message

needs_ros = pytest.mark.skipif(importlib.util.find_spec("rclpy") is None,
                               reason="ROS 2 wheels not installed (make test installs them "
                               "from requirements-ros.txt)")
LAP_TOLERANCE_S = 0.05  # the issue's bar; in lockstep the lap times are in fact equal


@pytest.fixture(autouse=True)
def caller_domain(monkeypatch, ros_domains):
    """This test process's bench domain: the runs' (caller + 1 + slot) stay in its block."""
    monkeypatch.setenv("ROS_DOMAIN_ID", str(ros_domains["bench"]))
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")


def bench(out, *args):
    """`follow-line bench` in this process; its exit code."""
    return main(["bench", *args, "--out", str(out), "--quiet"])


def records_of(out):
    """The records of a bench folder, by (driver, circuit, direction)."""
    runs = json.loads((out / "results.json").read_text())["runs"]
    return {(r["driver"], r["circuit"], r["direction"]): r for r in runs}


def assert_same_results(ros, here):
    """Completion and stop reason equal, lap times within LAP_TOLERANCE_S, run by run."""
    assert ros.keys() == here.keys()
    for cell, record in ros.items():
        assert record["via"] == "ros-lockstep" and record["source"] == "ros", cell
        assert "error" not in record, (cell, record.get("error"))
        assert record["completion_pct"] == here[cell]["completion_pct"], cell
        assert record["stop_reason"] == here[cell]["stop_reason"], cell
        assert len(record["lap_times_s"]) == len(here[cell]["lap_times_s"]), cell
        for a, b in zip(record["lap_times_s"], here[cell]["lap_times_s"], strict=True):
            assert abs(a - b) <= LAP_TOLERANCE_S, (cell, a, b)


def test_ros_runs_have_their_own_keys_and_domains():
    here = BenchRun("pilotnet", "simple", "clockwise")
    lockstep = BenchRun("pilotnet", "simple", "clockwise", via=ros_runs.LOCKSTEP)
    free = BenchRun("pilotnet", "simple", "clockwise", latency="measured",
                    via=ros_runs.FREE_RUNNING)
    measured_here = BenchRun("pilotnet", "simple", "clockwise", latency="measured")
    assert len({here.key, lockstep.key, free.key, measured_here.key}) == 4
    assert lockstep.key.startswith("pilotnet__simple__clockwise__r0__ros-lockstep__")
    caller = int(os.environ["ROS_DOMAIN_ID"])
    domains = [ros_runs.run_domain(slot) for slot in range(101)]
    assert len(set(domains)) == 101 and caller not in domains
    assert all(0 <= d <= 101 for d in domains)
    assert domains[:3] == [caller + 1, caller + 2, caller + 3]


def test_domains_wrap_within_0_101_and_skip_the_callers(monkeypatch):
    monkeypatch.setenv("ROS_DOMAIN_ID", "100")
    assert [ros_runs.run_domain(s) for s in range(4)] == [101, 0, 1, 2]
    monkeypatch.delenv("ROS_DOMAIN_ID")
    assert ros_runs.run_domain(0) == 1


def test_what_the_graph_cannot_drive_is_refused_in_one_line(tmp_path, capsys, monkeypatch):
    out = tmp_path / "b"
    gz = missing_simulator_message("gz")
    assert gz, "ros_gz is installed here: this test expects it missing"
    cases = [
        (["--ros", "--sim", "gz"], gz),
        (["--ros", "--perturb", "dark"], "perturbation 'dark' cannot be driven through the "
                                         "ROS graph (the sim node draws the nominal world); "
                                         "allowed with --ros: clean"),
        (["--ros", "--perturb", "all"], "allowed with --ros: clean"),
        (["--ros", "--repeat", "2"], "allowed with --ros: --repeat 1"),
        (["--ros", "--latency", "100"], "latency '100' cannot be emulated through the ROS "
                                        "graph; allowed with --ros: 0 (lockstep), and "
                                        "measured with --free-running"),
        (["--ros", "--free-running", "--latency", "0"], "latency '0' cannot be emulated"),
        (["--ros", "--executor", "ray"], "--executor ray cannot drive ROS graphs"),
        (["--free-running"], "--free-running drives through the ROS graph: add --ros"),
        (["--sim", "builtin"], "--sim drives through the ROS graph: add --ros"),
    ]
    for args, text in cases:
        assert bench(out, "--models", "expert", "--circuits", "simple", *args) == 2, args
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("follow-line: error: "), (args, err)
        assert text in err, (args, err)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "rclpy" else real(name, *a))
    assert bench(out, "--ros", "--models", "expert", "--circuits", "simple") == 2
    assert "ROS 2 is not available (rclpy cannot be imported)" in capsys.readouterr().err
    assert not out.exists()  # refused before anything ran


@needs_ros
def test_lockstep_through_ros_gives_the_in_process_records_and_resumes(tmp_path, capsys):
    out = tmp_path / "bench"
    matrix = ["--models", "expert,pilotnet", "--circuits", "simple", "--jobs", "2"]
    assert bench(out, *matrix) == 0
    here, table = records_of(out), (out / "results.md").read_text()
    assert bench(out, "--ros", *matrix) == 0  # the same folder: no in-process record reused
    ros = records_of(out)
    assert_same_results(ros, here)
    caller = int(os.environ["ROS_DOMAIN_ID"])
    assert {r["ros_domain_id"] for r in ros.values()} <= {caller + 2, caller + 3}  # workers
    assert (out / "results.md").read_text() == table
    assert len(list((out / "runs").glob("*.json"))) == 8
    files = [*(out / "runs").glob("*.json"), out / "results.md"]
    stamps = {p: p.stat().st_mtime_ns for p in files}
    capsys.readouterr()
    assert bench(out, "--ros", *matrix) == 0  # resumed: nothing runs again, reports kept
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert capsys.readouterr().out.strip() == table.strip()


@needs_ros
def test_free_running_counts_the_drivers_real_latency(tmp_path, oval_file):
    runs = plan(["expert"], [str(oval_file)], ["clockwise"], latencies=["measured"],
                via=ros_runs.FREE_RUNNING)
    [record] = run_bench(runs, tmp_path, jobs=1, progress=False)
    csv = (tmp_path / "results.csv").read_text()
    assert "expert,oval,clockwise,clean,measured,0,100.0," in csv
    [lockstep] = run_bench(plan(["expert"], [str(oval_file)], ["clockwise"]), tmp_path,
                           jobs=1, progress=False)
    assert record["via"] == "ros-free-running" and record["latency"] == "measured"
    assert record["stop_reason"] == "lap_completed"
    assert 0.8 < record["real_time_factor"] < 1.2  # simulated in real time
    assert abs(record["lap_times_s"][0] - lockstep["lap_times_s"][0]) < 1.0


@needs_ros
@pytest.mark.parametrize("how", ["Ctrl-C to the group", "kill -9"])
def test_a_stopped_ros_bench_leaves_no_process_and_no_interrupted_record(tmp_path, how):
    out = tmp_path / "bench"
    proc = subprocess.Popen([sys.executable, "-m", "follow_line", "bench", "--ros", "--models",
                             "expert,pilotnet", "--circuits", "simple", "--jobs", "2",
                             "--quiet", "--out", str(out)], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=default_sigint)
    deadline = time.monotonic() + 120
    while not list((out / "runs").glob("*.json")):  # the graphs of the next runs are up
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)
    if how == "kill -9":
        os.kill(proc.pid, signal.SIGKILL)
    else:
        os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=20) == (-signal.SIGKILL if how == "kill -9" else 130)
    assert group_gone_within(proc.pid, 10.0), f"nodes or workers left after {how}"
    records = [json.loads(p.read_text()) for p in (out / "runs").glob("*.json")]
    assert 1 <= len(records) < 4
    assert all(r["stop_reason"] == "lap_completed" for r in records)


@needs_ros
@pytest.mark.slow
def test_the_issues_bar_twelve_runs_through_ros_as_in_process(tmp_path):
    matrix = ["--models", "expert,pilotnet,tinypilotnet", "--circuits", "simple,monaco",
              "--jobs", "2"]
    assert bench(tmp_path / "here", *matrix) == 0
    assert bench(tmp_path / "ros", "--ros", *matrix) == 0
    ros, here = records_of(tmp_path / "ros"), records_of(tmp_path / "here")
    assert len(ros) == 12
    assert_same_results(ros, here)
    assert ((tmp_path / "ros" / "results.md").read_text()
            == (tmp_path / "here" / "results.md").read_text())
