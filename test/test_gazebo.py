"""The generated Gazebo assets (classic and gz): SDF structure, circuit geometry, car, topics."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest

from follow_line import interface
from follow_line.gazebo import sdf as gazebo
from follow_line.world.appearance import ASPHALT, EDGE_LINE, GRASS, KERB, RED_LINE
from follow_line.world.camera import CameraModel
from follow_line.world.circuits import (
    DIRECTIONS,
    builtin_circuits,
    held_out_circuits,
    load_circuit,
)
from follow_line.world.circuits.geometry import ReferenceLine
from follow_line.world.kinematics import Pose
from follow_line.world.render import Renderer
from follow_line.world.worlds import get_world

ROOT = Path(__file__).resolve().parents[1]
CIRCUITS = builtin_circuits() + held_out_circuits()  # worlds for both groups
FLAVOURS = gazebo.FLAVOURS


@cache
def world(name: str, flavour: str = "classic") -> ET.Element:
    return ET.parse(ROOT / gazebo.world_file(name, flavour)).getroot()


@cache
def car(flavour: str = "classic") -> ET.Element:
    return ET.parse(ROOT / gazebo.car_model_dir(flavour) / "model.sdf").getroot()


def numbers(text: str) -> np.ndarray:
    return np.array([float(v) for v in text.split()])


def rgb(visual: ET.Element) -> tuple[int, int, int]:
    diffuse = numbers(visual.findtext("material/diffuse"))
    return tuple(int(round(c * 255)) for c in diffuse[:3])


@cache
def track(name: str, flavour: str = "classic") -> list[tuple[str, np.ndarray, tuple]]:
    """(visual name, polygon (K, 2), colour) of every polyline visual of the circuit."""
    link = world(name, flavour).find("world/model[@name='circuit']/link")
    out = []
    for visual in link.findall("visual"):
        points = [numbers(p.text) for p in visual.findall("geometry/polyline/point")]
        out.append((visual.get("name"), np.array(points), rgb(visual)))
    return out


def shape(element: ET.Element) -> tuple:
    """An element's tag, attributes, text and children, whitespace between elements aside."""
    return (element.tag, element.attrib, (element.text or "").strip(),
            [shape(child) for child in element])


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
    for flavour in FLAVOURS:
        assert all((ROOT / gazebo.world_file(name, flavour)).is_file() for name in held_out)


