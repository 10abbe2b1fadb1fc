"""Gazebo assets generated from the circuit files: worlds, the F1 car and the gz bridge config.

Two flavours from the same geometry code, differing only in their plugins and systems:

* "classic": Gazebo classic 11 through gazebo_ros (Humble): worlds/<circuit>.world and
  models/f1_car/, the car driven by gazebo_ros_planar_move, its camera by gazebo_ros_camera.
* "gz": Gazebo Sim (Garden, Harmonic and later; gz-sim plugin names) through ros_gz:
  worlds/gz/<circuit>.sdf and models/f1_car_gz/, the world with the physics, user-commands,
  scene-broadcaster and sensors (ogre2) systems, the car with the velocity-control and
  odometry-publisher systems and a camera sensor publishing on Gazebo Transport; and
  config/gz_bridge.yaml, the ros_gz_bridge topics (the camera goes through ros_gz_image).

Each world draws the circuit as the built-in renderer does: the road's colour bands across the
red line (red line, asphalt, white edge lines, kerbs) over a grass ground plane. A band is cut
into chunks of CHUNK_SEGMENTS line segments; each chunk is one simple polygon (one side's
offset chain forward, the other side's back) extruded as an SDF `<polyline>` visual, whose top
face lies at z = 0. Offsets use mitred joins, so a band edge keeps its exact distance from
both segments at every vertex and neighbouring chunks share their end vertices.

Every named world (world/worlds.py) has its own: the default paths above are the wide
world's; another world's live one folder down (worlds/reference/, worlds/gz/reference/,
models/reference/f1_car*/), its car scaled to the world's wheelbase and carrying the world's
camera. `python -m follow_line.gazebo.sdf [--root DIR]` rewrites all of them.
"""

from __future__ import annotations

import argparse
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from follow_line.errors import unknown_name
from follow_line.files import write_text_atomic
from follow_line.interface import (
    BASE_FRAME,
    CAMERA,
    CAMERA_FRAME,
    CLOCK,
    CMD_VEL,
    ODOM,
    ODOM_FRAME,
    ODOM_RATE_HZ,
    remappings,
)
from follow_line.world.appearance import ASPHALT, EDGE_LINE, GRASS, HAZE, KERB, RED_LINE, SKY_TOP
from follow_line.world.circuits import Circuit
from follow_line.world.render import (
    EDGE_LINE_FROM_EDGE_M,
    FOG_END_M,
    FOG_START_M,
    KERB_WIDTH_M,
)
from follow_line.world.worlds import WIDE_WHEELBASE_M, World, get_world, world_names

# The car's topics and frames are `follow_line.interface`'s (their graph names). gz-sim
# publishes its clock on CLOCK (and on /world/<name>/clock).
CAR_MODEL = "f1_car"
CAMERA_NOISE_STDDEV = 0.007  # Gaussian pixel noise of the reference F1 camera (0-1 scale)
PHYSICS_STEP_S = 0.001
SPAWN_Z = 0.0  # the car floats (no gravity), its origin on the road surface

FLAVOURS = ("classic", "gz")
# SDF 1.9 is the newest that SDFormat 12 (Debian's, which the tests run) checks; gz-sim reads it.
SDF_VERSION = {"classic": "1.6", "gz": "1.9"}
GZ_RENDER_ENGINE = "ogre2"
# gz-sim world systems: (plugin file, system name, its elements). The names are those of
# gz-sim 7 (Garden) and later; Fortress (ignition-gazebo 6) knows only its ignition-* names.
GZ_WORLD_SYSTEMS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("gz-sim-physics-system", "gz::sim::systems::Physics", {}),
    ("gz-sim-user-commands-system", "gz::sim::systems::UserCommands", {}),  # /world/*/create
    ("gz-sim-scene-broadcaster-system", "gz::sim::systems::SceneBroadcaster", {}),  # the GUI
    ("gz-sim-sensors-system", "gz::sim::systems::Sensors", {"render_engine": GZ_RENDER_ENGINE}),
)
# ros_gz_bridge topics (config/gz_bridge.yaml): (topic, Gazebo type, direction), the same
# graph name on both sides. The camera goes through ros_gz_image's image_bridge.
GZ_BRIDGE = (
    (CLOCK, "gz.msgs.Clock", "GZ_TO_ROS"),
    (CMD_VEL, "gz.msgs.Twist", "ROS_TO_GZ"),
    (ODOM, "gz.msgs.Odometry", "GZ_TO_ROS"),
)
GZ_IMAGE_TOPICS = (CAMERA.graph,)  # ros_gz_image image_bridge: Gazebo image -> ROS, same name
BRIDGE_CONFIG = "config/gz_bridge.yaml"

