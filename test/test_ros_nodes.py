"""The ROS 2 nodes in this process, on real rclpy and Fast DDS (the PyPI wheels).

A probe node publishes and subscribes; the nodes' callbacks run when the test spins them.
What needs real processes, real time and real signals (the watchdog, SIGINT and SIGTERM,
lockstep runs) is in test_ros_graph.py.
"""

import json
import math
import os
import subprocess
import sys
import time
from types import SimpleNamespace

import numpy as np
import pytest

from follow_line.driving.expert import ExpertDriver
from follow_line.errors import FollowLineError
from follow_line.interface import (
    CAMERA,
    CLOCK,
    CMD_VEL,
    COMPLETION,
    LAP_TIME,
    ODOM,
    remap_arguments,
)
from follow_line.world.kinematics import Pose, integrate
from follow_line.world.simulator import Simulator, StartOffset

RCLPY_OWN_PARAMETERS = {"use_sim_time", "start_type_description_service"}
rclpy = pytest.importorskip("rclpy", reason="ROS 2 wheels not installed (make test installs "
                            "them from requirements-ros.txt)")


@pytest.fixture(scope="module")
def ros():
    from builtin_interfaces.msg import Time
    from geometry_msgs.msg import Twist, TwistStamped
    from nav_msgs.msg import Odometry
    from rclpy.exceptions import InvalidParameterTypeException
    from rclpy.parameter import Parameter
    from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import Image
    from std_msgs.msg import Float32

    from follow_line.ros import drive_node, lap_monitor_node, sim_node

    yield SimpleNamespace(
        rclpy=rclpy, Time=Time,
        Twist=Twist, TwistStamped=TwistStamped, Odometry=Odometry, Clock=Clock,
        Image=Image, Float32=Float32, Parameter=Parameter, QoSProfile=QoSProfile,
        ReliabilityPolicy=ReliabilityPolicy, sensor_qos=qos_profile_sensor_data,
        InvalidParameterTypeException=InvalidParameterTypeException,
        drive_node=drive_node, DriveNode=drive_node.DriveNode,
        LapMonitorNode=lap_monitor_node.LapMonitorNode, SimNode=sim_node.SimNode)


@pytest.fixture
def ctx(ros):
    """An initialized context; ctx.make(NodeClass, **params) nodes are destroyed afterwards.

    A node's topics are remapped as the launch file and the bring-up remap them, unless
    `cli_args` says otherwise.
    """
    ros.rclpy.init(args=[])
    nodes = []

    def make(node_class, cli_args=None, **params):
        overrides = [ros.Parameter(k, value=v) for k, v in params.items()]
        if cli_args is None:
            cli_args = ["--ros-args", *remap_arguments()]
        node = node_class(parameter_overrides=overrides, cli_args=cli_args)
        nodes.append(node)
        return node

    def probe(name="probe"):
        node = ros.rclpy.create_node(name)
        nodes.append(node)
        return node

    def destroy(node):
        nodes.remove(node)
        node.destroy_node()

    yield SimpleNamespace(make=make, probe=probe, destroy=destroy)
    for node in reversed(nodes):
        node.destroy_node()
    if ros.rclpy.ok():
        ros.rclpy.shutdown()


def spin_until(ros, nodes, condition, timeout=10.0):
    """Spin `nodes` in one executor until `condition()` holds; whether it did."""
    from rclpy.executors import SingleThreadedExecutor

    executor = SingleThreadedExecutor()
    for node in nodes:
        executor.add_node(node)
    deadline = time.monotonic() + timeout
    try:
        while not condition():
            if time.monotonic() > deadline:
                return False
            executor.spin_once(timeout_sec=0.01)
        return True
    finally:
        for node in nodes:
            executor.remove_node(node)
        executor.shutdown()


def spin_for(ros, nodes, seconds):
    """Spin `nodes` for `seconds` of wall time."""
    spin_until(ros, nodes, lambda: False, timeout=seconds)


def stamp(ros, t):
    from follow_line.ros.conversions import seconds_to_stamp

    sec, nanosec = seconds_to_stamp(t)
    return ros.Time(sec=sec, nanosec=nanosec)


def image_msg(ros, frame, t, encoding="rgb8"):
    import array

    msg = ros.Image()
    msg.header.stamp = stamp(ros, t)
    msg.header.frame_id = "camera_link"
    msg.height, msg.width = int(frame.shape[0]), int(frame.shape[1])
    msg.encoding = encoding
    msg.step = msg.width * (frame.shape[2] if frame.ndim == 3 else 1)
    msg.data = array.array("B", np.ascontiguousarray(frame).tobytes())
    return msg


