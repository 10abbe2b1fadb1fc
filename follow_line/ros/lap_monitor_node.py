"""Lap monitor node: odometry -> progress along the circuit's line, lap times, the run record.

Time is the odometry's header stamp (simulated time under Gazebo or the built-in sim node).
The run starts at the last pose before the car first moves (a forward command on cmd_vel, or
a forward twist in the odometry), so that the time a driver takes to load its network counts
neither as lap time nor as "stuck". Each sample's (v, w) is the odometry's twist: the command
the built-in simulator obeyed, the measured velocity under Gazebo. `control_rate_hz` counts
the commands that arrived on cmd_vel during the run (with TwistStamped: by stamp). Progress
(percent of the requested laps) goes out on `~/completion`, each lap time on `~/lap_time`;
when a stop reason appears the node logs it, writes the run record, stops the car by
deactivating the managed drive node (`driver_node`) and stops monitoring; with `end:=shutdown`
it then ends (exit code 0: the launch file and `follow-line ros` shut the graph down), with
`end:=keep` it stays up. `record_path:=auto` writes a new time-stamped record in the current
folder (or in a folder given as `record_path`), never over an earlier one. A run cut short by
a signal is recorded too, with stop_reason "interrupted".
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from geometry_msgs.msg import Twist, TwistStamped
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState
from nav_msgs.msg import Odometry
from rclpy.client import Client
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions
from rclpy.task import Future
from rclpy.timer import Timer
from std_msgs.msg import Float32

from follow_line import __version__
from follow_line.files import write_json_atomic, write_json_new
from follow_line.interface import CMD_VEL, COMPLETION, DRIVE_NODE, LAP_MONITOR_NODE, LAP_TIME, ODOM
from follow_line.ros.conversions import stamp_to_seconds, yaw_from_quaternion
from follow_line.ros.parameters import (
    check_choice,
    check_range,
    declare,
    declare_circuit,
    declare_world,
    parameter_error,
)
from follow_line.ros.runner import exit_process, run_node
from follow_line.world.kinematics import Pose
from follow_line.world.lap import LapMonitor, LapRules

ODOM_DEPTH = 50
CMD_VEL_DEPTH = 100  # deep enough to count every command when the node falls behind
WARN_PERIOD_S = 5.0
# After the stop reason, commands still in flight (their odometry came first) are counted for
# this long before the record is written.
FINISH_DELAY_S = 0.2
START_SPEED = 1e-3  # m/s: a command faster than this starts the run
END_POLICIES = ("shutdown", "keep")
DEACTIVATE_WAIT_S = 5.0  # how long the run's end waits for the driver to stop the car


class LapMonitorNode(Node):
    """Follows the car's odometry along the reference line until a stop reason."""

    NODE_NAME = LAP_MONITOR_NODE
    monitor: LapMonitor  # absent until built: rclpy may destroy a node whose __init__ failed
    finished = False
    done = False
    _ending: Timer | None = None  # writes the record once a stop reason appeared

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(LAP_MONITOR_NODE, **kwargs)
        self.rules = self._declare_parameters()
        self._created = datetime.now()  # local time, as rosbag2 names its bags
        self.line = self.circuit.line(self.direction)
        self.monitor = LapMonitor(self.line, self.circuit.road_width, self.rules)
        self._create_interfaces()
        self.started = False
        self.record: dict | None = None
        # the last (t, pose, command) before the run started
        self._pending: tuple[float, Pose, tuple[float, float]] | None = None
        self._last_t: float | None = None
        self._wall_start: float | None = None
        self._commands = 0  # cmd_vel messages during the run (unstamped)
        self._command_stamps: list[float] = []  # their stamps (TwistStamped)
        self.get_logger().info(
            f"monitoring {self.circuit.name} {self.direction} ({self.line.length:.1f} m, "
            f"{self.laps} lap(s)) on {self.odom_sub.topic_name}; the run starts with the first "
            f"forward command on {self.cmd_sub.topic_name}"
            f"{f'; record: {self.record_path}' if self.record_path else ''}")

    def _declare_parameters(self) -> LapRules:
        """Declare and check the parameters; the run's rules."""
        self.circuit, self.direction = declare_circuit(self, declare_world(self))
        self.laps = declare(self, "laps", 1, "Laps to drive before the run ends", ">= 1")
        self.stamped = declare(self, "stamped", False,
                               "cmd_vel carries geometry_msgs/TwistStamped instead of Twist")
        record_path = declare(self, "record_path", "",
                              "Where to write the run record (JSON) when the run ends: a file; "
                              "'auto' (a new time-stamped file in the current folder) or a "
                              "folder (one in it), never over an earlier record; empty or "
                              "'none': no record")
        self.driver_name = declare(self, "driver_name", "unknown",
                                   "Name of the driver, for the run record")
        self.end = check_choice("end", declare(
            self, "end", "shutdown",
            "When the run ends (record written, car stopped): 'shutdown' ends the node (the "
            "launch then shuts the graph down), 'keep' keeps it up",
            f"one of {', '.join(END_POLICIES)}"), END_POLICIES)
        self.driver_node = declare(self, "driver_node", DRIVE_NODE,
                                   "The managed drive node deactivated (the car stopped) when "
                                   "the run ends; empty: none")
        stuck_seconds = declare(self, "stuck_seconds", LapRules.stuck_seconds,
                                "Seconds without new progress after which the run ends "
                                "('stuck')", "> 0")
        timeout_seconds = declare(self, "timeout_seconds", 0.0,
                                  "Simulated seconds after which the run ends ('timeout'); "
                                  "0: 300 s per lap", ">= 0")
        off_track_margin = declare(self, "off_track_margin", LapRules.off_track_margin,
                                   "Metres beyond the road edge the car's centre may go "
                                   "before the run ends ('off_track')", ">= 0")
        if self.laps < 1:
            raise parameter_error("laps", self.laps, "an integer >= 1")
        check_range("stuck_seconds", stuck_seconds, 0.0, low_open=True)
        check_range("timeout_seconds", timeout_seconds, 0.0)
        check_range("off_track_margin", off_track_margin, 0.0)
        self.record_path = "" if record_path == "none" else record_path
        self._automatic_record = self.record_path == "auto" or (
            bool(self.record_path) and Path(self.record_path).is_dir())
        return LapRules(laps=self.laps, off_track_margin=off_track_margin,
                        stuck_seconds=stuck_seconds, timeout_seconds=timeout_seconds or None)

    def _create_interfaces(self) -> None:
        """Publishers, subscriptions and the drive node's lifecycle client.

        The odometry subscription is best effort, which takes odometry from reliable and
        best-effort publishers alike; its reliability, depth and history take QoS overrides
        (`interface.qos_override`): reliable, with the built-in sim's reliable odometry, also
        gets the messages sent while the graph connects.
        """
        self.completion_pub = self.create_publisher(Float32, COMPLETION.name, 10)
        self.lap_time_pub = self.create_publisher(Float32, LAP_TIME.name, 10)
        self.odom_sub = self.create_subscription(
            Odometry, ODOM.name, self._on_odom,
            QoSProfile(depth=ODOM_DEPTH, reliability=ReliabilityPolicy.BEST_EFFORT),
            qos_overriding_options=QoSOverridingOptions.with_default_policies())
        self.cmd_sub = self.create_subscription(
            TwistStamped if self.stamped else Twist, CMD_VEL.name, self._on_cmd_vel,
            CMD_VEL_DEPTH)
        self.driver_client: Client | None = (
            self.create_client(ChangeState, f"{self.driver_node}/change_state")
            if self.driver_node else None)
        # (future, steady-clock deadline) while the car is being stopped
        self._deactivating: tuple[Future, float] | None = None

    def _automatic_record_path(self) -> Path:
        """A new record's name: driver, circuit, direction and the node's start time."""
        folder = Path("." if self.record_path == "auto" else self.record_path)
        driver = Path(self.driver_name).stem if Path(self.driver_name).suffix \
            else self.driver_name
        return folder / (f"follow_line_{driver}_{self.circuit.name}_{self.direction}_"
                         f"{self._created:%Y_%m_%d-%H_%M_%S}.json")

    def _on_cmd_vel(self, msg: Any) -> None:
        if self.finished:
            return
        if self.stamped:
            self._command_stamps.append(stamp_to_seconds(msg.header.stamp))
        elif self.started:
            self._commands += 1
        twist = msg.twist if self.stamped else msg
        if not self.started and twist.linear.x > START_SPEED:
            self._start("first forward command from the driver")

    def _start(self, why: str) -> None:
        self.started = True
        self._wall_start = time.monotonic()
        self.get_logger().info(f"{why}: run started ({self.driver_name})")
        if self._pending is not None:
            self._update(*self._pending)

    def _on_odom(self, msg: Odometry) -> None:
        if self.finished or self._ending is not None:
            return
        t = stamp_to_seconds(msg.header.stamp)
        if self._last_t is not None and t <= self._last_t:
            if t < self._last_t:
                self.get_logger().warning(f"odometry stamp went back from {self._last_t:.3f} s"
                                          f" to {t:.3f} s: message ignored",
                                          throttle_duration_sec=WARN_PERIOD_S)
            return
        p, q = msg.pose.pose.position, msg.pose.pose.orientation
        pose = Pose(p.x, p.y, yaw_from_quaternion(q.x, q.y, q.z, q.w))
        twist = msg.twist.twist
        sample = (t, pose, (twist.linear.x, twist.angular.z))
        if not self.started:
            if twist.linear.x <= START_SPEED:
                self._pending = sample
                return
            self._start("the car moves")
        self._update(*sample)

    def _update(self, t: float, pose: Pose, command: tuple[float, float]) -> None:
        self._last_t = t
        laps_before = len(self.monitor.lap_times)
        reason = self.monitor.update(t, pose, command)
        for k in range(laps_before, len(self.monitor.lap_times)):
            lap_time = self.monitor.lap_times[k]
            self.get_logger().info(f"lap {k + 1}/{self.laps} of {self.circuit.name} "
                                   f"{self.direction}: {lap_time:.2f} s")
            self.lap_time_pub.publish(Float32(data=float(lap_time)))
        self.completion_pub.publish(Float32(data=float(self.monitor.completion_pct)))
        if reason is not None:
            self._ending = self.create_timer(FINISH_DELAY_S, self._finish,
                                             clock=Clock(clock_type=ClockType.STEADY_TIME))

    def frames_driven(self) -> int:
        """Commands that arrived during the run: one per frame the driver answered."""
        if not self.stamped:
            return self._commands
        samples = self.monitor.samples
        if not samples:
            return 0
        first, last = samples[0].t, samples[-1].t
        return len({t for t in self._command_stamps if first - 1e-6 <= t < last - 1e-6})

    def _finish(self) -> None:
        if self.finished:
            return
        if self._ending is not None:
            self._ending.cancel()
            self._ending = None
        self.finished = True
        self.record = self.run_record()
        summary = (f"run ended: {self.record['stop_reason']} at "
                   f"{self.record['completion_pct']:.1f} % after {self.record['sim_time_s']:.1f}"
                   f" s, laps {self.record['lap_times_s']}")
        if self.record["stop_reason"] == "lap_completed":
            self.get_logger().info(summary)
        else:
            self.get_logger().warning(summary)
        self._write_record()
        self._stop_driver()

    def _stop_driver(self) -> None:
        """Deactivate the managed drive node (the car stops), then end per the policy."""
        if self.driver_client is None:
            self._ended()
            return
        if not self.driver_client.service_is_ready():
            self.get_logger().warning(
                f"{self.driver_node} has no lifecycle service {self.driver_client.srv_name}: "
                "the car is not stopped by the lap monitor")
            self._ended()
            return
        request = ChangeState.Request(transition=Transition(id=Transition.TRANSITION_DEACTIVATE))
        self._deactivating = (self.driver_client.call_async(request),
                              time.monotonic() + DEACTIVATE_WAIT_S)
        self._deactivation_timer = self.create_timer(
            FINISH_DELAY_S / 4, self._on_deactivating,
            clock=Clock(clock_type=ClockType.STEADY_TIME))

    def _on_deactivating(self) -> None:
        if self._deactivating is None:
            return
        future, deadline = self._deactivating
        if future.done():
            result = future.result()
            stopped = result is not None and result.success
            if not stopped:
                self.get_logger().warning(f"{self.driver_node} refused to deactivate")
        elif time.monotonic() < deadline:
            return
        else:
            self.get_logger().warning(f"{self.driver_node} did not deactivate within "
                                      f"{DEACTIVATE_WAIT_S:g} s")
        self._deactivation_timer.cancel()
        self._ended()

    def _ended(self) -> None:
        """The run is over: end the node (end:=shutdown) or keep it up."""
        if self.end == "keep":
            self.get_logger().info("run over, car stopped: the lap monitor stays up "
                                   "(end:=keep)")
        self.done = self.end == "shutdown"

    def run_record(self) -> dict:
        """The run record: `follow_line.driving.run.run_drive`'s fields that apply under ROS."""
        summary = self.monitor.summary()
        elapsed = summary["sim_time_s"]
        frames = self.frames_driven()
        summary["control_rate_hz"] = round(frames / elapsed, 2) if elapsed > 0 else 0.0
        wall = time.monotonic() - self._wall_start if self._wall_start is not None else 0.0
        return {
            "circuit": self.circuit.name,
            "direction": self.direction,
            "driver": self.driver_name,
            "laps": self.laps,
            "circuit_length_m": round(self.line.length, 2),
            **summary,
            "frames_driven": frames,
            "wall_time_s": round(wall, 3),
            "real_time_factor": round(summary["sim_time_s"] / wall, 2) if wall > 0 else None,
            "source": "ros",
            "odom_topic": self.odom_sub.topic_name,
            "follow_line_version": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "trajectory": self.monitor.trajectory(),
        }

    def _write_record(self) -> None:
        if not self.record_path:
            return
        try:
            if self._automatic_record:
                path = write_json_new(self._automatic_record_path(), self.record)
            else:
                path = Path(self.record_path)
                write_json_atomic(path, self.record)
        except OSError as exc:
            self.get_logger().error(f"cannot write the run record {self.record_path}: {exc}")
        else:
            self.get_logger().info(f"run record written to {path}")

    def destroy_node(self) -> None:
        """Write the record of an unfinished run (stop_reason "interrupted"), then destroy."""
        if self._ending is not None:
            self._finish()
        elif not self.finished and getattr(self, "monitor", None) is not None \
                and self.monitor.samples:
            self.finished = True
            self.record = {**self.run_record(), "stop_reason": "interrupted"}
            self.get_logger().warning(
                f"run interrupted at {self.record['completion_pct']:.1f} % after "
                f"{self.record['sim_time_s']:.1f} s")
            self._write_record()
        return super().destroy_node()


def main(args: list[str] | None = None) -> int:
    """`ros2 run follow_line lap_monitor_node`: monitor until a signal (or the run ends)."""
    return run_node(LapMonitorNode, args)


if __name__ == "__main__":
    exit_process(main())
