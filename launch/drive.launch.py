"""Drive a circuit with a network: Gazebo or the built-in simulator, drive and lap monitor.

ros2 launch follow_line drive.launch.py model:=pilotnet circuit:=monaco direction:=clockwise
    world:=wide|reference sim:=gz|gazebo|builtin lockstep:=true headless:=false use_sim_time:=true
    laps:=1 timeout:=0 record:=auto|''|PATH end:=shutdown|keep verbose:=false

A launched run is a benchmark run: when the lap monitor's run ends (laps completed, off
track, stuck, timeout) it writes the run record (record:=auto: a new time-stamped file in the
current folder, never over an earlier one; record:='' or none: no record), deactivates the
managed drive node (the car stops) and, with end:=shutdown, exits, which shuts the whole
launch down; end:=keep keeps the graph up with the car stopped. Any node that ends before (a
bad model or circuit, a crash), a Gazebo bridge, a failed car spawn or the Gazebo server
shuts the launch down too, with a line naming it (`bringup.node_exit_message`, which
`follow-line ros` prints as well); the drive node stops the car on its way out, as on Ctrl-C.
sim:=gz or sim:=gazebo without the ROS packages they need ends the launch before anything
starts, with one line naming what to install (`simulators.missing_simulator_message`, shown
as launch's "Caught exception in launch" line; exit code 1).

sim:=gz: Gazebo Sim (Harmonic and later) through ros_gz: ros_gz_sim's gz_sim.launch.py with
worlds/gz/<circuit>.sdf (`-r`; `-s --headless-rendering` when headless), the car of
models/f1_car_gz created at the start gate by ros_gz_sim's `create`, ros_gz_bridge's
parameter_bridge with config/gz_bridge.yaml (/clock, /cmd_vel, /odom) and ros_gz_image's
image_bridge for the camera. sim:=gazebo: Gazebo classic through gazebo_ros (Humble only).
world:=reference takes the reference world's circuit, Gazebo world (worlds/gz/reference/,
worlds/reference/), car (models/reference/f1_car*) and networks (models/reference/); every
node gets the world (its default: follow_line's default world, world/worlds.py).

The nodes' relative topics (camera/image_raw, cmd_vel, odom) are remapped to the car's
(`interface.remappings`: /cam_f1_left/image_raw, /cmd_vel, /odom), and their QoS overrides
are set by topic (`interface.qos_override`): lockstep's reliable camera subscription, the
built-in sim's reliable odometry.
Every node gets the shipped Fast DDS transport profile (config/fastdds.xml: a shared-memory
segment large enough for 640x480 frames) unless FASTDDS_DEFAULT_PROFILES_FILE is already set.
With sim:=builtin lockstep:=true, commands are TwistStamped and the simulator steps only when
the drive node has answered the current frame; Gazebo runs in real time (lockstep is ignored).
"""

from launch import LaunchDescription
from launch.actions import (
    DeclareLaunchArgument,
    IncludeLaunchDescription,
    LogInfo,
    OpaqueFunction,
    RegisterEventHandler,
    SetEnvironmentVariable,
    Shutdown,
)
from launch.conditions import IfCondition
from launch.event_handlers import OnProcessExit
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import (
    EnvironmentVariable,
    LaunchConfiguration,
    PathJoinSubstitution,
    PythonExpression,
)
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

ARGUMENTS = [  # name, default, description, choices (a literal: tests read it)
    ("model", "pilotnet", "trained network in share/follow_line/models (or 'expert', or a "
                          "registry name to drive untrained)", None),
    ("world", None, "world: its circuits, its car's camera and its networks (wide: the "
                    "built-in 8 m roads, models/; reference: the seed's Gazebo F1 proportions, "
                    "models/reference/); default: follow_line's default world",
     ["wide", "reference"]),
    ("circuit", "simple", "circuit to drive, of the world (held out for testing: hungaroring "
                          "and montreal in wide, canyon and lakeside in reference)",
     ["simple", "monaco", "nurburgring", "hungaroring", "montreal", "montmelo", "canyon",
      "lakeside"]),
    ("direction", "clockwise", "driving direction", ["clockwise", "anticlockwise"]),
    ("sim", "gz", "simulator: gz = Gazebo Sim (Harmonic or later, ros_gz) with "
                  "worlds/gz/<circuit>.sdf; gazebo = Gazebo classic (gazebo_ros, Humble) with "
                  "worlds/<circuit>.world; builtin = the package's own simulator node",
     ["gz", "gazebo", "builtin"]),
    ("lockstep", "true", "built-in sim: step only when the driver has answered the current "
                         "frame (the same record as `follow-line drive`); false: real time",
     ["true", "false"]),
    ("headless", "false", "run Gazebo without its GUI (gz: server only, EGL rendering)",
     ["true", "false"]),
    ("use_sim_time", "true", "use the simulator's /clock", ["true", "false"]),
    ("laps", "1", "laps to drive before the run ends", None),
    ("timeout", "0", "simulated seconds after which the run ends ('timeout'); 0: 300 s per "
                     "lap", None),
    ("record", "auto", "the run record (JSON): a file path; 'auto' writes a new "
                       "time-stamped file in the current folder, never over an earlier "
                       "record; a folder gets such a file in it; '' or 'none': no record",
     None),
    ("end", "shutdown", "when the run ends (record written, car stopped): shutdown ends the "
                        "whole launch; keep keeps the graph up with the car stopped",
     ["shutdown", "keep"]),
    ("verbose", "false", "show the drive node's library start-up lines (TensorFlow, oneDNN, "
                         "absl, LiteRT)", ["true", "false"]),
]