def matched(ros, nodes, *publishers):
    """Wait until every publisher reaches a subscription (DDS discovery, with real ROS)."""
    return spin_until(ros, nodes, lambda: all(p.get_subscription_count() for p in publishers))


def camera_rig(ros, ctx, node, twist_type=None):
    """A probe publishing camera frames to the drive node and collecting its cmd_vel."""
    probe = ctx.probe()
    publisher = probe.create_publisher(ros.Image, CAMERA.graph, ros.sensor_qos)
    commands = []
    probe.create_subscription(twist_type or ros.Twist, CMD_VEL.graph, commands.append, 10)
    assert matched(ros, [node, probe], publisher, node.cmd_pub)
    return probe, publisher, commands


def vw(msg):
    twist = getattr(msg, "twist", msg)
    return twist.linear.x, twist.angular.z


# --- drive node -----------------------------------------------------------------------------

def test_image_in_twist_out_matches_the_expert_driver(ros, ctx, oval):
    node = ctx.make(ros.DriveNode, model="expert")
    probe, publisher, commands = camera_rig(ros, ctx, node)
    sim, expert, expected = Simulator(oval, "anticlockwise"), ExpertDriver(), []
    for k in range(3):
        frame, t = sim.frame(), 2.0 + 0.05 * k
        publisher.publish(image_msg(ros, frame, t))
        assert spin_until(ros, [node, probe], lambda k=k: len(commands) == k + 1)
        v, w = expert(frame, t)
        expected.append((v, float(w)))
        sim.step(v, w)
    np.testing.assert_allclose([vw(m) for m in commands], expected, rtol=1e-9, atol=1e-12)
    assert all(isinstance(m, ros.Twist) and m.linear.x > 0 for m in commands)
    assert node.last_command == pytest.approx(expected[-1])


def test_stamped_variant_publishes_twist_stamped_with_the_frame_stamp(ros, ctx, oval):
    node = ctx.make(ros.DriveNode, model="expert", stamped=True)
    probe, publisher, commands = camera_rig(ros, ctx, node, ros.TwistStamped)
    publisher.publish(image_msg(ros, Simulator(oval, "anticlockwise").frame(), 5.25))
    assert spin_until(ros, [node, probe], lambda: commands)
    msg = commands[0]
    assert isinstance(msg, ros.TwistStamped)
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (5, 250_000_000)
    assert msg.header.frame_id == "base_link"
    assert msg.twist.linear.x > 0


def test_commands_are_clamped_to_max_v_and_max_w(ros, ctx, oval):
    frame = Simulator(oval, "anticlockwise", start=StartOffset(heading=0.3)).frame()
    raw_v, raw_w = ExpertDriver()(frame, 1.0)
    assert raw_v > 0.1 and raw_w < -0.02  # the driver asks for more than the limits below
    node = ctx.make(ros.DriveNode, model="expert", max_v=0.1, max_w=0.02)
    probe, publisher, commands = camera_rig(ros, ctx, node)
    publisher.publish(image_msg(ros, frame, 1.0))
    assert spin_until(ros, [node, probe], lambda: commands)
    assert vw(commands[0]) == pytest.approx((0.1, -0.02))
    assert node.clamp(-3.0, 9.0) == (0.0, 0.02)
    assert node.clamp(math.nan, 1.0) == (0.0, 0.0)


@pytest.mark.parametrize("case, expected", [
    ("small", "640x480"), ("rgba8", "'rgba8'"), ("truncated", "step x height")])
def test_a_bad_image_gives_a_zero_twist_and_an_error_log(ros, ctx, oval, capfd, case, expected):
    node = ctx.make(ros.DriveNode, model="expert")
    probe, publisher, commands = camera_rig(ros, ctx, node)
    frame = Simulator(oval, "anticlockwise").frame()
    publisher.publish(image_msg(ros, frame, 1.0))
    assert spin_until(ros, [node, probe], lambda: len(commands) == 1)
    if case == "small":
        bad = image_msg(ros, frame[::2, ::2], 1.05)
    elif case == "rgba8":
        bad = image_msg(ros, np.dstack([frame, frame[..., :1]]), 1.05, encoding="rgba8")
    else:
        bad = image_msg(ros, frame, 1.05)
        bad.data = bad.data[:1000]
    publisher.publish(bad)
    assert spin_until(ros, [node, probe], lambda: len(commands) == 2)
    assert vw(commands[1]) == (0.0, 0.0)
    errors = [line for line in capfd.readouterr().err.splitlines()
              if "ERROR" in line and "follow_line_drive" in line]
    assert len(errors) == 1 and expected in errors[0] and "stopping the car" in errors[0]
    publisher.publish(image_msg(ros, frame, 1.1))  # the node keeps driving good frames
    assert spin_until(ros, [node, probe], lambda: len(commands) == 3)
    assert commands[2].linear.x > 0