TRACK_DEPTH_M = 0.02  # the ground plane lies this far below the road surface (no z-fighting)
CHUNK_SEGMENTS = 40  # line segments per polygon (20 m)
COORD_DECIMALS = 3  # 1 mm
SUN_DIRECTION = (-0.1, 0.05, -1.0)
AMBIENT = 0.4  # with the sun's diffuse 0.6 nearly overhead, a material shows its own colour
SUN_DIFFUSE = 0.6


def world_file(name: str, flavour: str = "classic", world: str | None = None) -> str:
    """Path of circuit `name`'s world, relative to the package root (or its share folder).

    The wide world's are in worlds/ (classic) and worlds/gz/; another world's one folder down.
    """
    _check_flavour(flavour)
    folder = _world_folder(world)
    return f"worlds/{folder}{name}.world" if flavour == "classic" \
        else f"worlds/gz/{folder}{name}.sdf"


def car_model_dir(flavour: str = "classic", world: str | None = None) -> str:
    """Folder of a world's car model (model.sdf, model.config), relative to the package root.

    The wide world's is models/f1_car (classic) or models/f1_car_gz; another world's is in
    its networks' folder (models/reference/f1_car...).
    """
    _check_flavour(flavour)
    models = get_world(world).models
    base = f"models/{models}/{CAR_MODEL}" if models else f"models/{CAR_MODEL}"
    return base if flavour == "classic" else f"{base}_gz"


def _world_folder(world: str | None) -> str:
    """'' for the wide world, else 'NAME/': where a world's files sit under worlds/."""
    name = get_world(world).name
    return "" if name == "wide" else f"{name}/"


def world_sdf(circuit: Circuit, flavour: str = "classic") -> str:
    """The world of `circuit`: sun, grass ground plane, the road and its red line.

    classic: SDF 1.6 with a user camera at the start gate and gazebo_ros_state; gz: SDF 1.9
    with the gz-sim systems and no gravity (older gz-sim releases ignore a link's <gravity>).
    """
    _check_flavour(flavour)
    root = ET.Element("sdf", version=SDF_VERSION[flavour])
    root.append(ET.Comment(f" Generated by follow_line.gazebo.sdf from circuit '{circuit.name}'"
                           f" ({flavour} flavour); do not edit. "))
    world = _sub(root, "world", name=circuit.name)
    world.append(_physics(flavour))
    if flavour == "gz":
        _sub(world, "gravity", "0 0 0")  # nothing in the world falls: the car floats
        for filename, name, elements in GZ_WORLD_SYSTEMS:
            world.append(_plugin(name, filename, elements))
    world.append(_scene())
    if flavour == "classic":
        world.append(_gui(circuit))
    world.append(_sun())
    world.append(_ground_plane(circuit))
    world.append(_track(circuit))
    if flavour == "classic":
        world.append(_state_plugin())
    return _to_text(root)


def car_model_sdf(flavour: str = "classic", world: str | None = None) -> str:
    """model.sdf of a world's F1 car: a floating body, its camera and its velocity drive.

    The body is the wide world's car scaled to the world's wheelbase (`World.wheelbase_m`).
    """
    _check_flavour(flavour)
    spec = get_world(world)
    scale = spec.wheelbase_m / WIDE_WHEELBASE_M
    root = ET.Element("sdf", version=SDF_VERSION[flavour])
    root.append(ET.Comment(f" Generated by follow_line.gazebo.sdf ({flavour} flavour); "
                           "do not edit. "))
    model = _sub(root, "model", name=CAR_MODEL)
    _sub(model, "static", "false")
    link = _sub(model, "link", name=BASE_FRAME)
    # The drive sets the velocities every step; without gravity and ground contact nothing
    # else acts on the car, so it moves exactly like the built-in simulator's kinematics.
    _sub(link, "gravity", "false")
    link.append(_inertial())
    link.append(_car_collision(scale))
    for visual in _car_visuals(scale):
        link.append(visual)
    link.append(_camera_sensor(spec, flavour))
    if flavour == "classic":
        model.append(_planar_move_plugin())
    else:
        model.append(_velocity_control_plugin())
        model.append(_odometry_publisher_plugin())
    return _to_text(root)


