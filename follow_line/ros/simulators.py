"""What each simulator choice (`sim:=...`) needs from ROS 2, and one line saying how to get it.

Plain Python: the launch file, `follow-line ros` and `follow-line bench --ros` check a choice
here before they start anything, so that a missing Gazebo is one line naming the packages to
install (for the user's ROS distribution) and `sim:=builtin`, not a launch traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

SIMULATORS = ("gz", "gazebo", "builtin")
GRAPH_SIMULATORS = ("builtin", "gz")  # what `follow-line ros` and `bench --ros` drive
#: ROS packages each choice runs (the launch file's IncludeLaunchDescription and Node actions).
REQUIRED_PACKAGES = {"gz": ("ros_gz_sim", "ros_gz_bridge", "ros_gz_image"),
                     "gazebo": ("gazebo_ros",),
                     "builtin": ()}
#: The Debian package that brings them, `{distro}` being ROS_DISTRO.
APT_PACKAGES = {"gz": "ros-{distro}-ros-gz", "gazebo": "ros-{distro}-gazebo-ros-pkgs"}
CLASSIC_DISTROS = ("humble",)  # Gazebo classic (gazebo_ros) is released for these only


def ros_package_prefix(name: str) -> Path | None:
    """The install prefix of the ROS package `name` in the ament index (AMENT_PREFIX_PATH)."""
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_prefix
    except ImportError:
        return None
    try:
        return Path(get_package_prefix(name))
    except (PackageNotFoundError, ValueError, OSError):  # OSError: no AMENT_PREFIX_PATH
        return None


def has_ros_package(name: str) -> bool:
    """Whether the ament index (AMENT_PREFIX_PATH) has the ROS package `name`."""
    return ros_package_prefix(name) is not None


def ros_executable(package: str, name: str) -> str | None:
    """The path of `package`'s executable `name` (what `ros2 run package name` runs), or None."""
    prefix = ros_package_prefix(package)
    path = prefix / "lib" / package / name if prefix else None
    return str(path) if path and path.is_file() and os.access(path, os.X_OK) else None


def missing_packages(sim: str, has_package: Callable[[str], bool] | None = None
                     ) -> list[str]:
    """The ROS packages `sim` needs that are not installed (`has_package`: the ament index)."""
    has_package = has_package or has_ros_package
    return [name for name in REQUIRED_PACKAGES[sim] if not has_package(name)]


def missing_simulator_message(sim: str, distro: str | None = None,
                              has_package: Callable[[str], bool] | None = None
                              ) -> str | None:
    """One line saying what to install for `sim` (and that sim:=builtin exists); None if ready.

    `distro` defaults to ROS_DISTRO (set by a ROS installation's setup.bash).
    """
    if sim not in REQUIRED_PACKAGES:
        raise ValueError(f"unknown simulator {sim!r}; known: {', '.join(SIMULATORS)}")
    missing = missing_packages(sim, has_package)
    if not missing:
        return None
    distro = distro or os.environ.get("ROS_DISTRO") or ""
    what = ("Gazebo Sim through ros_gz" if sim == "gz" else "Gazebo classic through gazebo_ros")
    if sim == "gazebo" and distro and distro not in CLASSIC_DISTROS:
        install = (f"Gazebo classic is not released for ROS 2 {distro} (only for "
                   f"{', '.join(CLASSIC_DISTROS)}): use sim:=gz")
    else:
        package = APT_PACKAGES[sim].format(distro=distro or "<distro>")
        install = f"install it with `sudo apt install {package}`"
    return (f"sim:={sim} needs {what}, and ROS package(s) {', '.join(missing)} are not "
            f"installed: {install}, or drive the package's own simulator with sim:=builtin")
