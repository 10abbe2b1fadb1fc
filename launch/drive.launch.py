"""Drive a circuit with a network: Gazebo or the built-in simulator, drive and lap monitor.

ros2 launch follow_line drive.launch.py model:=pilotnet circuit:=monaco direction:=clockwise
    sim:=gazebo|builtin lockstep:=true headless:=false use_sim_time:=true

Every node gets the shipped Fast DDS transport profile (config/fastdds.xml: a shared-memory
segment large enough for 640x480 frames) unless FASTDDS_DEFAULT_PROFILES_FILE is already set.
With sim:=builtin lockstep:=true, commands are TwistStamped and the simulator steps only when
the drive node has answered the current frame.
"""

from launch import LaunchDescription
from launch.actions import (
    DeclareLaunchArgument,
    IncludeLaunchDescription,
    OpaqueFunction,
    SetEnvironmentVariable,
)
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import (
    EnvironmentVariable,
    LaunchConfiguration,
    PathJoinSubstitution,
    PythonExpression,
)
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

ARGUMENTS = [  # name, default, description, choices (a literal: tests read it)
    ("model", "pilotnet", "trained network in share/follow_line/models (or 'expert', or a "
                          "registry name to drive untrained)", None),
    ("circuit", "simple", "circuit to drive (hungaroring and montreal are held out for testing)",
     ["simple", "monaco", "nurburgring", "hungaroring", "montreal"]),
    ("direction", "clockwise", "driving direction", ["clockwise", "anticlockwise"]),
    ("sim", "gazebo", "simulator: Gazebo with worlds/<circuit>.world, or the built-in one",
     ["gazebo", "builtin"]),
    ("lockstep", "true", "built-in sim: step only when the driver has answered the current "
                         "frame (the same record as `follow-line drive`); false: real time",
     ["true", "false"]),
    ("headless", "false", "run Gazebo without its GUI", ["true", "false"]),
    ("use_sim_time", "true", "use the simulator's /clock", ["true", "false"]),
]


def _gazebo(context):
    """Gazebo with the circuit's world, and the F1 car spawned at the start gate."""
    from follow_line.circuits import load_circuit
    from follow_line.gazebo import spawn_pose

    circuit = LaunchConfiguration("circuit").perform(context)
    direction = LaunchConfiguration("direction").perform(context)
    x, y, z, yaw = spawn_pose(load_circuit(circuit), direction)
    share = FindPackageShare("follow_line")
    gazebo = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(
            PathJoinSubstitution([FindPackageShare("gazebo_ros"), "launch", "gazebo.launch.py"])),
        launch_arguments={
            "world": PathJoinSubstitution([share, "worlds", f"{circuit}.world"]),
            "gui": PythonExpression(["'false' if '", LaunchConfiguration("headless"),
                                     "' == 'true' else 'true'"]),
        }.items())
    spawn = Node(package="gazebo_ros", executable="spawn_entity.py", output="screen",
                 arguments=["-entity", "f1_car",
                            "-file", PathJoinSubstitution([share, "models", "f1_car",
                                                           "model.sdf"]),
                            "-x", str(x), "-y", str(y), "-z", str(z), "-Y", str(yaw)])
    return [gazebo, spawn]


def generate_launch_description():
    """The launch description: arguments, simulator, drive node, lap monitor node."""
    share = FindPackageShare("follow_line")
    use_sim_time = PythonExpression(["'", LaunchConfiguration("use_sim_time"),
                                     "' == 'true'"])
    is_gazebo = PythonExpression(["'", LaunchConfiguration("sim"), "' == 'gazebo'"])
    is_builtin = PythonExpression(["'", LaunchConfiguration("sim"), "' == 'builtin'"])
    declared = [DeclareLaunchArgument(name, default_value=default, description=description,
                                      **({"choices": choices} if choices else {}))
                for name, default, description, choices in ARGUMENTS]
    stamped = PythonExpression(["'", LaunchConfiguration("sim"), "' == 'builtin' and '",
                                LaunchConfiguration("lockstep"), "' == 'true'"])
    common = {"use_sim_time": use_sim_time, "stamped": stamped}
    profile = EnvironmentVariable("FASTDDS_DEFAULT_PROFILES_FILE", default_value=[
        PathJoinSubstitution([share, "config", "fastdds.xml"])])
    return LaunchDescription([
        *declared,
        SetEnvironmentVariable("FASTDDS_DEFAULT_PROFILES_FILE", profile),
        OpaqueFunction(function=_gazebo, condition=IfCondition(is_gazebo)),
        Node(package="follow_line", executable="sim_node", name="follow_line_sim",
             output="screen", condition=IfCondition(is_builtin),
             parameters=[PathJoinSubstitution([share, "config", "sim.yaml"]), common,
                         {"circuit": LaunchConfiguration("circuit"),
                          "direction": LaunchConfiguration("direction"),
                          "lockstep": stamped}]),
        Node(package="follow_line", executable="drive_node", name="follow_line_drive",
             output="screen",
             parameters=[PathJoinSubstitution([share, "config", "drive.yaml"]), common,
                         {"model": LaunchConfiguration("model")}]),
        Node(package="follow_line", executable="lap_monitor_node",
             name="follow_line_lap_monitor", output="screen",
             parameters=[PathJoinSubstitution([share, "config", "lap_monitor.yaml"]), common,
                         {"circuit": LaunchConfiguration("circuit"),
                          "direction": LaunchConfiguration("direction"),
                          "driver_name": LaunchConfiguration("model"),
                          "odom_reliability": PythonExpression([
                              "'reliable' if '", LaunchConfiguration("sim"),
                              "' == 'builtin' else 'best_effort'"])}]),
    ])
