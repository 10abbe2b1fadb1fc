import json
import re
import subprocess
import sys

import numpy as np
import pytest

from follow_line.cli import main


def test_circuits_lists_names_and_lengths(capsys):
    assert main(["circuits"]) == 0
    out = capsys.readouterr().out
    for name in ("simple", "monaco", "nurburgring"):
        assert name in out
    assert "length (m)" in out


def test_drive_writes_the_record(tmp_path, oval_file, capsys):
    out = tmp_path / "run.json"
    video = tmp_path / "run.mp4"
    code = main(["drive", "--driver", "expert", "--circuit", str(oval_file), "--direction",
                 "anticlockwise", "--laps", "2", "--json", str(out), "--video", str(video),
                 "--quiet"])
    assert code == 0
    record = json.loads(out.read_text())
    for key in ("circuit", "direction", "driver", "completion_pct", "lap_times_s", "stop_reason",
                "distance_m", "avg_speed_mps", "cte_mean_m", "cte_max_m"):
        assert key in record
    assert record["circuit"] == "oval" and record["driver"] == "expert"
    assert record["stop_reason"] == "lap_completed" and len(record["lap_times_s"]) == 2
    assert record["distance_m"] > 2 * 290
    assert video.stat().st_size > 10_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json", "run.mp4"]  # no partial
    assert json.loads(capsys.readouterr().out)["completion_pct"] == 100.0


def test_drive_reports_a_timeout_with_exit_status_1(oval_file, capsys):
    code = main(["drive", "--circuit", str(oval_file), "--timeout", "3", "--quiet"])
    assert code == 1
    record = json.loads(capsys.readouterr().out)
    assert record["stop_reason"] == "timeout" and 0 < record["completion_pct"] < 100


