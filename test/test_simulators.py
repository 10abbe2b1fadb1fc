"""What each sim:= choice needs, and the one line that says how to get it."""

import pytest

from follow_line.ros.simulators import (
    REQUIRED_PACKAGES,
    SIMULATORS,
    has_ros_package,
    missing_packages,
    missing_simulator_message,
)


def none(name):
    return False


def test_builtin_needs_nothing_and_every_choice_is_covered():
    assert set(REQUIRED_PACKAGES) == set(SIMULATORS)
    assert missing_simulator_message("builtin", has_package=none) is None
    assert missing_simulator_message("gz", has_package=lambda name: True) is None


def test_gz_names_the_missing_packages_the_distro_package_and_builtin():
    installed = {"ros_gz_bridge"}
    assert missing_packages("gz", installed.__contains__) == ["ros_gz_sim", "ros_gz_image"]
    message = missing_simulator_message("gz", "kilted", installed.__contains__)
    assert message == ("sim:=gz needs Gazebo Sim through ros_gz, and ROS package(s) ros_gz_sim, "
                       "ros_gz_image are not installed: install it with `sudo apt install "
                       "ros-kilted-ros-gz`, or drive the package's own simulator with "
                       "sim:=builtin")


def test_gazebo_classic_is_for_humble_only(monkeypatch):
    humble = missing_simulator_message("gazebo", "humble", none)
    assert "sudo apt install ros-humble-gazebo-ros-pkgs" in humble and "sim:=builtin" in humble
    kilted = missing_simulator_message("gazebo", "kilted", none)
    assert "not released for ROS 2 kilted (only for humble): use sim:=gz" in kilted
    monkeypatch.delenv("ROS_DISTRO", raising=False)
    assert "ros-<distro>-gazebo-ros-pkgs" in missing_simulator_message("gazebo", None, none)
    monkeypatch.setenv("ROS_DISTRO", "jazzy")
    assert "ros-jazzy-ros-gz" in missing_simulator_message("gz", None, none)


def test_an_unknown_simulator_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown simulator 'unity'; known: gz, gazebo, builtin"):
        missing_simulator_message("unity")


def test_the_ament_index_without_a_ros_installation_finds_nothing(monkeypatch):
    monkeypatch.delenv("AMENT_PREFIX_PATH", raising=False)
    assert has_ros_package("ros_gz_sim") is False