def test_per_frame_errors_are_throttled(ros, ctx, oval, capfd):
    node = ctx.make(ros.DriveNode, model="expert")
    probe, publisher, commands = camera_rig(ros, ctx, node)
    frame = Simulator(oval, "anticlockwise").frame()
    for k in range(5):  # five bad frames within well under ERROR_PERIOD_S (2 s)
        publisher.publish(image_msg(ros, frame[::2], 1.0 + 0.05 * k))
        assert spin_until(ros, [node, probe], lambda k=k: len(commands) == k + 1)
    assert node.frames["failed"] == 5 and all(vw(m) == (0.0, 0.0) for m in commands)
    errors = [line for line in capfd.readouterr().err.splitlines()
              if "ERROR" in line and "cannot drive from the frame" in line]
    assert len(errors) == 1


def test_a_stale_camera_stops_the_car_stamped_with_the_last_frame_driven(ros, ctx, oval):
    """The watchdog cancels a command that moved the car, with that frame's stamp.

    A lockstep simulator waits for a newer stamp; before the first frame there is nothing
    to stop.
    """
    node = ctx.make(ros.DriveNode, model="expert", stamped=True, watchdog_timeout=0.2)
    probe, publisher, commands = camera_rig(ros, ctx, node, ros.TwistStamped)
    spin_for(ros, [node, probe], 0.5)
    assert commands == []
    publisher.publish(image_msg(ros, Simulator(oval, "anticlockwise").frame(), 5.25))
    assert spin_until(ros, [node, probe], lambda: len(commands) == 2, timeout=2.0)
    assert commands[0].twist.linear.x > 0 and vw(commands[1]) == (0.0, 0.0)
    assert [(m.header.stamp.sec, m.header.stamp.nanosec) for m in commands] == \
        [(5, 250_000_000)] * 2
    spin_for(ros, [node, probe], 0.5)
    assert len(commands) == 2


def test_shutdown_publishes_a_zero_twist(ros, ctx, oval):
    node = ctx.make(ros.DriveNode, model="expert")
    probe, publisher, commands = camera_rig(ros, ctx, node)
    publisher.publish(image_msg(ros, Simulator(oval, "anticlockwise").frame(), 1.0))
    assert spin_until(ros, [node, probe], lambda: commands)
    assert commands[0].linear.x > 0
    ctx.destroy(node)
    assert spin_until(ros, [probe], lambda: len(commands) == 2)
    assert vw(commands[1]) == (0.0, 0.0)


def test_without_autostart_the_drive_node_waits_unconfigured_and_drives_once_activated(
        ros, ctx, oval, monkeypatch):
    monkeypatch.setenv("FOLLOW_LINE_VERBOSE", "0")  # undone afterwards, whatever verbose sets
    from rclpy.lifecycle import TransitionCallbackReturn

    node = ctx.make(ros.DriveNode, model="expert", autostart=False, verbose=True)
    assert node.driver is None and node.cmd_pub is None  # nothing loaded before configure
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
    assert os.environ["FOLLOW_LINE_VERBOSE"] == "1"  # verbose: the libraries may speak
    assert node.driver is not None and node.image_sub is None  # configured, not driving
    node.trigger_activate()
    probe, publisher, commands = camera_rig(ros, ctx, node)
    publisher.publish(image_msg(ros, Simulator(oval, "anticlockwise").frame(), 1.0))
    assert spin_until(ros, [node, probe], lambda: commands)
    assert commands[0].linear.x > 0
    node.trigger_deactivate()
    assert spin_until(ros, [probe], lambda: len(commands) == 2)
    assert vw(commands[1]) == (0.0, 0.0) and node.image_sub is None
    node.trigger_cleanup()
    assert node.driver is None and node.cmd_pub is None  # the network released


def test_main_refuses_a_bad_parameter_with_exit_code_1(ros, capfd):
    assert ros.drive_node.main(["--ros-args", "-p", "model:=expert", "-p", "device:=tpu"]) == 1
    err = capfd.readouterr().err
    assert "FATAL" in err and "'device'" in err and "auto, cpu, gpu" in err
    assert not ros.rclpy.ok()