def model_config(flavour: str = "classic") -> str:
    """model.config of the F1 car, so Gazebo finds it on its model path."""
    _check_flavour(flavour)
    root = ET.Element("model")
    _sub(root, "name", CAR_MODEL)
    _sub(root, "version", "1.0")
    _sub(root, "sdf", "model.sdf", version=SDF_VERSION[flavour])
    author = _sub(root, "author")
    _sub(author, "name", "follow_line developers")
    _sub(author, "email", "follow-line@example.org")
    simulator = "Gazebo classic (gazebo_ros)" if flavour == "classic" else \
        "Gazebo Sim (ros_gz, config/gz_bridge.yaml)"
    _sub(root, "description", f"Formula-1 car for follow_line in {simulator}: camera "
                              f"{CAMERA.graph}, drive {CMD_VEL.graph}, odometry {ODOM.graph}.")
    return _to_text(root)


def bridge_config() -> list[dict[str, str]]:
    """The ros_gz_bridge parameter_bridge configuration (its YAML keys) of GZ_BRIDGE."""
    return [{"ros_topic_name": topic.graph, "gz_topic_name": topic.graph,
             "ros_type_name": topic.type, "gz_type_name": gz_type, "direction": direction}
            for topic, gz_type, direction in GZ_BRIDGE]


def bridge_yaml() -> str:
    """The text of config/gz_bridge.yaml, for parameter_bridge's `config_file` parameter.

    `ros2 run ros_gz_bridge parameter_bridge --ros-args -p config_file:=<it>` bridges the gz
    world's clock and the car's drive and odometry.
    """
    import yaml

    header = ("# Generated by python -m follow_line.gazebo.sdf; do not edit.\n"
              "# ros_gz_bridge topics of sim:=gz; the camera goes through ros_gz_image's "
              "image_bridge.\n")
    return header + yaml.safe_dump(bridge_config(), sort_keys=False)


def spawn_pose(circuit: Circuit, direction: str) -> tuple[float, float, float, float]:
    """(x, y, z, yaw) of the car at the start gate, heading along the line in `direction`."""
    x, y, yaw = circuit.line(direction).pose_at(0.0)
    return x, y, SPAWN_Z, yaw


def assets(circuits: list[Circuit] | None = None, flavours: tuple[str, ...] = FLAVOURS,
           worlds: list[str] | None = None) -> dict[str, str]:
    """Every generated file: path relative to the package root -> text.

    For each of `worlds` (default: every named world), the Gazebo world of each circuit
    (default: the world's circuits, the training ones and those held out for testing) and
    the world's car in each flavour; and the gz bridge configuration (the same for all).
    """
    texts = {}
    for name in worlds or world_names():
        world = get_world(name)
        chosen = circuits if circuits is not None else \
            [world.load(c) for c in world.circuits() + world.held_out()]
        for flavour in flavours:
            _check_flavour(flavour)
            for circuit in chosen:
                texts[world_file(circuit.name, flavour, world.name)] = world_sdf(circuit, flavour)
            car = car_model_dir(flavour, world.name)
            texts[f"{car}/model.sdf"] = car_model_sdf(flavour, world.name)
            texts[f"{car}/model.config"] = model_config(flavour)
    texts[BRIDGE_CONFIG] = bridge_yaml()
    return texts


