"""The stand-in's in-process middleware: a controllable wall clock, topics and queues.

Not part of rclpy's API: ros_standin/__init__.py exposes it to the tests.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass

EPOCH_NS = 1_700_000_000 * 1_000_000_000  # where the fake wall clock starts
_now = [EPOCH_NS]


def now_ns() -> int:
    """The fake wall clock (system, steady and, without sim time, ROS time), nanoseconds."""
    return _now[0]


def advance(ns: int) -> None:
    """Let `ns` nanoseconds of wall-clock time pass (timers fall due; nothing runs)."""
    if ns < 0:
        raise ValueError("the stand-in's wall clock cannot go back")
    _now[0] += int(ns)


@dataclass
class LogRecord:
    """One message the stand-in logger emitted."""

    severity: str
    name: str
    message: str
    time_ns: int


LOGS: list[LogRecord] = []


def _reliable(qos) -> bool:
    from rclpy.qos import ReliabilityPolicy

    return qos.reliability != ReliabilityPolicy.BEST_EFFORT


def _transient(qos) -> bool:
    from rclpy.qos import DurabilityPolicy

    return qos.durability == DurabilityPolicy.TRANSIENT_LOCAL


def qos_compatible(publisher_qos, subscription_qos) -> bool:
    """DDS request/offer rules for reliability and durability (SYSTEM_DEFAULT: the default)."""
    if _reliable(subscription_qos) and not _reliable(publisher_qos):
        return False
    return not (_transient(subscription_qos) and not _transient(publisher_qos))


class Graph:
    """Publishers and subscriptions of one context, and every message published in it."""

    def __init__(self):
        self.subscriptions = []
        self.publishers = []
        self.published: dict[str, list] = defaultdict(list)

    def deliver(self, publisher, msg) -> None:
        """Queue a copy of `msg` on every matching subscription (same topic, type, QoS)."""
        self.published[publisher.topic_name].append(copy.deepcopy(msg))
        for sub in self.subscriptions:
            if (sub.topic_name == publisher.topic_name and sub.msg_type is publisher.msg_type
                    and qos_compatible(publisher.qos_profile, sub.qos_profile)):
                sub._queue.append(copy.deepcopy(msg))


def follows_wall_clock(clock) -> bool:
    """Whether waiting advances `clock` (not a ROS clock driven by /clock)."""
    return not getattr(clock, "ros_time_is_active", False)


def ready_entities(nodes) -> list:
    """(node, timer or subscription) pairs ready now, timers first, as one wait set sees them."""
    ready = []
    for node in nodes:
        ready += [(node, timer) for timer in node._timers if timer.is_ready()]
        ready += [(node, sub) for sub in node._subscriptions if sub._queue]
    return ready


def take(node, entity, nodes):
    """A callable running `entity`'s callback if it is still ready, or None."""
    if node not in nodes:
        return None
    if hasattr(entity, "_queue"):
        if entity not in node._subscriptions or not entity._queue:
            return None
        msg = entity._queue.popleft()
        return lambda: entity.callback(msg)
    if entity not in node._timers or not entity.is_ready():
        return None
    return entity._call


def next_work(nodes):
    """A callable running one ready callback of `nodes` (timers first), or None."""
    for node, entity in ready_entities(nodes):
        work = take(node, entity, nodes)
        if work is not None:
            return work
    return None


def wait_ns(nodes) -> int | None:
    """Wall-clock nanoseconds until the first pending timer of `nodes` falls due."""
    waits = [timer.time_until_next_call() for node in nodes for timer in node._timers
             if not timer.is_canceled() and follows_wall_clock(timer.clock)]
    waits = [w for w in waits if w is not None]
    return max(min(waits), 0) if waits else None