@pytest.mark.parametrize("params, name, allowed", [
    ({"device": "tpu"}, "device", "auto, cpu, gpu"),
    ({"backend": "onnx"}, "backend", "auto, keras, litert"),
    ({"watchdog_timeout": 0.0}, "watchdog_timeout", "(0, inf)"),
    ({"watchdog_timeout": -1.0}, "watchdog_timeout", "(0, inf)"),
    ({"max_v": 30.0}, "max_v", "(0, 24]"),
    ({"max_v": 0.0}, "max_v", "(0, 24]"),
    ({"max_w": 7.5}, "max_w", "(0, 7.1]"),
    ({"control_rate_limit": -1.0}, "control_rate_limit", "[0, inf)"),
    ({"model": "no_such_network"}, "model", "expert"),
])
def test_drive_parameters_are_validated_at_start_up(ros, ctx, params, name, allowed):
    with pytest.raises(FollowLineError) as err:
        ctx.make(ros.DriveNode, **{"model": "expert", **params})
    assert f"'{name}'" in str(err.value) and allowed in str(err.value)


def test_a_float_parameter_takes_an_integer_and_refuses_a_string(ros, ctx):
    node = ctx.make(ros.DriveNode, model="expert", max_v=20, watchdog_timeout=1)
    assert node.max_v == 20.0 and isinstance(node.max_v, float) and node.watchdog_timeout == 1.0
    with pytest.raises(FollowLineError, match="'max_v' is 'fast'; allowed: a number"):
        ctx.make(ros.DriveNode, model="expert", max_v="fast")
    with pytest.raises(ros.InvalidParameterTypeException, match="laps"):  # an int stays an int
        ctx.make(ros.LapMonitorNode, laps=1.5)


@pytest.mark.parametrize("kind", ["drive", "lap_monitor", "sim"])
def test_every_parameter_has_a_description_and_is_read_only(ros, ctx, oval_file, kind):
    if kind == "drive":
        node = ctx.make(ros.DriveNode, model="expert")
        expected = {"model", "world", "stamped", "device", "backend",
                    "max_v", "max_w", "watchdog_timeout", "control_rate_limit", "autostart",
                    "verbose", *(f"qos_overrides.{CAMERA.graph}.subscription.{policy}"
                                 for policy in ("depth", "history", "reliability"))}
    elif kind == "lap_monitor":
        node = ctx.make(ros.LapMonitorNode, circuit=str(oval_file))
        expected = {"circuit", "world", "direction", "laps", "stamped",
                    "record_path", "driver_name", "end", "driver_node", "stuck_seconds",
                    "timeout_seconds", "off_track_margin",
                    *(f"qos_overrides.{ODOM.graph}.subscription.{policy}"
                      for policy in ("depth", "history", "reliability"))}
    else:
        node = ctx.make(ros.SimNode, circuit=str(oval_file))
        expected = {"circuit", "world", "direction", "stamped", "rate", "real_time_factor",
                    "lockstep", "driver_node"}
    names = set(node.list_parameters([], 0).names) - RCLPY_OWN_PARAMETERS
    assert names == expected
    for name in names:
        descriptor = node.describe_parameter(name)
        assert len(descriptor.description) > 10 and descriptor.read_only, name
    current = node.get_parameter(sorted(names)[0])
    [result] = node.set_parameters([current])
    assert not result.successful and "read-only" in result.reason


def test_the_camera_subscription_uses_the_sensor_data_qos_keeping_the_newest_frame(ros, ctx):
    node = ctx.make(ros.DriveNode, model="expert")
    [camera] = [s for s in node.subscriptions if s.topic_name == CAMERA.graph]
    qos = camera.qos_profile
    assert camera.msg_type is ros.Image and qos.depth == 1
    assert (qos.reliability, qos.durability, qos.history) == (
        ros.sensor_qos.reliability, ros.sensor_qos.durability, ros.sensor_qos.history)
    [cmd] = [p for p in node.publishers if p.topic_name == CMD_VEL.graph]
    assert cmd.msg_type is ros.Twist


@pytest.mark.parametrize("cli_args, prefix", [
    ([], "/"), (["--ros-args", "-r", "__ns:=/car"], "/car/")])
def test_the_nodes_topics_are_relative_names_for_remapping(
        ros, ctx, oval_file, cli_args, prefix):
    """Without remapping, each topic resolves in the node's namespace (/clock stays global)."""
    drive = ctx.make(ros.DriveNode, cli_args, model="expert")
    sim = ctx.make(ros.SimNode, cli_args, circuit=str(oval_file))
    monitor = ctx.make(ros.LapMonitorNode, cli_args, circuit=str(oval_file))
    topics = {node: ({s.topic_name for s in node.subscriptions},
                     {p.topic_name for p in node.publishers} - {"/rosout", "/parameter_events"})
              for node in (drive, sim, monitor)}
    private = f"{prefix}follow_line_lap_monitor/"
    assert topics[drive] == ({f"{prefix}camera/image_raw"}, {f"{prefix}cmd_vel"})
    assert topics[sim][0] == {f"{prefix}cmd_vel"}
    assert topics[sim][1] == {"/clock", f"{prefix}camera/image_raw", f"{prefix}odom"}
    assert topics[monitor] == ({f"{prefix}odom", f"{prefix}cmd_vel"},
                               {f"{private}completion", f"{private}lap_time"})
    assert drive.get_parameter(f"qos_overrides.{prefix}camera/image_raw.subscription."
                               "reliability").value == "best_effort"


