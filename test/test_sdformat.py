"""Every generated Gazebo world and car model through a real SDFormat parser: `ign sdf`.

Debian's ignition-tools and libsdformat-dev (SDFormat 12, `.ci/run` installs them) give
`ign sdf -k FILE`, which loads a file as Gazebo does (required elements and attributes, names,
the pose and frame graphs, the model's links) and prints `Valid.`. It keeps elements it does
not know without a word, so each file is also checked against the specification that
`ign sdf -d VERSION` prints: every element and attribute must be in it, except the contents of
<plugin> (free-form) and the gz-sensors extension <sensor><gz_frame_id>.
Where `ign sdf` is not installed these tests skip, saying so.
"""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import pytest

from follow_line.gazebo import sdf as gazebo
from follow_line.world.circuits import load_circuit

ROOT = Path(__file__).resolve().parents[1]
SDF_FILES = sorted(path for path in gazebo.assets() if path.endswith((".world", ".sdf")))
EXTENSIONS = {("sensor", "gz_frame_id")}  # read by gz-sensors from the element itself
INSTALL = "apt-get install ignition-tools libsdformat-dev"


@cache
def ign_sdf_missing() -> str | None:
    """Why `ign sdf` cannot run here, or None when it can."""
    if shutil.which("ign") is None:
        return f"`ign` is not installed ({INSTALL})"
    result = subprocess.run(["ign", "sdf", "--versions"], capture_output=True, text=True,
                            timeout=60)
    if result.returncode != 0 or not result.stdout.strip():
        return f"`ign sdf` does not run ({INSTALL}): {result.stdout.strip()[:200]}"
    return None


@pytest.fixture(autouse=True)
def _needs_ign_sdf():
    reason = ign_sdf_missing()
    if reason:
        pytest.skip(reason)


def check(path: Path) -> str:
    """What `ign sdf -k` prints on stdout (its stderr carries an unrelated backtrace note)."""
    result = subprocess.run(["ign", "sdf", "-k", str(path)], capture_output=True, text=True,
                            timeout=120)
    return result.stdout.strip() + ("" if result.returncode == 0 else
                                    f" (exit code {result.returncode})")


@cache
def spec(version: str) -> ET.Element:
    """The <element name="sdf"> description of SDFormat `version`, from `ign sdf -d`."""
    result = subprocess.run(["ign", "sdf", "-d", version], capture_output=True, text=True,
                            timeout=120, check=True)
    return ET.fromstring(result.stdout)


def unknown(node: ET.Element, description: ET.Element, path: str = "sdf") -> list[str]:
    """Paths of the elements and attributes under `node` that `description` does not define."""
    out = [f"{path}/@{name}" for name in node.attrib
           if description.find(f"attribute[@name='{name}']") is None]
    if description.find("element[@copy_data='true']") is not None:
        return out  # <plugin>: any content
    for child in node:
        if not isinstance(child.tag, str):
            continue  # a comment
        child_description = description.find(f"element[@name='{child.tag}']")
        if child_description is None:
            if (node.tag, child.tag) not in EXTENSIONS:
                out.append(f"{path}/{child.tag}")
            continue
        out += unknown(child, child_description, f"{path}/{child.tag}")
    return out


def test_every_world_and_car_model_is_listed():
    # two flavours x (circuits + the car) of each world: wide 5 circuits, reference 7
    assert len(SDF_FILES) == 2 * (5 + 1) + 2 * (7 + 1)
    assert {"worlds/gz/montreal.sdf", "worlds/hungaroring.world", "models/f1_car/model.sdf",
            "models/f1_car_gz/model.sdf", "worlds/gz/reference/montreal.sdf",
            "models/reference/f1_car/model.sdf"} <= set(SDF_FILES)


@pytest.mark.parametrize("relative", SDF_FILES)
def test_sdformat_parser_says_valid(relative):
    assert check(ROOT / relative) == "Valid."


@pytest.mark.parametrize("relative", SDF_FILES)
def test_every_element_and_attribute_is_in_the_sdformat_spec(relative):
    root = ET.parse(ROOT / relative).getroot()
    assert unknown(root, spec(root.get("version"))) == []


@pytest.mark.parametrize("flavour", gazebo.FLAVOURS)
def test_world_with_the_car_at_the_start_gate_is_valid(tmp_path, flavour):
    """The world and the car together, as after the spawn: one SDF, checked as a whole."""
    world = ET.fromstring(gazebo.world_sdf(load_circuit("monaco"), flavour))
    car = ET.fromstring(gazebo.car_model_sdf(flavour)).find("model")
    x, y, z, yaw = gazebo.spawn_pose(load_circuit("monaco"), "anticlockwise")
    pose = ET.Element("pose")
    pose.text = f"{x} {y} {z} 0 0 {yaw}"
    car.insert(0, pose)
    world.find("world").append(car)
    path = tmp_path / "monaco_with_car.sdf"
    path.write_text(ET.tostring(world, encoding="unicode"))
    assert check(path) == "Valid."


def test_the_checks_catch_broken_files(tmp_path):
    """Both checks fail where they should: a model without a link, a misspelt element."""
    broken = ET.fromstring(gazebo.car_model_sdf("gz"))
    model = broken.find("model")
    model.remove(model.find("link"))
    path = tmp_path / "no_link.sdf"
    path.write_text(ET.tostring(broken, encoding="unicode"))
    assert check(path) != "Valid."
    misspelt = ET.fromstring(gazebo.car_model_sdf("gz"))
    misspelt.find("model/link/sensor/camera/horizontal_fov").tag = "horizontal_fow"
    path = tmp_path / "misspelt.sdf"
    path.write_text(ET.tostring(misspelt, encoding="unicode"))
    assert check(path) == "Valid."  # what -k alone lets through
    assert unknown(misspelt, spec("1.9")) == ["sdf/model/link/sensor/camera/horizontal_fow"]