def write_assets(root: Path, circuits: list[Circuit] | None = None,
                 flavours: tuple[str, ...] = FLAVOURS,
                 worlds: list[str] | None = None) -> list[Path]:
    """Write every file of `assets(circuits, flavours, worlds)` under `root`; their paths."""
    root = Path(root)
    paths = []
    for relative, text in assets(circuits, flavours, worlds).items():
        write_text_atomic(root / relative, text)
        paths.append(root / relative)
    return paths


def main(argv: list[str] | None = None) -> int:
    """Command line: regenerate the Gazebo assets under --root (default: the repository)."""
    parser = argparse.ArgumentParser(
        prog="python -m follow_line.gazebo.sdf",
        description="Regenerate the Gazebo worlds and car models (classic and gz) and the gz "
                    "bridge configuration.")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2],
                        help="folder that receives worlds/, models/f1_car*/ and config/")
    args = parser.parse_args(argv)
    for path in write_assets(args.root):
        print(path)
    return 0


def camera_name() -> str:
    """The camera plugin's camera_name: it publishes <namespace>/<camera_name>/image_raw."""
    parts = CAMERA.graph.split("/")
    if len(parts) != 3 or parts[0] or parts[2] != "image_raw":
        raise ValueError(f"CAMERA.graph must be /<camera_name>/image_raw, got {CAMERA.graph!r}")
    return parts[1]


def cross_section(circuit: Circuit) -> list[tuple[str, float, float, tuple[int, int, int]]]:
    """The road's colour bands as (name, from, to, RGB), offsets in metres, positive left."""
    half_road = circuit.road_width / 2
    inner, outer = (half_road - d for d in EDGE_LINE_FROM_EDGE_M)
    half_line = circuit.line_width / 2
    side = [("asphalt_inner", half_line, inner, ASPHALT), ("edge_line", inner, outer, EDGE_LINE),
            ("asphalt_outer", outer, half_road, ASPHALT),
            ("kerb", half_road, half_road + KERB_WIDTH_M, KERB)]
    bands = [("red_line", -half_line, half_line, RED_LINE)]
    bands += [(f"{name}_left", a, b, rgb) for name, a, b, rgb in side]
    bands += [(f"{name}_right", -b, -a, rgb) for name, a, b, rgb in side]
    return bands


def band_polygons(points: np.ndarray, low: float, high: float) -> list[np.ndarray]:
    """Simple polygons (K, 2) covering the band between offsets `low` and `high` of a loop."""
    miter = _miter_normals(points)
    left, right = points + high * miter, points + low * miter
    n = len(points)
    bounds = np.linspace(0, n, math.ceil(n / CHUNK_SEGMENTS) + 1).round().astype(int)
    polygons = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        idx = np.arange(a, b + 1) % n
        polygons.append(np.vstack([left[idx], right[idx][::-1]]))
    return polygons


def _miter_normals(points: np.ndarray) -> np.ndarray:
    """Per vertex of a closed loop, the left normal of the bisector scaled by 1/cos(turn/2)."""
    seg = np.roll(points, -1, axis=0) - points
    tangent = seg / np.linalg.norm(seg, axis=1)[:, None]
    bisector = tangent + np.roll(tangent, 1, axis=0)
    bisector /= np.linalg.norm(bisector, axis=1)[:, None]
    scale = 1.0 / np.sum(bisector * tangent, axis=1)
    return np.column_stack([-bisector[:, 1], bisector[:, 0]]) * scale[:, None]


def _track(circuit: Circuit) -> ET.Element:
    """Static model of the road: one extruded polyline visual per band chunk."""
    model = ET.Element("model", name="circuit")
    _sub(model, "static", "true")
    link = _sub(model, "link", name="track")
    points = circuit.line("anticlockwise").points
    for name, low, high, rgb in cross_section(circuit):
        for k, polygon in enumerate(band_polygons(points, low, high)):
            visual = _sub(link, "visual", name=f"{name}_{k:03d}")
            _sub(visual, "pose", _vec(0, 0, -TRACK_DEPTH_M, 0, 0, 0))
            _sub(visual, "cast_shadows", "false")
            polyline = _sub(_sub(visual, "geometry"), "polyline")
            for x, y in polygon:
                _sub(polyline, "point", _vec(x, y, digits=COORD_DECIMALS))
            _sub(polyline, "height", _vec(TRACK_DEPTH_M))
            visual.append(_material(rgb))
    return model