@pytest.mark.parametrize("reliability", ["best_effort", "reliable"])
def test_the_odometry_reliability_is_a_qos_override(ros, ctx, oval_file, reliability):
    parameter = f"qos_overrides.{ODOM.graph}.subscription.reliability"
    node = ctx.make(ros.LapMonitorNode, circuit=str(oval_file),
                    **({parameter: reliability} if reliability == "reliable" else {}))
    assert node.odom_sub.topic_name == ODOM.graph
    assert node.odom_sub.qos_profile.reliability == getattr(
        ros.ReliabilityPolicy, reliability.upper())
    assert node.run_record()["odom_topic"] == ODOM.graph  # the remapped name


def test_control_rate_limit_skips_frames_by_stamp(ros, ctx, oval):
    node = ctx.make(ros.DriveNode, model="expert", stamped=True, control_rate_limit=10.0)
    probe, publisher, commands = camera_rig(ros, ctx, node, ros.TwistStamped)
    frame = Simulator(oval, "anticlockwise").frame()
    for k, t in enumerate((1.0, 1.05, 1.1, 1.12, 1.2)):  # one at a time: the node keeps one
        publisher.publish(image_msg(ros, frame, t))
        assert spin_until(ros, [node], lambda k=k: node.frames["received"] == k + 1)
    spin_for(ros, [node, probe], 0.3)
    assert node.frames == {"received": 5, "driven": 3, "skipped": 2, "failed": 0}
    stamps = [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in commands]
    assert stamps == pytest.approx([1.0, 1.1, 1.2])


def test_a_freshly_built_tinypilotnet_drives_through_the_network(
        ros, ctx, oval, tmp_path, monkeypatch):
    monkeypatch.setenv("FOLLOW_LINE_MODELS", str(tmp_path))  # no shipped weights: build one
    node = ctx.make(ros.DriveNode, model="tinypilotnet", backend="keras", device="cpu")
    assert node.driver.name == "tinypilotnet" and node.driver.backend == "keras"
    probe, publisher, commands = camera_rig(ros, ctx, node)
    frame = Simulator(oval, "anticlockwise").frame()
    publisher.publish(image_msg(ros, frame, 1.0))
    assert spin_until(ros, [node, probe], lambda: commands, timeout=60.0)
    v, w = vw(commands[0])
    assert math.isfinite(v) and math.isfinite(w) and 0.0 <= v <= 24.0 and abs(w) <= 7.1
    node.driver.reset()  # a single-frame network: the same frame gives the same command
    assert (v, w) == pytest.approx(node.clamp(*node.driver(frame, 1.0)), abs=1e-5)


# --- lap monitor node -----------------------------------------------------------------------

def odom_msg(ros, t, x, y, yaw):
    from follow_line.ros.conversions import quaternion_from_yaw

    msg = ros.Odometry()
    msg.header.stamp = stamp(ros, t)
    msg.header.frame_id, msg.child_frame_id = "odom", "base_link"
    msg.pose.pose.position.x, msg.pose.pose.position.y = float(x), float(y)
    q = msg.pose.pose.orientation
    q.x, q.y, q.z, q.w = quaternion_from_yaw(float(yaw))
    return msg


def lap_rig(ros, ctx, node):
    probe = ctx.probe()
    odom = probe.create_publisher(ros.Odometry, ODOM.graph, 10)
    cmd = probe.create_publisher(ros.Twist, CMD_VEL.graph, 10)
    completion, laps = [], []
    probe.create_subscription(ros.Float32, COMPLETION.graph, completion.append, 100)
    probe.create_subscription(ros.Float32, LAP_TIME.graph, laps.append, 10)
    assert matched(ros, [node, probe], odom, cmd, node.completion_pub, node.lap_time_pub)
    return SimpleNamespace(probe=probe, odom=odom, cmd=cmd, completion=completion, laps=laps)


def forward(ros, speed):
    msg = ros.Twist()
    msg.linear.x = float(speed)
    return msg


