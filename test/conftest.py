"""Shared fixtures: small circuits written by the tests themselves."""

from __future__ import annotations

import os

import cv2
import pytest

cv2.setNumThreads(1)

# ROS 2 (the PyPI wheels): each test process on its own DDS domains, no traffic off this
# machine, the shipped transport settings, and rosidl's message field checks (off by default
# since Humble). Set before any test imports rclpy; child processes inherit them.
DOMAIN_BLOCK = 6  # domains per test process: see ros_domain()
DOMAIN_BLOCKS = 16  # blocks 1-16 of 0-101 (any host's port mapping); block 0 holds domain 0


def _domain_block() -> int:
    """The first domain of this test process's block: its own among pytest-xdist's workers.

    The run (xdist's run id, else the process id) picks a block at random, so that test runs
    side by side on one machine seldom meet; worker gwN takes the Nth block after it.
    """
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    seed = int(run[:8], 16) if run else os.getpid()
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:])
    return DOMAIN_BLOCK * (1 + (seed + worker) % DOMAIN_BLOCKS)


# Where each use sits in a block: the tests' graphs (ROS_DOMAIN_ID); the caller of a ROS
# bench, whose runs take the next three (caller + 1 + slot); the Gazebo stand-in runs.
DOMAIN_ROLES = {"graph": 0, "bench": 1, "gazebo": 5}


def ros_domain(role: str) -> int:
    """This test process's domain for `role` (a key of DOMAIN_ROLES)."""
    return _domain_block() + DOMAIN_ROLES[role]


@pytest.fixture(scope="session")
def ros_domains() -> dict[str, int]:
    """This test process's domain for each role of DOMAIN_ROLES."""
    return {role: ros_domain(role) for role in DOMAIN_ROLES}


os.environ["ROS_DOMAIN_ID"] = str(ros_domain("graph"))
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
