"""bench --executor ray on a local Ray instance: the same records as the local executor."""

import json

import pytest

pytest.importorskip("ray")

from follow_line.bench.ray_executor import materialise, payloads  # noqa: E402
from follow_line.bench.runner import plan, run_bench  # noqa: E402

FIELDS = ("driver", "circuit", "direction", "completion_pct", "lap_times_s", "stop_reason",
          "distance_m", "cte_max_m")


def test_ray_gives_the_local_records_and_resumes(tmp_path, oval_file):
    runs = plan(["expert"], [str(oval_file)], ["clockwise", "anticlockwise"])
    local = run_bench(runs, tmp_path / "local", jobs=1, progress=False)
    on_ray = run_bench(runs, tmp_path / "ray", jobs=2, progress=False, executor="ray")
    assert [[r[f] for f in FIELDS] for r in on_ray] == [[r[f] for f in FIELDS] for r in local]
    assert all(r["circuit_file"] == str(oval_file) for r in on_ray)  # the user's file, not
    keys = sorted(p.name for p in (tmp_path / "ray" / "runs").iterdir())  # the worker's copy
    assert keys == sorted(p.name for p in (tmp_path / "local" / "runs").iterdir())
    md = (tmp_path / "ray" / "results.md").read_text()
    assert md == (tmp_path / "local" / "results.md").read_text()
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "ray" / "runs").iterdir()}
    run_bench(runs, tmp_path / "ray", jobs=2, progress=False, executor="ray")  # resumes:
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # nothing run again


def test_networks_and_circuits_travel_by_content(tmp_path, oval_file):
    runs = plan(["expert", "tinypilotnet"], [str(oval_file), "simple"], ["clockwise"])
    drivers, circuits = payloads(runs)
    assert drivers["expert"] == {}
    assert set(drivers["tinypilotnet"]) == {"tinypilotnet.keras", "tinypilotnet.json"}
    assert circuits[str(oval_file)] == {"oval.yaml": oval_file.read_bytes()}
    copy = materialise(drivers["tinypilotnet"], "tinypilotnet")
    assert copy.endswith("tinypilotnet.keras") and copy != "tinypilotnet"
    assert materialise(drivers["tinypilotnet"], "x") == copy  # one folder per content
    assert json.loads(open(copy.replace(".keras", ".json")).read())["name"] == "tinypilotnet"


@pytest.mark.slow
def test_ctrl_c_cancels_the_ray_tasks_and_a_resume_finishes(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "bench"
    command = [sys.executable, "-m", "follow_line", "bench", "--models", "expert",
               "--circuits", "simple", "--repeat", "6", "--laps", "2", "--jobs", "2",
               "--executor", "ray", "--quiet", "--out", str(out)]
    proc = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 300
    while len(list((out / "runs").glob("*.json"))) < 2:
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()[-2000:]
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    assert "interrupted" in proc.stderr.read().decode()
    done = len(list((out / "runs").glob("*.json")))
    assert 2 <= done < 12
    finished = subprocess.run(command, capture_output=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert len(list((out / "runs").glob("*.json"))) == 12


def test_an_address_where_nothing_listens_is_one_line_and_exit_2(tmp_path):
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    t0 = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "follow_line", "bench", "--executor", "ray",
                             "--address", f"127.0.0.1:{port}", "--models", "expert",
                             "--circuits", "simple", "--out", str(tmp_path), "--quiet"],
                            capture_output=True, text=True, timeout=120)
    assert time.monotonic() - t0 < 60
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert f"cannot reach Ray at 127.0.0.1:{port}: nothing accepted a connection" in line


@pytest.mark.slow
def test_a_kill_9_of_the_bench_ends_the_local_ray_it_started(tmp_path):
    import contextlib
    import signal
    import subprocess
    import sys
    import time

    from test_ray_local import gone_within, marked_by

    command = [sys.executable, "-m", "follow_line", "bench", "--models", "expert",
               "--circuits", "simple", "--repeat", "4", "--jobs", "2", "--executor", "ray",
               "--quiet", "--out", str(tmp_path / "bench")]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid, deadline = str(proc.pid), time.monotonic() + 240
    names = set()
    while not ({"raylet", "ray::DashboardAgent"} <= names and "ray::remote_drive" in names):
        assert proc.poll() is None and time.monotonic() < deadline
        names = set()
        for p in marked_by(pid):  # a driving worker: every kind of Ray process is up
            with contextlib.suppress(OSError):
                command = open(f"/proc/{p}/cmdline", "rb").read().split(b"\0")[0].decode()
                names.add(command.split("/")[-1])
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert gone_within(pid, 10.0), marked_by(pid)