def test_lap_monitor_completes_a_lap_from_odometry_stamps(ros, ctx, oval, oval_file, tmp_path):
    record = tmp_path / "runs" / "run.json"
    node = ctx.make(ros.LapMonitorNode, circuit=str(oval_file), direction="anticlockwise",
                    record_path=str(record), driver_name="expert")
    rig = lap_rig(ros, ctx, node)
    rig.cmd.publish(forward(ros, 10.0))
    assert spin_until(ros, [node], lambda: node.started)
    line, speed, t0 = oval.line("anticlockwise"), 10.0, 100.0
    for k, s in enumerate(np.arange(0.0, line.length + 4.0, 2.0)):
        rig.odom.publish(odom_msg(ros, t0 + s / speed, *line.pose_at(s % line.length)))
        assert spin_until(ros, [node, rig.probe], lambda k=k: len(rig.completion) == k + 1)
        if node.monitor.stop_reason is not None:
            break
    assert node.monitor.stop_reason == "lap_completed"
    assert spin_until(ros, [node], lambda: node.finished)  # the record, FINISH_DELAY_S later
    assert spin_until(ros, [rig.probe], lambda: rig.laps)
    assert [m.data for m in rig.laps] == pytest.approx([line.length / speed], abs=0.02)
    values = [m.data for m in rig.completion]
    assert values == sorted(values) and values[-1] == pytest.approx(100.0)
    data = json.loads(record.read_text())
    assert data["circuit"] == "oval" and data["direction"] == "anticlockwise"
    assert data["driver"] == "expert" and data["laps"] == 1 and data["source"] == "ros"
    assert data["circuit_length_m"] == pytest.approx(line.length, abs=0.01)
    assert data["stop_reason"] == "lap_completed" and data["completion_pct"] == 100.0
    assert data["lap_times_s"] == pytest.approx([line.length / speed], abs=0.02)
    assert data["sim_time_s"] == pytest.approx(line.length / speed, abs=0.3)
    for field in ("laps_completed", "distance_m", "avg_speed_mps", "cte_mean_m", "cte_max_m",
                  "smoothness_w", "control_rate_hz", "created", "follow_line_version"):
        assert field in data
    count = len(rig.completion)  # a finished run ignores further odometry
    rig.odom.publish(odom_msg(ros, t0 + 100.0, *line.pose_at(5.0)))
    spin_for(ros, [node, rig.probe], 0.3)
    assert len(rig.completion) == count


def test_lap_monitor_waits_for_the_first_forward_command(ros, ctx, oval, oval_file):
    node = ctx.make(ros.LapMonitorNode, circuit=str(oval_file), direction="anticlockwise",
                    stuck_seconds=1.0)
    rig = lap_rig(ros, ctx, node)
    x, y, yaw = oval.line("anticlockwise").pose_at(0.0)
    for t in np.arange(0.0, 20.0, 0.5):  # the driver is still loading: the car stands still
        rig.odom.publish(odom_msg(ros, t, x, y, yaw))
    spin_for(ros, [node, rig.probe], 0.3)
    assert not node.started and not node.finished and rig.completion == []
    rig.cmd.publish(forward(ros, 5.0))
    assert spin_until(ros, [node], lambda: node.started)
    rig.odom.publish(odom_msg(ros, 20.0, x, y, yaw))
    assert spin_until(ros, [node, rig.probe], lambda: len(rig.completion) == 2)
    # The run starts at the last pose before the first forward command.
    assert [s.t for s in node.monitor.samples] == [19.5, 20.0]
    assert node.monitor.stop_reason is None


def test_lap_monitor_reports_off_track_and_writes_the_record(ros, ctx, oval, oval_file,
                                                             tmp_path):
    record = tmp_path / "run.json"
    node = ctx.make(ros.LapMonitorNode, circuit=str(oval_file), direction="clockwise",
                    record_path=str(record))
    rig = lap_rig(ros, ctx, node)
    rig.cmd.publish(forward(ros, 5.0))
    assert spin_until(ros, [node], lambda: node.started)
    line = oval.line("clockwise")
    x, y, yaw = line.pose_at(0.0)
    rig.odom.publish(odom_msg(ros, 1.0, x, y, yaw))
    x, y, yaw = line.pose_at(3.0)
    rig.odom.publish(odom_msg(ros, 1.5, x - 10.0 * math.sin(yaw), y + 10.0 * math.cos(yaw), yaw))
    assert spin_until(ros, [node], lambda: node.finished)
    data = json.loads(record.read_text())
    assert data["stop_reason"] == "off_track" and data["direction"] == "clockwise"
    assert data["driver"] == "unknown" and data["completion_pct"] < 2.0