def _ground_plane(circuit: Circuit) -> ET.Element:
    """Grass plane under the track, reaching past the fog's end from every point of the road."""
    points = circuit.line("anticlockwise").points
    low, high = points.min(axis=0), points.max(axis=0)
    centre = (low + high) / 2
    size = np.ceil(high - low + 2 * (FOG_END_M + circuit.road_width))
    model = ET.Element("model", name="ground_plane")
    _sub(model, "static", "true")
    _sub(model, "pose", _vec(*centre, -TRACK_DEPTH_M, 0, 0, 0))
    link = _sub(model, "link", name="link")
    for tag, name in (("collision", "collision"), ("visual", "grass")):
        plane = _sub(_sub(_sub(link, tag, name=name), "geometry"), "plane")
        _sub(plane, "normal", "0 0 1")
        _sub(plane, "size", _vec(*size))
    visual = link.find("visual")
    assert visual is not None  # made just above
    visual.append(_material(GRASS))
    return model


def _physics(flavour: str) -> ET.Element:
    """1 ms steps in real time: ODE in classic.

    In gz-sim the Physics system picks the engine (DART unless told otherwise), so the type is
    "ignored", as in gz-sim's own worlds.
    """
    physics = ET.Element("physics", name="1ms", default="true",
                         type="ode" if flavour == "classic" else "ignored")
    _sub(physics, "max_step_size", _vec(PHYSICS_STEP_S))
    _sub(physics, "real_time_factor", "1")
    _sub(physics, "real_time_update_rate", _vec(1.0 / PHYSICS_STEP_S))
    return physics


def _scene() -> ET.Element:
    """Ambient light, sky colour and the renderer's linear haze; no shadows, no grid."""
    scene = ET.Element("scene")
    _sub(scene, "ambient", _vec(AMBIENT, AMBIENT, AMBIENT, 1))
    _sub(scene, "background", _rgba(SKY_TOP))
    _sub(scene, "shadows", "false")
    _sub(scene, "grid", "false")
    _sub(scene, "origin_visual", "false")
    fog = _sub(scene, "fog")
    _sub(fog, "color", _rgba(HAZE))
    _sub(fog, "type", "linear")
    _sub(fog, "start", _vec(FOG_START_M))
    _sub(fog, "end", _vec(FOG_END_M))
    return scene


def _gui(circuit: Circuit) -> ET.Element:
    """The user camera behind and above the start gate, looking along the line."""
    x, y, _z, yaw = spawn_pose(circuit, "anticlockwise")
    back, up = 12.0, 8.0
    gui = ET.Element("gui", fullscreen="false")
    camera = _sub(gui, "camera", name="user_camera")
    pose = (x - back * math.cos(yaw), y - back * math.sin(yaw), up, 0, math.atan2(up, back), yaw)
    _sub(camera, "pose", _vec(*pose))
    _sub(camera, "view_controller", "orbit")
    return gui


def _sun() -> ET.Element:
    """Directional light from nearly overhead, no shadows (the renderer has none)."""
    light = ET.Element("light", name="sun", type="directional")
    _sub(light, "cast_shadows", "false")
    _sub(light, "pose", _vec(0, 0, 100, 0, 0, 0))
    _sub(light, "diffuse", _vec(SUN_DIFFUSE, SUN_DIFFUSE, SUN_DIFFUSE, 1))
    _sub(light, "specular", "0 0 0 1")
    _sub(light, "direction", _vec(*SUN_DIRECTION))
    return light


def _state_plugin() -> ET.Element:
    """gazebo_ros_state: /gazebo/set_entity_state to put the car back at the start."""
    plugin = ET.Element("plugin", name="gazebo_ros_state", filename="libgazebo_ros_state.so")
    _sub(_sub(plugin, "ros"), "namespace", "/gazebo")
    _sub(plugin, "update_rate", "20")
    return plugin


