"""The generated Gazebo assets: SDF structure, the circuit geometry, colours, car and topics."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest

from follow_line import gazebo
from follow_line.circuits import (
    DIRECTIONS,
    builtin_circuits,
    held_out_circuits,
    load_circuit,
)
from follow_line.circuits.geometry import ReferenceLine
from follow_line.sim.appearance import ASPHALT, EDGE_LINE, GRASS, KERB, RED_LINE
from follow_line.sim.camera import CameraModel
from follow_line.sim.kinematics import Pose
from follow_line.sim.render import Renderer

ROOT = Path(__file__).resolve().parents[1]
CIRCUITS = builtin_circuits() + held_out_circuits()  # worlds for both groups


@cache
def world(name: str) -> ET.Element:
    return ET.parse(ROOT / "worlds" / f"{name}.world").getroot()


@cache
def car() -> ET.Element:
    return ET.parse(ROOT / "models" / "f1_car" / "model.sdf").getroot()


def numbers(text: str) -> np.ndarray:
    return np.array([float(v) for v in text.split()])


def rgb(visual: ET.Element) -> tuple[int, int, int]:
    diffuse = numbers(visual.findtext("material/diffuse"))
    return tuple(int(round(c * 255)) for c in diffuse[:3])


@cache
def track(name: str) -> list[tuple[str, np.ndarray, tuple[int, int, int]]]:
    """(visual name, polygon (K, 2), colour) of every polyline visual of the circuit."""
    link = world(name).find("world/model[@name='circuit']/link")
    out = []
    for visual in link.findall("visual"):
        points = [numbers(p.text) for p in visual.findall("geometry/polyline/point")]
        out.append((visual.get("name"), np.array(points), rgb(visual)))
    return out


def inside(polygons: list[np.ndarray], point) -> float:
    """Signed distance of `point` into the nearest polygon containing it (< 0: in none)."""
    pt = (float(point[0]), float(point[1]))
    return max(cv2.pointPolygonTest(p.astype(np.float32).reshape(-1, 1, 2), pt, True)
               for p in polygons)


def resolve(plugin: ET.Element, name: str) -> str:
    """The topic a gazebo_ros plugin node gives `name` (gazebo_ros/src/node.cpp semantics).

    The node lives in <ros><namespace> (default "/"); each <remapping>from:=to</remapping>
    becomes a `-r` rule, and the first rule whose `from` resolves to the name applies.
    """
    ros = plugin.find("ros")
    namespace = ros.findtext("namespace", "/") if ros is not None else "/"

    def qualify(topic: str) -> str:
        return topic if topic.startswith("/") else namespace.rstrip("/") + "/" + topic

    full = qualify(name)
    for rule in ros.findall("remapping") if ros is not None else []:
        source, target = rule.text.split(":=")
        if qualify(source) == full:
            return qualify(target)
    return full


def test_held_out_circuits_have_worlds_too():
    held_out = held_out_circuits()
    assert held_out == ["hungaroring", "montreal"]
    assert set(held_out) <= set(CIRCUITS) and set(builtin_circuits()) <= set(CIRCUITS)
    assert all((ROOT / "worlds" / f"{name}.world").is_file() for name in held_out)


@pytest.mark.parametrize("name", CIRCUITS)
def test_world_is_sdf_1_6_with_one_world_named_after_the_circuit(name):
    root = world(name)
    assert root.tag == "sdf" and root.get("version") == "1.6"
    worlds = root.findall("world")
    assert [w.get("name") for w in worlds] == [name]
    physics = worlds[0].find("physics")
    assert float(physics.findtext("max_step_size")) == 0.001
    assert float(physics.findtext("real_time_update_rate")) == 1000
    assert worlds[0].find("light[@type='directional']") is not None
    assert rgb(worlds[0].find("model[@name='ground_plane']/link/visual")) == GRASS
    assert (ROOT / "worlds" / f"{name}.world").stat().st_size < 2_000_000


@pytest.mark.parametrize("name", CIRCUITS)
def test_red_line_is_the_circuit_line_with_its_width(name):
    circuit = load_circuit(name)
    line = circuit.line("anticlockwise")
    half = circuit.line_width / 2
    red = [poly for visual, poly, colour in track(name) if visual.startswith("red_line")]
    assert red and all(colour == RED_LINE for visual, _, colour in track(name)
                       if visual.startswith("red_line"))
    # Every vertex of the red geometry lies on the band's edge, half a line width off the line.
    vertices = np.vstack(red)
    offsets = np.array([abs(line.project(x, y).cte) for x, y in vertices])
    assert np.max(np.abs(offsets - half)) < 0.002
    # Every circuit point is on the red line and the band around it is the line width
    # (within 1 cm each side): so the band's centre is the circuit's line within 1 cm.
    normals = np.column_stack([-np.sin(line.seg_heading), np.cos(line.seg_heading)])
    for point, normal in zip(line.points, normals, strict=True):
        assert inside(red, point) >= 0
        for sign in (1, -1):
            assert inside(red, point + sign * (half - 0.01) * normal) >= 0
            assert inside(red, point + sign * (half + 0.01) * normal) < 0


@pytest.mark.parametrize("name", CIRCUITS)
def test_track_polygons_are_simple_as_gazebo_triangulation_needs(name):
    for visual, polygon, _ in track(name):
        assert not ReferenceLine(polygon).self_intersects(), visual


@pytest.mark.parametrize("name", CIRCUITS)
def test_road_surface_is_flat_at_z0_above_the_ground_plane(name):
    link = world(name).find("world/model[@name='circuit']/link")
    tops = {numbers(v.findtext("pose"))[2] + float(v.findtext("geometry/polyline/height"))
            for v in link.findall("visual")}
    assert tops == {0.0}
    ground_z = numbers(world(name).findtext("world/model[@name='ground_plane']/pose"))[2]
    assert ground_z < 0


def test_gazebo_road_has_the_renderer_colours_at_every_ground_point():
    """What the world draws under a camera ray is the colour the built-in renderer shows."""
    circuit = load_circuit("simple")
    camera = CameraModel()
    renderer = Renderer(circuit, camera)
    line = circuit.line("anticlockwise")
    polygons = {}
    for _, polygon, colour in track("simple"):
        polygons.setdefault(colour, []).append(polygon)
    ground = camera.ground_points()
    rows = [int(camera.mount_height * camera.focal / forward) for forward in (2.0, 5.0, 9.0)]
    reach = circuit.road_width / 2 + 2.0
    seen = set()
    for s, lateral, turn in ((0.0, 0.0, 0.0), (120.0, 1.5, 0.25), (300.0, -2.5, -0.3)):
        x0, y0, heading = line.pose_at(s)
        pose = Pose(x0 - lateral * math.sin(heading), y0 + lateral * math.cos(heading),
                    heading + turn)
        image = renderer.render(pose)
        c, sn = math.cos(pose.theta), math.sin(pose.theta)
        for row in rows:
            for col in range(0, camera.width, 4):
                forward, left = ground[row, col] + (camera.mount_forward, 0.0)
                point = (pose.x + c * forward - sn * left, pose.y + sn * forward + c * left)
                if abs(line.project(*point).cte) > reach:
                    continue  # the renderer's distance grid only covers the road's surroundings
                depth = {colour: inside(polys, point) for colour, polys in polygons.items()}
                colour, best = max(depth.items(), key=lambda item: item[1])
                if abs(best) < 0.05:
                    continue  # within 5 cm of a band edge: both colours are right
                expected = colour if best > 0 else GRASS
                assert tuple(image[camera.horizon_row + row, col]) == expected, (s, row, col)
                seen.add(expected)
    assert seen == {RED_LINE, ASPHALT, EDGE_LINE, KERB, GRASS}


def test_car_camera_is_the_builtin_camera():
    camera = CameraModel()
    sensor = car().find("model/link/sensor[@type='camera']")
    assert sensor.get("name") == "cam_f1_left"
    assert float(sensor.findtext("update_rate")) == camera.rate_hz == 20
    assert float(sensor.findtext("camera/horizontal_fov")) == camera.hfov == 1.57
    assert int(sensor.findtext("camera/image/width")) == camera.width == 640
    assert int(sensor.findtext("camera/image/height")) == camera.height == 480
    pose = numbers(sensor.findtext("pose"))
    assert pose.tolist() == [camera.mount_forward, 0, camera.mount_height, 0, 0, 0]
    assert pose[0] == 1.0 and pose[2] == 0.6


def test_camera_height_over_the_road_matches_the_builtin_camera():
    """Spawned car + sensor pose: the camera is mount_height above the road surface (z 0)."""
    sensor_z = numbers(car().findtext("model/link/sensor/pose"))[2]
    for direction in DIRECTIONS:
        z = gazebo.spawn_pose(load_circuit("monaco"), direction)[2]
        assert z + sensor_z == pytest.approx(CameraModel().mount_height)


def test_car_body_is_behind_the_camera_so_the_camera_never_sees_it():
    link = car().find("model/link")
    camera_x = numbers(link.findtext("sensor/pose"))[0]
    for visual in link.findall("visual"):
        x = numbers(visual.findtext("pose"))[0]
        if visual.find("geometry/box") is not None:
            front = x + numbers(visual.findtext("geometry/box/size"))[0] / 2
        else:
            front = x + float(visual.findtext("geometry/cylinder/radius"))
        assert front < camera_x, visual.get("name")
    assert link.findtext("gravity") == "false"


def test_plugins_use_gazebo_ros_and_resolve_to_the_module_topics():
    model = car().find("model")
    camera_plugin = model.find("link/sensor/plugin")
    drive = model.find("plugin")
    assert camera_plugin.get("filename") == "libgazebo_ros_camera.so"
    assert drive.get("filename") == "libgazebo_ros_planar_move.so"
    # gazebo_ros_camera publishes <camera_name>/image_raw; planar_move uses cmd_vel and odom.
    image = resolve(camera_plugin, camera_plugin.findtext("camera_name") + "/image_raw")
    assert image == gazebo.CAMERA_TOPIC == "/cam_f1_left/image_raw"
    assert resolve(drive, "cmd_vel") == gazebo.CMD_VEL_TOPIC == "/cmd_vel"
    assert resolve(drive, "odom") == gazebo.ODOM_TOPIC == "/odom"
    assert camera_plugin.findtext("frame_name") == "camera_link"
    assert drive.findtext("odometry_frame") == "odom"
    assert drive.findtext("robot_base_frame") == "base_link"
    assert float(drive.findtext("publish_rate")) >= 20


def test_model_config_points_at_the_sdf():
    config = ET.parse(ROOT / "models" / "f1_car" / "model.config").getroot()
    assert config.findtext("name") == "f1_car" == car().find("model").get("name")
    assert config.find("sdf").get("version") == "1.6" and config.findtext("sdf") == "model.sdf"


def test_committed_assets_are_what_the_generator_writes(tmp_path, capsys):
    assert gazebo.main(["--root", str(tmp_path)]) == 0
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
                     if p.is_file())
    expected = [f"models/f1_car/{f}" for f in ("model.config", "model.sdf")]
    assert written == expected + sorted(f"worlds/{name}.world" for name in CIRCUITS)
    for relative in written:
        assert (tmp_path / relative).read_bytes() == (ROOT / relative).read_bytes(), (
            f"{relative} is stale: run `python -m follow_line.gazebo`")
    assert capsys.readouterr().out.count("\n") == len(written)


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_spawn_pose_is_at_the_start_gate_heading_along_the_line(direction):
    circuit = load_circuit("nurburgring")
    line = circuit.line(direction)
    x, y, _, yaw = gazebo.spawn_pose(circuit, direction)
    projection = line.project(x, y)
    assert abs(projection.cte) < 1e-9 and projection.s == pytest.approx(0.0, abs=1e-9)
    assert math.cos(yaw - line.seg_heading[0]) > 1 - 1e-12
    assert math.hypot(x - circuit.start[0], y - circuit.start[1]) < 0.5
    other = gazebo.spawn_pose(circuit, next(d for d in DIRECTIONS if d != direction))
    assert math.cos(yaw - other[3]) < -0.99  # the other direction faces the other way