def test_control_rate_counts_the_frames_the_driver_answered(ros, ctx, oval, oval_file):
    node = ctx.make(ros.LapMonitorNode, circuit=str(oval_file), direction="anticlockwise",
                    stamped=True)
    probe = ctx.probe()
    odom = probe.create_publisher(ros.Odometry, ODOM.graph, 100)
    cmd = probe.create_publisher(ros.TwistStamped, CMD_VEL.graph, 100)
    assert matched(ros, [node, probe], odom, cmd)
    line, speed = oval.line("anticlockwise"), 10.0
    for k in range(41):  # 2 s of 20 Hz odometry; the driver answered every second frame
        t = 0.05 * k
        if k % 2 == 0:
            msg = ros.TwistStamped()
            msg.header.stamp, msg.twist.linear.x = stamp(ros, t), speed
            cmd.publish(msg)
        message = odom_msg(ros, t, *line.pose_at(speed * t))
        message.twist.twist.linear.x = speed if k else 0.0
        odom.publish(message)
        assert spin_until(ros, [node], lambda t=t: node.monitor.samples
                          and node.monitor.samples[-1].t == pytest.approx(t))
    spin_for(ros, [node], 0.2)
    record = node.run_record()
    assert record["frames_driven"] == 20 and record["control_rate_hz"] == 10.0
    assert record["sim_time_s"] == 2.0


@pytest.mark.parametrize("params, name", [
    ({"circuit": "atlantis"}, "circuit"), ({"direction": "sideways"}, "direction"),
    ({"laps": 0}, "laps"), ({"stuck_seconds": 0.0}, "stuck_seconds"),
    ({"timeout_seconds": -1.0}, "timeout_seconds")])
def test_lap_monitor_parameters_are_validated(ros, ctx, oval_file, params, name):
    with pytest.raises(FollowLineError, match=f"'{name}'"):
        ctx.make(ros.LapMonitorNode, **{"circuit": str(oval_file), **params})


# --- sim node -------------------------------------------------------------------------------

def sim_rig(ros, ctx, node):
    probe = ctx.probe()
    got = SimpleNamespace(clock=[], image=[], odom=[])
    probe.create_subscription(ros.Clock, CLOCK.graph, got.clock.append, 100)
    probe.create_subscription(ros.Image, CAMERA.graph, got.image.append, ros.sensor_qos)
    probe.create_subscription(ros.Odometry, ODOM.graph, got.odom.append, 100)
    cmd = probe.create_publisher(ros.Twist, CMD_VEL.graph, 10)
    assert matched(ros, [probe], cmd, node.clock_pub, node.image_pub, node.odom_pub)
    return probe, cmd, got


def ns(t):
    from follow_line.ros.conversions import stamp_to_ns

    return stamp_to_ns(t)


def test_sim_node_ticks_publish_clock_image_and_odometry_in_sim_time(ros, ctx, oval,
                                                                     oval_file):
    node = ctx.make(ros.SimNode, circuit=str(oval_file), direction="anticlockwise",
                    rate=20.0, real_time_factor=10.0)
    probe, cmd, got = sim_rig(ros, ctx, node)
    command = ros.Twist()
    command.linear.x, command.angular.z = 5.0, 0.2
    cmd.publish(command)
    assert spin_until(ros, [node], lambda: node.command == (5.0, 0.2))
    assert spin_until(ros, [node, probe], lambda: len(got.odom) >= 4 and len(got.image) >= 4)
    period = 50_000_000  # one camera period of simulated time, ns
    clocks = [ns(m.clock) for m in got.clock]
    odom_stamps = [ns(m.header.stamp) for m in got.odom]
    assert np.all(np.diff(clocks) == period) and clocks[0] % period == 0
    assert np.all(np.diff(odom_stamps) == period) and set(odom_stamps) <= set(clocks)
    assert {ns(m.header.stamp) for m in got.image} <= set(clocks)
    image = got.image[0]
    assert (image.height, image.width, image.encoding, image.step) == (480, 640, "rgb8", 1920)
    assert image.header.frame_id == "camera_link" and len(image.data) == 480 * 640 * 3
    odom = got.odom[0]
    assert (odom.header.frame_id, odom.child_frame_id) == ("odom", "base_link")
    # The car moves with the commanded twist: each pose follows from the previous one.
    start = Simulator(oval, "anticlockwise").pose
    poses = []
    for msg in got.odom:
        q = msg.pose.pose.orientation
        poses.append(Pose(msg.pose.pose.position.x, msg.pose.pose.position.y,
                          2 * math.atan2(q.z, q.w)))
    previous = [start] + poses[:-1] if odom_stamps[0] == period else [None] + poses[:-1]
    for before, after, msg in zip(previous, poses, got.odom, strict=True):
        if before is None:
            continue
        expected = integrate(before, *vw(msg.twist), period * 1e-9)
        assert (after.x, after.y) == pytest.approx((expected.x, expected.y), abs=1e-6)
        assert math.remainder(after.theta - expected.theta, math.tau) == \
            pytest.approx(0.0, abs=1e-9)
    assert vw(got.odom[-1].twist) == (5.0, 0.2)
    assert math.hypot(poses[-1].x - poses[0].x, poses[-1].y - poses[0].y) > 0.2
    # The image is the camera's view from the pose published with the same stamp.
    pose = dict(zip(odom_stamps, poses, strict=True)).get(ns(image.header.stamp))
    if pose is not None:
        frame = np.frombuffer(bytes(image.data), np.uint8).reshape(480, 640, 3)
        renderer = Simulator(oval, "anticlockwise").renderer
        np.testing.assert_array_equal(frame, renderer.render(pose))


