"""The ROS graph's bring-up checks what a node would refuse only once started."""

import importlib.util

import pytest

from follow_line.cli import main
from follow_line.errors import FollowLineError
from follow_line.ros.bringup import _failure_line, domain_id

needs_ros = pytest.mark.skipif(importlib.util.find_spec("rclpy") is None,
                               reason="ROS 2 wheels not installed")


@pytest.mark.parametrize("text", ["300", "233", "abc", "-1", "1e2", "7.0", "٣"])
def test_an_invalid_ros_domain_id_is_one_line_naming_the_range(text):
    with pytest.raises(FollowLineError) as info:
        domain_id({"ROS_DOMAIN_ID": text})
    assert str(info.value) == (f"ROS_DOMAIN_ID is {text!r}; allowed: an integer from 0 to 232 "
                               "(0 to 101 is the safe choice on Linux)")


@pytest.mark.parametrize("text, value", [("", 0), ("0", 0), (" 42 ", 42), ("232", 232)])
def test_a_valid_ros_domain_id_is_read(text, value):
    assert domain_id({"ROS_DOMAIN_ID": text}) == value
    assert domain_id({}) == 0


@needs_ros
@pytest.mark.parametrize("command", [["ros", "--model", "expert"],
                                     ["bench", "--ros", "--models", "expert", "--circuits",
                                      "simple", "--out", "b"]])
def test_an_invalid_ros_domain_id_exits_2_before_any_node_starts(tmp_path, monkeypatch,
                                                                 capsys, command):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ROS_DOMAIN_ID", "300")
    assert main([*command, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ROS_DOMAIN_ID is '300'; allowed: an integer from 0" in err
    assert list(tmp_path.iterdir()) == []  # nothing started, nothing written


def test_why_a_node_died_is_read_from_its_log_when_quiet(tmp_path):
    log = tmp_path / "sim_node.log"
    log.write_text("[INFO] [1.0] [sim_node]: starting\nTraceback (most recent call last):\n"
                   '  File "x.py", line 1, in <module>\n'
                   "rclpy._rclpy_pybind11.RCLError: failed to initialize rcl: domain id\n"
                   "[INFO] [1.1] [sim_node]: bye\n")
    assert _failure_line(log) == ("rclpy._rclpy_pybind11.RCLError: failed to initialize rcl: "
                                  "domain id")
    log.write_text("[ERROR] [1.0] [drive_node]: parameter 'model' is bad\nTraceback\nboom\n")
    assert _failure_line(log) == "parameter 'model' is bad"  # a node's own error first
    log.write_text("[INFO] [1.0] [x]: nothing wrong\n")
    assert _failure_line(log) is None
    assert _failure_line(tmp_path / "missing.log") is None