def _check_simulator(context):
    """End the launch with one line when the chosen simulator's ROS packages are missing."""
    from follow_line.ros.simulators import missing_simulator_message

    message = missing_simulator_message(LaunchConfiguration("sim").perform(context))
    if message:
        raise RuntimeError(message)  # launch: "Caught exception in launch: <message>", exit 1
    return []


def _shut_down_on_exit(node: Node, name: str, failures_only: bool = False
                       ) -> RegisterEventHandler:
    """When `node` ends (unless the launch is already shutting down): say why, shut down.

    `failures_only`: for a process whose work is done when it ends with 0 (a car spawner).
    """
    from follow_line.ros.bringup import node_exit_message

    def on_exit(event, context):
        if context.is_shutdown or (failures_only and event.returncode == 0):
            return None
        message = node_exit_message(name, event.returncode)
        return [LogInfo(msg=message), Shutdown(reason=message)]

    return RegisterEventHandler(OnProcessExit(target_action=node, on_exit=on_exit))


def _gz(context):
    """Gazebo Sim with the circuit's world, the F1 car created at the start gate, the bridges.

    Gazebo Sim ending shuts the launch down (gz_sim.launch.py's on_exit_shutdown), as do a
    bridge ending and `create` failing.
    """
    from follow_line.gazebo.sdf import (
        BRIDGE_CONFIG,
        CAR_MODEL,
        GZ_IMAGE_TOPICS,
        car_model_dir,
        spawn_pose,
        world_file,
    )
    from follow_line.world.worlds import get_world

    name = LaunchConfiguration("circuit").perform(context)
    direction = LaunchConfiguration("direction").perform(context)
    headless = LaunchConfiguration("headless").perform(context) == "true"
    world = LaunchConfiguration("world").perform(context)
    circuit = get_world(world).load(name)
    x, y, z, yaw = spawn_pose(circuit, direction)
    share = FindPackageShare("follow_line")
    # gz sim: -r runs at once; -s is the server alone, --headless-rendering renders the camera
    # through EGL, without a display.
    flags = "-r -s --headless-rendering " if headless else "-r "
    gz_sim = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(
            PathJoinSubstitution([FindPackageShare("ros_gz_sim"), "launch", "gz_sim.launch.py"])),
        launch_arguments={
            "gz_args": [flags, PathJoinSubstitution([share, world_file(name, "gz", world)])],
            "on_exit_shutdown": "true",
        }.items())
    create = Node(package="ros_gz_sim", executable="create", output="screen",
                  arguments=["-world", circuit.name, "-name", CAR_MODEL,
                             "-file", PathJoinSubstitution([share, car_model_dir("gz", world),
                                                            "model.sdf"]),
                             "-x", str(x), "-y", str(y), "-z", str(z), "-Y", str(yaw)])
    bridge = Node(package="ros_gz_bridge", executable="parameter_bridge",
                  name="follow_line_gz_bridge", output="screen",
                  parameters=[{"config_file": PathJoinSubstitution([share, BRIDGE_CONFIG])}])
    image = Node(package="ros_gz_image", executable="image_bridge",
                 name="follow_line_gz_image", output="screen", arguments=list(GZ_IMAGE_TOPICS))
    return [gz_sim, create, bridge, image,
            _shut_down_on_exit(create, "ros_gz_sim create", failures_only=True),
            _shut_down_on_exit(bridge, "follow_line_gz_bridge"),
            _shut_down_on_exit(image, "follow_line_gz_image")]


def _gazebo(context):
    """Gazebo classic with the circuit's world, and the F1 car spawned at the start gate.

    gzserver ending shuts the launch down (gazebo_ros's server_required), as does the spawn
    failing.
    """
    from follow_line.gazebo.sdf import CAR_MODEL, car_model_dir, spawn_pose, world_file
    from follow_line.world.worlds import get_world

    circuit = LaunchConfiguration("circuit").perform(context)
    direction = LaunchConfiguration("direction").perform(context)
    world = LaunchConfiguration("world").perform(context)
    x, y, z, yaw = spawn_pose(get_world(world).load(circuit), direction)
    share = FindPackageShare("follow_line")
    gazebo = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(
            PathJoinSubstitution([FindPackageShare("gazebo_ros"), "launch", "gazebo.launch.py"])),
        launch_arguments={
            "world": PathJoinSubstitution([share, world_file(circuit, "classic", world)]),
            "gui": PythonExpression(["'false' if '", LaunchConfiguration("headless"),
                                     "' == 'true' else 'true'"]),
            "server_required": "true",
        }.items())
    spawn = Node(package="gazebo_ros", executable="spawn_entity.py", output="screen",
                 arguments=["-entity", CAR_MODEL,
                            "-file", PathJoinSubstitution([share, car_model_dir("classic", world),
                                                           "model.sdf"]),
                            "-x", str(x), "-y", str(y), "-z", str(z), "-Y", str(yaw)])
    return [gazebo, spawn,
            _shut_down_on_exit(spawn, "gazebo_ros spawn_entity.py", failures_only=True)]