def test_asset_paths_per_flavour():
    assert gazebo.world_file("monaco") == "worlds/monaco.world"
    assert gazebo.world_file("monaco", "gz") == "worlds/gz/monaco.sdf"
    assert gazebo.car_model_dir() == "models/f1_car"
    assert gazebo.car_model_dir("gz") == "models/f1_car_gz"
    with pytest.raises(ValueError, match="unknown Gazebo flavour 'ignition'; known: classic, gz"):
        gazebo.world_sdf(load_circuit("simple"), "ignition")


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("name", CIRCUITS)
def test_world_is_sdf_with_one_world_named_after_the_circuit(name, flavour):
    root = world(name, flavour)
    assert root.tag == "sdf" and root.get("version") == {"classic": "1.6", "gz": "1.9"}[flavour]
    worlds = root.findall("world")
    assert [w.get("name") for w in worlds] == [name]
    physics = worlds[0].find("physics")
    assert float(physics.findtext("max_step_size")) == 0.001
    assert float(physics.findtext("real_time_update_rate")) == 1000
    assert worlds[0].find("light[@type='directional']") is not None
    assert rgb(worlds[0].find("model[@name='ground_plane']/link/visual")) == GRASS
    assert (ROOT / gazebo.world_file(name, flavour)).stat().st_size < 2_000_000


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("name", CIRCUITS)
def test_red_line_is_the_circuit_line_with_its_width(name, flavour):
    circuit = load_circuit(name)
    line = circuit.line("anticlockwise")
    half = circuit.line_width / 2
    red = [poly for visual, poly, colour in track(name, flavour) if visual.startswith("red_line")]
    assert red and all(colour == RED_LINE for visual, _, colour in track(name, flavour)
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
def test_gz_world_has_the_classic_ground_bands_and_scene(name):
    """The same road, ground, sun and scene in both flavours: only plugins and systems differ."""
    classic, gz = track(name, "classic"), track(name, "gz")
    assert [(v, c) for v, _, c in gz] == [(v, c) for v, _, c in classic]
    assert all(np.array_equal(a, b) for (_, a, _), (_, b, _) in zip(gz, classic, strict=True))
    for path in ("world/model[@name='ground_plane']", "world/model[@name='circuit']",
                 "world/scene", "world/light"):
        assert shape(world(name, "gz").find(path)) == shape(world(name, "classic").find(path))


@pytest.mark.parametrize("name", CIRCUITS)
def test_track_polygons_are_simple_as_gazebo_triangulation_needs(name):
    for visual, polygon, _ in track(name):
        assert not ReferenceLine(polygon).self_intersects(), visual


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("name", CIRCUITS)
def test_road_surface_is_flat_at_z0_above_the_ground_plane(name, flavour):
    link = world(name, flavour).find("world/model[@name='circuit']/link")
    tops = {numbers(v.findtext("pose"))[2] + float(v.findtext("geometry/polyline/height"))
            for v in link.findall("visual")}
    assert tops == {0.0}
    ground_z = numbers(world(name, flavour).findtext("world/model[@name='ground_plane']/pose"))[2]
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


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_car_camera_is_the_builtin_camera(flavour):
    camera = CameraModel()
    sensor = car(flavour).find("model/link/sensor[@type='camera']")
    assert sensor.get("name") == "cam_f1_left"
    assert float(sensor.findtext("update_rate")) == camera.rate_hz == 20
    assert float(sensor.findtext("camera/horizontal_fov")) == camera.hfov == 1.57
    assert int(sensor.findtext("camera/image/width")) == camera.width == 640
    assert int(sensor.findtext("camera/image/height")) == camera.height == 480
    assert sensor.findtext("camera/image/format") == "R8G8B8"  # rgb8 on the ROS side
    pose = numbers(sensor.findtext("pose"))
    assert pose.tolist() == [camera.mount_forward, 0, camera.mount_height, 0, 0, 0]
    assert pose[0] == 1.0 and pose[2] == 0.6
    # the reference F1 camera's noise
    assert sensor.findtext("camera/noise/type") == "gaussian"
    assert float(sensor.findtext("camera/noise/mean")) == 0.0
    assert float(sensor.findtext("camera/noise/stddev")) == 0.007


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_camera_height_over_the_road_matches_the_builtin_camera(flavour):
    """Spawned car + sensor pose: the camera is mount_height above the road surface (z 0)."""
    sensor_z = numbers(car(flavour).findtext("model/link/sensor/pose"))[2]
    for direction in DIRECTIONS:
        z = gazebo.spawn_pose(load_circuit("monaco"), direction)[2]
        assert z + sensor_z == pytest.approx(CameraModel().mount_height)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_car_body_is_behind_the_camera_so_the_camera_never_sees_it(flavour):
    link = car(flavour).find("model/link")
    camera_x = numbers(link.findtext("sensor/pose"))[0]
    for visual in link.findall("visual"):
        x = numbers(visual.findtext("pose"))[0]
        if visual.find("geometry/box") is not None:
            front = x + numbers(visual.findtext("geometry/box/size"))[0] / 2
        else:
            front = x + float(visual.findtext("geometry/cylinder/radius"))
        assert front < camera_x, visual.get("name")
    assert link.findtext("gravity") == "false"


def test_both_flavours_are_the_same_car_but_for_plugins_and_sensor_transport():
    def body(flavour):
        model = ET.fromstring(ET.tostring(car(flavour).find("model")))
        sensor = model.find("link/sensor")
        for parent, tag in ((model, "plugin"), (sensor, "plugin"), (sensor, "topic"),
                            (sensor, "gz_frame_id")):
            for element in parent.findall(tag):
                parent.remove(element)
        return shape(model)

    assert body("gz") == body("classic")


def test_car_collision_clears_the_ground_so_nothing_but_the_drive_moves_it():
    """No contact: the collision box's bottom is above the road (z 0) and the ground plane."""
    for flavour in FLAVOURS:
        collision = car(flavour).find("model/link/collision")
        z = numbers(collision.findtext("pose"))[2]
        height = numbers(collision.findtext("geometry/box/size"))[2]
        assert z - height / 2 > 0.05


def test_classic_plugins_use_gazebo_ros_and_resolve_to_the_module_topics():
    model = car("classic").find("model")
    camera_plugin = model.find("link/sensor/plugin")
    drive = model.find("plugin")
    assert camera_plugin.get("filename") == "libgazebo_ros_camera.so"
    assert drive.get("filename") == "libgazebo_ros_planar_move.so"
    # gazebo_ros_camera publishes <camera_name>/image_raw; planar_move uses cmd_vel and odom.
    image = resolve(camera_plugin, camera_plugin.findtext("camera_name") + "/image_raw")
    assert image == interface.CAMERA.graph == "/cam_f1_left/image_raw"
    assert resolve(drive, "cmd_vel") == interface.CMD_VEL.graph == "/cmd_vel"
    assert resolve(drive, "odom") == interface.ODOM.graph == "/odom"
    assert camera_plugin.findtext("frame_name") == "camera_link"
    assert drive.findtext("odometry_frame") == "odom"
    assert drive.findtext("robot_base_frame") == "base_link"
    assert float(drive.findtext("publish_rate")) >= 20
    assert world("simple", "classic").find("world/plugin").get("filename") == \
        "libgazebo_ros_state.so"


def test_gz_car_systems_use_the_module_topics_frames_and_rates():
    """gz-sim systems (gz-sim 7+ names): VelocityControl, OdometryPublisher, camera <topic>."""
    model = car("gz").find("model")
    systems = {p.get("name"): p for p in model.findall("plugin")}
    assert {name: p.get("filename") for name, p in systems.items()} == {
        "gz::sim::systems::VelocityControl": "gz-sim-velocity-control-system",
        "gz::sim::systems::OdometryPublisher": "gz-sim-odometry-publisher-system"}
    drive = systems["gz::sim::systems::VelocityControl"]
    odometry = systems["gz::sim::systems::OdometryPublisher"]
    assert drive.findtext("topic") == interface.CMD_VEL.graph == "/cmd_vel"
    assert odometry.findtext("odom_topic") == interface.ODOM.graph == "/odom"
    assert odometry.findtext("odom_frame") == interface.ODOM_FRAME == "odom"
    assert odometry.findtext("robot_base_frame") == interface.BASE_FRAME == "base_link"
    assert float(odometry.findtext("odom_publish_frequency")) == interface.ODOM_RATE_HZ >= 20
    assert odometry.findtext("dimensions") == "2"
    assert model.find("link").get("name") == interface.BASE_FRAME
    sensor = model.find("link/sensor")
    assert sensor.find("plugin") is None  # gz-sim: the Sensors system renders it
    assert sensor.findtext("topic") == interface.CAMERA.graph == "/cam_f1_left/image_raw"
    assert sensor.findtext("gz_frame_id") == interface.CAMERA_FRAME == "camera_link"


def test_gz_world_systems_and_no_gravity():
    root = world("simple", "gz").find("world")
    systems = [(p.get("filename"), p.get("name")) for p in root.findall("plugin")]
    assert systems == [
        ("gz-sim-physics-system", "gz::sim::systems::Physics"),
        ("gz-sim-user-commands-system", "gz::sim::systems::UserCommands"),
        ("gz-sim-scene-broadcaster-system", "gz::sim::systems::SceneBroadcaster"),
        ("gz-sim-sensors-system", "gz::sim::systems::Sensors")]
    assert root.findtext("plugin[@name='gz::sim::systems::Sensors']/render_engine") == "ogre2"
    # older gz-sim releases ignore a link's <gravity>: the world has none, so the floating car
    # keeps the camera's height.
    assert numbers(root.findtext("gravity")).tolist() == [0, 0, 0]
    assert root.find("physics").get("type") == "ignored"
    assert root.find("gui") is None  # gz-sim's GUI has its own default layout


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_model_config_points_at_the_sdf(flavour):
    config = ET.parse(ROOT / gazebo.car_model_dir(flavour) / "model.config").getroot()
    assert config.findtext("name") == "f1_car" == car(flavour).find("model").get("name")
    assert config.find("sdf").get("version") == car(flavour).get("version")
    assert config.findtext("sdf") == "model.sdf"


def test_committed_assets_are_what_the_generator_writes(tmp_path, capsys):
    assert gazebo.main(["--root", str(tmp_path)]) == 0
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
                     if p.is_file())
    expected = ["config/gz_bridge.yaml"]
    expected += [f"models/{m}/{f}" for m in ("f1_car", "f1_car_gz")
                 for f in ("model.config", "model.sdf")]
    expected += [f"worlds/gz/{name}.sdf" for name in CIRCUITS]
    expected += [f"worlds/{name}.world" for name in CIRCUITS]
    reference = get_world("reference")  # every other world's, one folder down
    expected += [f"models/reference/{m}/{f}" for m in ("f1_car", "f1_car_gz")
                 for f in ("model.config", "model.sdf")]
    expected += [gazebo.world_file(name, flavour, "reference") for flavour in gazebo.FLAVOURS
                 for name in reference.circuits() + reference.held_out()]
    assert written == sorted(expected)
    for relative in written:
        assert (tmp_path / relative).read_bytes() == (ROOT / relative).read_bytes(), (
            f"{relative} is stale: run `python -m follow_line.gazebo.sdf`")
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
