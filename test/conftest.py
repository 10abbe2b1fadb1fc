"""Shared fixtures: small circuits written by the tests themselves."""

from __future__ import annotations

import os

import cv2
import pytest

cv2.setNumThreads(1)

# ROS 2 (the PyPI wheels): each test run on its own DDS domain, no traffic off this machine,
# the shipped transport settings, and rosidl's message field checks (off by default since
# Humble). Set before any test imports rclpy; child processes inherit them.
os.environ["ROS_DOMAIN_ID"] = str(1 + os.getpid() % 100)  # 0-101: any host's port mapping
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ["ROS_PYTHON_CHECK_FIELDS"] = "1"
os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "config", "fastdds.xml")


@pytest.fixture(autouse=True, scope="session")
def _litert_cache(tmp_path_factory):
    """Converted LiteRT models of the tests go to a temporary cache, not the user's."""
    os.environ["FOLLOW_LINE_CACHE"] = str(tmp_path_factory.mktemp("cache"))


OVAL = """\
name: oval
description: test oval
road_width: 8.0
line_width: 0.4
centre_line:
  - [0, 0]
  - [60, 0]
  - [90, 30]
  - [60, 60]
  - [0, 60]
  - [-30, 30]
"""


@pytest.fixture(scope="session")
def oval_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("circuits") / "oval.yaml"
    path.write_text(OVAL)
    return path


@pytest.fixture(scope="session")
def oval(oval_file):
    from follow_line.world.circuits import load_circuit

    return load_circuit(oval_file)