def generate_launch_description():
    """The launch description: arguments, simulator, drive node, lap monitor node."""
    from follow_line.interface import (
        CAMERA,
        DRIVE_NODE,
        LAP_MONITOR_NODE,
        ODOM,
        SIM_NODE,
        qos_override,
        remappings,
    )
    from follow_line.world.worlds import DEFAULT_WORLD

    share = FindPackageShare("follow_line")
    use_sim_time = PythonExpression(["'", LaunchConfiguration("use_sim_time"),
                                     "' == 'true'"])
    is_gz = PythonExpression(["'", LaunchConfiguration("sim"), "' == 'gz'"])
    is_gazebo = PythonExpression(["'", LaunchConfiguration("sim"), "' == 'gazebo'"])
    is_builtin = PythonExpression(["'", LaunchConfiguration("sim"), "' == 'builtin'"])
    declared = [DeclareLaunchArgument(name, default_value=DEFAULT_WORLD if name == "world"
                                      else default, description=description,
                                      **({"choices": choices} if choices else {}))
                for name, default, description, choices in ARGUMENTS]
    stamped = PythonExpression(["'", LaunchConfiguration("sim"), "' == 'builtin' and '",
                                LaunchConfiguration("lockstep"), "' == 'true'"])
    common = {"use_sim_time": use_sim_time, "stamped": stamped,
              "world": LaunchConfiguration("world")}
    profile = EnvironmentVariable("FASTDDS_DEFAULT_PROFILES_FILE", default_value=[
        PathJoinSubstitution([share, "config", "fastdds.xml"])])
    sim = Node(package="follow_line", executable="sim_node", name=SIM_NODE,
               output="screen", condition=IfCondition(is_builtin), remappings=remappings(),
               parameters=[PathJoinSubstitution([share, "config", "sim.yaml"]), common,
                           {"circuit": LaunchConfiguration("circuit"),
                            "direction": LaunchConfiguration("direction"),
                            "lockstep": stamped, "driver_node": DRIVE_NODE}])
    drive = Node(package="follow_line", executable="drive_node", name=DRIVE_NODE,
                 output="screen", remappings=remappings(),
                 parameters=[PathJoinSubstitution([share, "config", "drive.yaml"]), common,
                             {"model": LaunchConfiguration("model"), "autostart": True,
                              "verbose": PythonExpression(["'", LaunchConfiguration("verbose"),
                                                           "' == 'true'"]),
                              # lockstep: a reliable camera, so that no frame waits for a
                              # re-send, whatever the DDS settings
                              qos_override(CAMERA.graph, "reliability"): PythonExpression([
                                  "'reliable' if ", stamped, " else 'best_effort'"])}])
    lap_monitor = Node(
        package="follow_line", executable="lap_monitor_node", name=LAP_MONITOR_NODE,
        output="screen", remappings=remappings(),
        parameters=[PathJoinSubstitution([share, "config", "lap_monitor.yaml"]), common,
                    {"circuit": LaunchConfiguration("circuit"),
                     "direction": LaunchConfiguration("direction"),
                     "driver_name": LaunchConfiguration("model"),
                     "laps": LaunchConfiguration("laps"),  # the node checks it is >= 1
                     "timeout_seconds": ParameterValue(LaunchConfiguration("timeout"),
                                                       value_type=float),
                     # a string whatever it looks like (record:=2024 is not a number)
                     "record_path": ParameterValue(LaunchConfiguration("record"),
                                                   value_type=str),
                     "end": LaunchConfiguration("end"),
                     "driver_node": DRIVE_NODE,
                     # the built-in sim's odometry is reliable: none of it lost at the start
                     qos_override(ODOM.graph, "reliability"): PythonExpression([
                         "'reliable' if '", LaunchConfiguration("sim"),
                         "' == 'builtin' else 'best_effort'"])}])
    return LaunchDescription([
        *declared,
        OpaqueFunction(function=_check_simulator),
        SetEnvironmentVariable("FASTDDS_DEFAULT_PROFILES_FILE", profile),
        OpaqueFunction(function=_gz, condition=IfCondition(is_gz)),
        OpaqueFunction(function=_gazebo, condition=IfCondition(is_gazebo)),
        sim, drive, lap_monitor,
        *(_shut_down_on_exit(node, name) for node, name in (
            (sim, SIM_NODE), (drive, DRIVE_NODE), (lap_monitor, LAP_MONITOR_NODE))),
    ])