def _inertial() -> ET.Element:
    """750 kg, centre of mass at the origin: planar_move turns the car about its origin."""
    mass, (lx, ly, lz) = 750.0, (4.5, 1.8, 0.7)
    inertial = ET.Element("inertial")
    _sub(inertial, "pose", "0 0 0 0 0 0")
    _sub(inertial, "mass", _vec(mass))
    inertia = _sub(inertial, "inertia")
    for tag, value in (("ixx", ly**2 + lz**2), ("ixy", 0), ("ixz", 0),
                       ("iyy", lx**2 + lz**2), ("iyz", 0), ("izz", lx**2 + ly**2)):
        _sub(inertia, tag, _vec(mass * value / 12))
    return inertial


def _car_collision(scale: float = 1.0) -> ET.Element:
    """A box around the body, clear of the ground: the car never touches the road."""
    collision = ET.Element("collision", name="body_collision")
    _sub(collision, "pose", _vec(-1.35 * scale, 0, 0.4 * scale, 0, 0, 0))
    _sub(_sub(_sub(collision, "geometry"), "box"), "size",
         _vec(*(scale * d for d in (4.5, 1.8, 0.6))))
    return collision


def _car_visuals(scale: float = 1.0) -> list[ET.Element]:
    """Chassis, rear wing and wheels, all behind the camera so that it never sees the car.

    The wide world's car (wheelbase WIDE_WHEELBASE_M), every length times `scale`.
    """
    red, black = (200, 20, 20), (25, 25, 25)
    parts: list[tuple[str, tuple[float, float, float], tuple[str, tuple[float, ...]],
                      tuple[int, int, int]]] = [
        ("chassis", (-1.35, 0, 0.35), ("box", (4.5, 0.9, 0.4)), red),
        ("rear_wing", (-3.35, 0, 0.85), ("box", (0.3, 1.0, 0.06)), red)]
    for name, x in (("front", 0.3), ("rear", -2.9)):
        for side, y in (("left", 0.8), ("right", -0.8)):
            parts.append((f"wheel_{name}_{side}", (x, y, 0.33), ("cylinder", (0.33, 0.38)), black))
    visuals = []
    for name, position, (shape, size), rgb in parts:
        x, y, z = (scale * p for p in position)
        size = tuple(scale * d for d in size)
        visual = ET.Element("visual", name=name)
        roll = math.pi / 2 if shape == "cylinder" else 0.0
        _sub(visual, "pose", _vec(x, y, z, roll, 0, 0))
        geometry = _sub(_sub(visual, "geometry"), shape)
        if shape == "box":
            _sub(geometry, "size", _vec(*size))
        else:
            _sub(geometry, "radius", _vec(size[0]))
            _sub(geometry, "length", _vec(size[1]))
        visual.append(_material(rgb))
        visuals.append(visual)
    return visuals


def _camera_sensor(world: World, flavour: str) -> ET.Element:
    """A world's level front camera with the reference camera's noise, publishing CAMERA.graph.

    classic: through its gazebo_ros_camera plugin; gz: on Gazebo Transport (<topic>, bridged
    by ros_gz_image), its images stamped with CAMERA_FRAME (<gz_frame_id>, gz-sensors). The
    near clip plane scales with the car: the low reference camera sees the road from 0.19 m.
    """
    camera = world.camera
    sensor = ET.Element("sensor", name=camera_name(), type="camera")
    _sub(sensor, "pose", _vec(camera.mount_forward, 0, camera.mount_height, 0, 0, 0))
    _sub(sensor, "always_on", "true")
    _sub(sensor, "update_rate", _vec(camera.rate_hz))
    _sub(sensor, "visualize", "false")
    if flavour == "gz":
        _sub(sensor, "topic", CAMERA.graph)
        _sub(sensor, "gz_frame_id", CAMERA_FRAME)
    optics = _sub(sensor, "camera", name=camera_name())
    _sub(optics, "horizontal_fov", _vec(camera.hfov))
    image = _sub(optics, "image")
    _sub(image, "width", str(camera.width))
    _sub(image, "height", str(camera.height))
    _sub(image, "format", "R8G8B8")
    clip = _sub(optics, "clip")
    _sub(clip, "near", _vec(0.25 * world.wheelbase_m / WIDE_WHEELBASE_M))
    _sub(clip, "far", _vec(2 * FOG_END_M))
    noise = _sub(optics, "noise")
    _sub(noise, "type", "gaussian")
    _sub(noise, "mean", "0")
    _sub(noise, "stddev", _vec(CAMERA_NOISE_STDDEV))
    if flavour == "classic":
        plugin = _sub(sensor, "plugin", name="cam_f1_left_driver",
                      filename="libgazebo_ros_camera.so")
        _sub(_sub(plugin, "ros"), "namespace", "/")
        _sub(plugin, "camera_name", camera_name())
        _sub(plugin, "frame_name", CAMERA_FRAME)
    return sensor


