"""Gazebo Sim in a run of the graph (`follow-line ros --sim gz`, `bench --ros --sim gz`).

What drive.launch.py's sim:=gz starts, without launch and headless: the Gazebo Sim server
alone on the circuit's world (`gz sim -s -r --headless-rendering`: it runs at once and renders
the camera through EGL, without a display), ros_gz_sim's `create` putting the car at the start
gate heading along the direction, ros_gz_bridge's parameter_bridge with the bridge
configuration (/clock and /odom to ROS, /cmd_vel to Gazebo) and ros_gz_image's image_bridge
for the camera. The world, the car and the configuration are generated into the run's folder
(`gazebo.sdf.write_assets`), so a circuit file of the user's gets its world too.
`bringup.run_graph` starts these before the drive and lap-monitor nodes and supervises them
all alike.

Gazebo keeps its own clock, in real time: a run is free-running and the nodes use the bridged
/clock. Every process has the run's environment: ROS_DOMAIN_ID for ROS, GZ_PARTITION for
Gazebo Transport (the bench gives each run its own of both). The executables are `gz` on PATH
and the ROS packages' own, in their lib folder of the ament index; without them, one line says
what to install. Written to ros_gz's and gz-sim's command lines; never run against a real
Gazebo here (it is not installable on the machines this package is developed on).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from follow_line.errors import FollowLineError
from follow_line.gazebo.sdf import (
    BRIDGE_CONFIG,
    CAR_MODEL,
    GZ_IMAGE_TOPICS,
    car_model_dir,
    spawn_pose,
    world_file,
    write_assets,
)
from follow_line.ros.simulators import (
    APT_PACKAGES,
    missing_simulator_message,
    ros_executable,
)
from follow_line.world.worlds import get_world

if TYPE_CHECKING:
    from follow_line.ros.bringup import GraphSpec

SERVER, SPAWNER = "gz sim", "ros_gz_sim create"
BRIDGE, IMAGE_BRIDGE = "follow_line_gz_bridge", "follow_line_gz_image"  # drive.launch.py's names
#: The ROS executable of each process: (package, executable).
ROS_EXECUTABLES = {SPAWNER: ("ros_gz_sim", "create"),
                   BRIDGE: ("ros_gz_bridge", "parameter_bridge"),
                   IMAGE_BRIDGE: ("ros_gz_image", "image_bridge")}
ONE_SHOT = (SPAWNER,)  # its work is done when it exits with 0: the car is in the world
PARTITION_ENV = "GZ_PARTITION"


def executables() -> dict[str, str]:
    """The executable of each Gazebo process, or a FollowLineError saying what to install."""
    message = missing_simulator_message("gz")
    if message:
        raise FollowLineError(message)
    found = {SERVER: shutil.which("gz"),
             **{name: ros_executable(*where) for name, where in ROS_EXECUTABLES.items()}}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        package = APT_PACKAGES["gz"].format(distro=os.environ.get("ROS_DISTRO") or "<distro>")
        raise FollowLineError(
            f"sim:=gz needs Gazebo Sim's executables, and {', '.join(missing)} cannot be found "
            "(gz on PATH, the others in their ROS package's lib folder): install Gazebo "
            f"Harmonic or later and ros_gz (`sudo apt install {package}` brings both from ROS 2 "
            "Jazzy on) and source the installation's setup.bash, or drive the package's own "
            "simulator with sim:=builtin")
    return {name: path for name, path in found.items() if path is not None}


def check_gz_spec(spec: GraphSpec) -> None:
    """Refuse what Gazebo Sim cannot run (lockstep, another real-time factor) or cannot find."""
    if spec.lockstep:
        raise FollowLineError("Gazebo Sim runs on its own clock, in real time: lockstep is the "
                              "built-in simulator's; drive Gazebo free-running")
    if spec.real_time_factor != 1.0:
        raise FollowLineError(f"real-time factor is {spec.real_time_factor}; Gazebo Sim runs "
                              "its worlds at 1.0 (the factor is the built-in simulator's)")
    executables()


def gz_commands(spec: GraphSpec, folder: Path) -> dict[str, list[str]]:
    """The command line of each Gazebo process of a run, the server first.

    Writes the circuit's world, the car and the bridge configuration into `folder`.
    """
    paths = executables()
    world = get_world(spec.world).name
    circuit = get_world(world).load(spec.circuit)
    write_assets(folder, [circuit], ("gz",), [world])
    pose = spawn_pose(circuit, spec.direction)
    return {
        SERVER: [paths[SERVER], "sim", "-s", "-r", "--headless-rendering",
                 str(folder / world_file(circuit.name, "gz", world))],
        SPAWNER: [paths[SPAWNER], "-world", circuit.name, "-name", CAR_MODEL,
                  "-file", str(folder / car_model_dir("gz", world) / "model.sdf"),
                  *[arg for flag, value in zip(("-x", "-y", "-z", "-Y"), pose, strict=True)
                    for arg in (flag, str(float(value)))]],
        BRIDGE: [paths[BRIDGE], "--ros-args", "-r", f"__node:={BRIDGE}",
                 "-p", f"config_file:={folder / BRIDGE_CONFIG}"],
        IMAGE_BRIDGE: [paths[IMAGE_BRIDGE], *GZ_IMAGE_TOPICS, "--ros-args",
                       "-r", f"__node:={IMAGE_BRIDGE}"],
    }
