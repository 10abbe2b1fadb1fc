"""Shared fixtures: small circuits written by the tests themselves."""

from __future__ import annotations

import os

import cv2
import pytest

cv2.setNumThreads(1)


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
    from follow_line.circuits import load_circuit

    return load_circuit(oval_file)
