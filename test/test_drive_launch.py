"""launch_testing: drive.launch.py with the built-in simulator publishes commands and progress.

Runs where ROS 2 (launch_testing, rclpy) is installed; skipped here with that reason.
"""

import time
import unittest
from pathlib import Path

import pytest

pytest.importorskip(
    "launch_testing", reason="launch_testing comes with ROS 2, which is not installed here")

import launch  # noqa: E402
import launch_testing.actions  # noqa: E402
import rclpy  # noqa: E402
from geometry_msgs.msg import Twist  # noqa: E402
from launch.actions import IncludeLaunchDescription  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402
from std_msgs.msg import Float32  # noqa: E402

LAUNCH = Path(__file__).resolve().parents[1] / "launch" / "drive.launch.py"


@pytest.mark.launch_test
def generate_test_description():
    """The package's launch file with the built-in simulator and the explicit driver."""
    return launch.LaunchDescription([
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(str(LAUNCH)),
            launch_arguments={"sim": "builtin", "lockstep": "false", "model": "expert",
                              "headless": "true", "circuit": "simple"}.items()),
        launch_testing.actions.ReadyToTest(),
    ])


class TestDriving(unittest.TestCase):
    """The car gets moving commands and the lap monitor reports progress."""

    @classmethod
    def setUpClass(cls):
        rclpy.init()
        cls.node = rclpy.create_node("follow_line_launch_test")

    @classmethod
    def tearDownClass(cls):
        cls.node.destroy_node()
        rclpy.shutdown()

    def test_commands_and_progress(self):
        commands, progress = [], []
        self.node.create_subscription(Twist, "/cmd_vel", commands.append, 10)
        self.node.create_subscription(Float32, "/follow_line_lap_monitor/completion",
                                      progress.append, 10)
        deadline = time.time() + 60.0
        while time.time() < deadline and not (progress and progress[-1].data > 1.0):
            rclpy.spin_once(self.node, timeout_sec=0.1)
        self.assertTrue(any(c.linear.x > 0.5 for c in commands), "no forward command")
        self.assertTrue(progress and progress[-1].data > 1.0, "no lap progress")