def _planar_move_plugin() -> ET.Element:
    """gazebo_ros_planar_move: Twist on CMD_VEL in, Odometry on ODOM out.

    The plugin's own topics are relative, `cmd_vel` and `odom` as our nodes': remapped alike.
    """
    plugin = ET.Element("plugin", name="planar_move", filename="libgazebo_ros_planar_move.so")
    ros = _sub(plugin, "ros")
    _sub(ros, "namespace", "/")
    for name, graph in remappings((CMD_VEL, ODOM)):
        _sub(ros, "remapping", f"{name}:={graph}")
    _sub(plugin, "update_rate", _vec(1.0 / PHYSICS_STEP_S))  # command applied every step
    _sub(plugin, "publish_rate", _vec(ODOM_RATE_HZ))
    _sub(plugin, "publish_odom", "true")
    _sub(plugin, "publish_odom_tf", "true")
    _sub(plugin, "odometry_frame", ODOM_FRAME)
    _sub(plugin, "robot_base_frame", BASE_FRAME)
    return plugin


def _velocity_control_plugin() -> ET.Element:
    """gz-sim VelocityControl: the model's body-frame Twist from CMD_VEL, every step."""
    return _plugin("gz::sim::systems::VelocityControl", "gz-sim-velocity-control-system",
                   {"topic": CMD_VEL.graph})


def _odometry_publisher_plugin() -> ET.Element:
    """gz-sim OdometryPublisher: the car's world pose and twist on ODOM (2D)."""
    return _plugin("gz::sim::systems::OdometryPublisher", "gz-sim-odometry-publisher-system",
                   {"odom_frame": ODOM_FRAME, "robot_base_frame": BASE_FRAME,
                    "odom_publish_frequency": _vec(ODOM_RATE_HZ), "odom_topic": ODOM.graph,
                    "dimensions": "2"})


def _plugin(name: str, filename: str, elements: dict[str, str]) -> ET.Element:
    """A <plugin> with one child element per entry of `elements`."""
    plugin = ET.Element("plugin", name=name, filename=filename)
    for tag, text in elements.items():
        _sub(plugin, tag, text)
    return plugin


def _check_flavour(flavour: str) -> None:
    """Refuse an unknown flavour, naming the known ones."""
    if flavour not in FLAVOURS:
        raise unknown_name("Gazebo flavour", flavour, FLAVOURS)


def _material(rgb: tuple[int, int, int]) -> ET.Element:
    """A flat colour: ambient = diffuse = `rgb`, no specular highlight."""
    material = ET.Element("material")
    _sub(material, "ambient", _rgba(rgb))
    _sub(material, "diffuse", _rgba(rgb))
    _sub(material, "specular", "0 0 0 1")
    return material


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    """A child element with optional text."""
    child = ET.SubElement(parent, tag, attrib)
    child.text = text
    return child


def _vec(*values: float, digits: int = 6) -> str:
    """Numbers as SDF text: fixed rounding, no trailing zeros, no negative zero."""
    out = []
    for value in values:
        text = f"{round(float(value), digits) + 0.0:.{digits}f}"  # + 0.0: no "-0"
        out.append(text.rstrip("0").rstrip("."))
    return " ".join(out)


def _rgba(rgb: tuple[int, int, int]) -> str:
    """An SDF colour from 0-255 RGB."""
    return _vec(*(c / 255 for c in rgb), 1.0, digits=4)


def _to_text(root: ET.Element) -> str:
    """Indented XML with its declaration."""
    ET.indent(root, space="  ")
    return '<?xml version="1.0"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