def test_sim_node_runs_with_use_sim_time_on_its_own_clock(ros, ctx, oval_file):
    node = ctx.make(ros.SimNode, circuit=str(oval_file), real_time_factor=20.0,
                    use_sim_time=True)
    assert node.get_parameter("use_sim_time").value is True
    assert spin_until(ros, [node], lambda: node.get_clock().now().nanoseconds >= 500_000_000)
    assert node.sim.time == pytest.approx(node.get_clock().now().nanoseconds * 1e-9)


def test_a_free_running_sim_warns_when_the_driver_cannot_keep_up(ros, ctx, oval_file, capfd):
    node = ctx.make(ros.SimNode, circuit=str(oval_file), stamped=True, real_time_factor=20.0)
    assert spin_until(ros, [node], lambda: node.frames_published >= 10)
    err = capfd.readouterr().err
    assert "frames behind the camera at real_time_factor 20" in err
    assert "lower real_time_factor or run in lockstep" in err


@pytest.mark.parametrize("params, name", [
    ({"rate": 0.0}, "rate"), ({"real_time_factor": -2.0}, "real_time_factor"),
    ({"circuit": "atlantis"}, "circuit")])
def test_sim_node_parameters_are_validated(ros, ctx, oval_file, params, name):
    with pytest.raises(FollowLineError, match=f"'{name}'"):
        ctx.make(ros.SimNode, **{"circuit": str(oval_file), **params})


# --- the core without ROS, and the stand-in's fidelity ------------------------------------

def test_the_core_and_the_ros_package_import_without_rclpy():
    code = ("import sys; import follow_line.ros, follow_line.ros.image_conversion, "
            "follow_line.ros.runner, follow_line.ros.parameters, follow_line.ros.conversions, "
            "follow_line.ros.bringup, follow_line.interface, follow_line.driving.run; "
            "assert 'rclpy' not in sys.modules, 'rclpy imported'")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)


def test_messages_check_field_types_like_rosidl(ros):
    twist = ros.Twist()
    with pytest.raises(AssertionError):
        twist.linear.x = np.float32(1.0)  # numpy floats are not Python floats
    with pytest.raises(AssertionError):
        ros.Twist(speed=1.0)
    with pytest.raises(AssertionError):
        ros.Image(height=-1)
    assert ros.Odometry().pose.pose.orientation.w == 1.0
    assert ros.Float32().data == 0.0 and ros.Image().data.typecode == "B"


def test_a_best_effort_publisher_does_not_reach_a_reliable_subscription(ros, ctx):
    probe = ctx.probe()
    reliable, best_effort = [], []
    probe.create_subscription(ros.Float32, "/x", reliable.append, 10)
    probe.create_subscription(ros.Float32, "/x", best_effort.append,
                              ros.QoSProfile(depth=10,
                                             reliability=ros.ReliabilityPolicy.BEST_EFFORT))
    publisher = probe.create_publisher(ros.Float32, "/x", ros.sensor_qos)
    publisher.publish(ros.Float32(data=1.5))
    assert spin_until(ros, [probe], lambda: best_effort)
    spin_for(ros, [probe], 0.3)
    assert reliable == [] and best_effort[0].data == 1.5


def test_a_logging_call_site_cannot_change_its_throttle(ros, ctx):
    logger = ctx.probe().get_logger()

    def log(period):
        return logger.info("one call site", throttle_duration_sec=period)

    assert log(1.0) is True and log(1.0) is False  # throttled
    with pytest.raises(ValueError, match="cannot be changed"):
        log(2.0)