def test_user_errors_are_one_line_and_exit_2(tmp_path, capsys):
    assert main(["drive", "--circuit", "monza"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("follow-line: error: unknown circuit 'monza'") and "nurburgring" in err
    with pytest.raises(SystemExit) as exc:  # argparse: the choices are the circuits module's
        main(["drive", "--circuit", "simple", "--direction", "left"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--direction: invalid choice: 'left'" in err and "anticlockwise" in err
    with pytest.raises(SystemExit) as exc:
        main(["bench", "--directions", "clockwise,left", "--out", str(tmp_path / "b")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--directions: invalid choice: 'left' (choose from clockwise, anticlockwise)" in err
    assert main(["drive", "--driver", "nobody"]) == 2
    assert "known: expert" in capsys.readouterr().err
    bad = tmp_path / "c.yaml"
    bad.write_text("name: c\nroad_width: -1\nline_width: 0.4\n"
                   "centre_line: [[0, 0], [50, 0], [50, 50], [0, 50]]\n")
    assert main(["drive", "--circuit", str(bad)]) == 2
    assert ("c.yaml:2: field 'road_width' must be a number of metres from 2 to 30"
            in capsys.readouterr().err)
    assert main(["bench", "--perturb", "fog", "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "unknown perturbation 'fog'; known: blur, bright, cast, clean, colours" in err


def test_bench_perturbed_from_the_command_line(tmp_path, oval_file, capsys):
    out = tmp_path / "bench"
    assert main(["bench", "--models", "expert", "--circuits", str(oval_file), "--directions",
                 "clockwise", "--perturb", "clean,shadow", "--repeat", "2", "--jobs", "1",
                 "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"\| Manual \| 100 % 0:\d\d \| 1.00 \|", printed)
    assert "| Manual | 100 % (2/2) | 100 % (2/2) |" in printed
    assert "| Oval (clockwise) | 100% ± 0 |" in (out / "results_seed.md").read_text()
    assert len(list((out / "runs").glob("*.json"))) == 4
    assert (out / "plots" / "robustness.png").stat().st_size > 1000


def test_python_dash_m_works():
    result = subprocess.run([sys.executable, "-m", "follow_line", "--version"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.startswith("follow_line ")


def test_non_finite_and_out_of_range_numbers_are_refused(capsys):
    import os

    import pytest

    for argv, text in [
        (["frame", "--at", "nan", "--out", "x.png"], "--at: must be a finite number, got nan"),
        (["drive", "--timeout", "nan"], "--timeout: must be a finite number, got nan"),
        (["drive", "--timeout", "-1"], "--timeout: must be > 0"),
        (["ros", "--real-time-factor", "inf"], "must be a finite number, got inf"),
        (["collect", "--out", "d", "--recovery", "-1"], "--recovery: must be >= 0"),
        (["bench", "--out", "b", "--jobs", str((os.cpu_count() or 1) + 1)],
         f"at most {os.cpu_count()} (the cores of this machine"),
    ]:
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2, argv
        assert text in capsys.readouterr().err, argv


def test_an_unwritable_record_is_refused_before_driving(tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("mine")
    assert main(["drive", "--json", str(blocker / "run.json"), "--quiet"]) == 2
    captured = capsys.readouterr()
    assert f"{blocker} is a file, not a folder" in captured.err and captured.out == ""
    assert main(["drive", "--json", str(tmp_path), "--quiet"]) == 2
    assert "is a folder; give a file path" in capsys.readouterr().err
    assert blocker.read_text() == "mine"


def test_a_failed_write_prints_the_record_first_and_exits_3(tmp_path, oval_file, capsys,
                                                            monkeypatch):
    import errno

    import follow_line.files

    def full_disk(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(follow_line.files, "write_json_atomic", full_disk)
    out = tmp_path / "run.json"
    assert main(["drive", "--circuit", str(oval_file), "--json", str(out), "--quiet"]) == 3
    captured = capsys.readouterr()
    assert json.loads(captured.out)["stop_reason"] == "lap_completed"
    assert f"{out}: No space left on device" in captured.err and "Traceback" not in captured.err


def test_bad_files_get_one_line_naming_the_problem(tmp_path, capsys):
    import shutil
    from pathlib import Path

    import pytest

    models = Path(__file__).resolve().parents[1] / "models"
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(bytes(range(128, 256)))
    blocker = tmp_path / "afile"
    blocker.write_text("mine")
    (tmp_path / "dir.keras").mkdir()
    (tmp_path / "zero.keras").write_bytes(b"")
    (tmp_path / "trunc.keras").write_bytes((models / "pilotnet.keras").read_bytes()[:5000])
    for name in ("dir", "zero", "trunc"):
        shutil.copy(models / "pilotnet.json", tmp_path / f"{name}.json")
    cases = [
        (["drive", "--circuit", str(binary)], "not a text (YAML) file"),
        (["frame", "--out", str(tmp_path / "view")], "ending in .png, .jpg, .jpeg"),
        (["drive", "--video", str(blocker / "v.mp4")], f"{blocker} is a file, not a folder"),
        (["train", "--model", "skynet", "--data", str(tmp_path)], "unknown network 'skynet'"),
        (["drive", "--model", str(tmp_path / "dir.keras")], "is a folder, not a .keras"),
        (["drive", "--model", str(tmp_path / "zero.keras")], "is empty (0 bytes)"),
        (["drive", "--model", str(tmp_path / "trunc.keras")], "(5000 bytes) is not a .keras"),
        (["bench", "--out", str(blocker), "--models", "expert"], "is a file; give a results"),
    ]
    for argv, text in cases:
        try:
            code = main([*argv, "--quiet"] if argv[0] == "drive" else argv)
        except SystemExit as exc:  # argparse
            pytest.fail(f"{argv}: argparse exit {exc.code}")
        err = capsys.readouterr().err
        assert code == 2 and text in err, (argv, err)
    assert blocker.read_text() == "mine"


def test_drive_and_frame_take_a_perturbation_and_any_appearance_change(tmp_path, oval_file,
                                                                       capsys):
    import cv2

    out = tmp_path / "run.json"
    code = main(["drive", "--circuit", str(oval_file), "--perturb", "offset", "--look",
                 "camera_roll=0.03", "--look", "palette.grass=[120, 110, 60]", "--json",
                 str(out), "--quiet"])
    assert code == 0
    record = json.loads(out.read_text())
    assert record["appearance"]["camera_roll"] == 0.03
    assert record["appearance"]["palette"]["grass"] == [120, 110, 60]
    assert record["start_offset"]["lateral"] == 1.0  # from --perturb offset
    frames = {}
    for name, look in (("plain", []), ("dry", ["--look", "palette.grass=[150,130,60]"])):
        path = tmp_path / f"{name}.png"
        assert main(["frame", "--circuit", str(oval_file), "--out", str(path), *look]) == 0
        frames[name] = cv2.imread(str(path))[..., ::-1]
    grass = frames["dry"][260, 0]  # 9.6 m ahead, 9.6 m left: beyond the road and kerb
    assert np.abs(grass.astype(int) - (150, 130, 60)).max() <= 2
    assert np.array_equal(frames["plain"][300:], frames["dry"][300:])  # near: road only
    capsys.readouterr()
    assert main(["frame", "--out", str(tmp_path / "x.png"), "--look", "fog=1"]) == 2
    assert "unknown appearance key 'fog'; known: brightness" in capsys.readouterr().err
    assert main(["drive", "--look", "texture=3", "--quiet"]) == 2
    assert "texture=3 (allowed: 0-0.5)" in capsys.readouterr().err


def test_a_network_drive_prints_nothing_on_stderr_unless_verbose(oval_file):
    command = [sys.executable, "-m", "follow_line", "drive", "--model", "tinypilotnet",
               "--circuit", str(oval_file), "--timeout", "2", "--quiet"]
    quiet = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 1  # a 2 s timeout: lap not completed
    assert quiet.stderr == ""
    assert json.loads(quiet.stdout)["stop_reason"] == "timeout"
    verbose = subprocess.run(command + ["--verbose"], capture_output=True, text=True,
                             timeout=300)
    assert "oneDNN" in verbose.stderr or "XNNPACK" in verbose.stderr


def test_our_own_errors_still_reach_the_terminal_when_quiet():
    result = subprocess.run([sys.executable, "-m", "follow_line", "drive", "--model", "nope"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("follow-line: error: unknown driver 'nope'")


def test_look_values_are_numbers_in_their_documented_range(tmp_path, capsys):
    from pathlib import Path

    from follow_line.world.appearance import RANGES, allowed

    out = str(tmp_path / "x.png")
    for look, text in [("blur_sigma=1e6", "blur_sigma=1000000.0 (allowed: 0-10 px)"),
                       ("blur_sigma=300", "blur_sigma=300 (allowed: 0-10 px)"),
                       ("blur_sigma=fast", "blur_sigma='fast' (allowed: 0-10 px)"),
                       ("seed=-1", "seed=-1 (allowed: an integer 0-4294967295)"),
                       ("gamma=0", "gamma=0 (allowed: 0.1-10)"),
                       ("colour_cast=[1,1,9]", "three gains 0-3 for R, G, B")]:
        assert main(["frame", "--out", out, "--look", look]) == 2, look
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and text in err, (look, err)
    assert main(["frame", "--out", out, "--look", "blur_sigma=2.5e0"]) == 0  # any spelling
    guide = (Path(__file__).resolve().parents[1] / "docs" / "guide.md").read_text()
    guide = " ".join(guide.split())  # lines wrapped anywhere
    for key in RANGES:
        assert f"`{key}` {allowed(key)}" in guide, key


def test_frame_reads_any_number_after_at_and_refuses_one_off_the_lap(tmp_path, capsys):
    out = str(tmp_path / "x.png")
    assert main(["frame", "--at", "-1e300", "--out", out]) == 2
    err = capsys.readouterr().err
    assert err == ("follow-line: error: --at -1e+300: not on the lap (allowed: within "
                   "+-457.1 m, the length of simple)\n")
    for value in ("-inf", "-nan"):
        with pytest.raises(SystemExit) as exc:
            main(["frame", "--at", value, "--out", out])
        assert exc.value.code == 2
        assert f"--at: must be a finite number, got {value}" in capsys.readouterr().err
    assert main(["frame", "--at", "-3e1", "--out", out]) == 0
    assert "simple clockwise at -30.0 m" in capsys.readouterr().out


def test_one_bad_shipped_network_is_marked_and_the_rest_listed(tmp_path, monkeypatch, capsys):
    import shutil
    from pathlib import Path

    models = Path(__file__).resolve().parents[1] / "models"
    for name in ("tinypilotnet", "broken"):
        shutil.copy(models / "tinypilotnet.json", tmp_path / f"{name}.json")
    shutil.copy(models / "tinypilotnet.keras", tmp_path / "tinypilotnet.keras")
    (tmp_path / "broken.keras").write_bytes(b"not a zip")
    (tmp_path / "zcard.keras").write_bytes((models / "tinypilotnet.keras").read_bytes())
    (tmp_path / "zcard.json").write_text("{")
    monkeypatch.setenv("FOLLOW_LINE_MODELS", str(tmp_path))
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.split(f"Shipped networks in {tmp_path}:\n")[1].splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("  broken ") and "UNREADABLE:" in lines[0]
    assert "is not a .keras file" in lines[0]
    assert lines[1].split()[:2] == ["tinypilotnet", "tinypilotnet"]
    assert lines[2].startswith("  zcard ") and "UNREADABLE:" in lines[2]


def test_an_output_that_cannot_be_written_is_exit_2_before_driving_as_documented(tmp_path,
                                                                                 capsys):
    from pathlib import Path

    reliability = (Path(__file__).resolve().parents[1] / "docs" / "reliability.md").read_text()
    codes = " ".join(reliability.split("## Exit codes")[1].split("##")[0].split())
    assert "2 bad input" in codes and "an output file that cannot be written" in codes
    assert "3 an I/O failure during the work" in codes
    blocker = tmp_path / "afile"
    blocker.write_text("mine")
    for option in ("--json", "--video"):
        for path in (blocker / "run.out", tmp_path, Path("/proc/version/run.out")):
            assert main(["drive", option, str(path), "--quiet"]) == 2, (option, path)
            captured = capsys.readouterr()
            assert captured.out == "" and captured.err.count("\n") == 1, (option, path)
    assert blocker.read_text() == "mine"


@pytest.mark.parametrize("command", [["drive", "--circuit"], ["frame", "--out", "f.png",
                                                              "--circuit"],
                                     ["bench", "--out", "b", "--models", "expert", "--circuits"],
                                     ["ros", "--circuit"]])
def test_a_nan_line_width_is_one_line_and_exit_2_before_anything_runs(tmp_path, capsys,
                                                                      monkeypatch, command):
    import importlib.util

    if command[0] == "ros" and importlib.util.find_spec("rclpy") is None:
        pytest.skip("ROS 2 (rclpy) is not installed")
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "nan.yaml"
    bad.write_text("name: nan\nroad_width: 8\nline_width: .nan\n"
                   "centre_line: [[0, 0], [50, 0], [50, 50], [0, 50]]\n")
    assert main([*command, str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nan.yaml:3: field 'line_width'" in err
    assert "from 0.05 to 4" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nan.yaml"]  # nothing written
