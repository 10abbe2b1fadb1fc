"""rclpy.executors: SingleThreadedExecutor and ExternalShutdownException.

Waiting happens on the stand-in's fake wall clock: when nothing is ready, `spin_once` lets
time pass until the first timer falls due or the timeout ends, then runs what became ready.
"""

from __future__ import annotations

from collections import deque

from rclpy import _graph
from rclpy.utilities import get_default_context


class ExternalShutdownException(Exception):  # noqa: N818 (rclpy's name)
    """Context has been shutdown."""


class Executor:
    """Runs the callbacks of its nodes, one per `spin_once`."""

    def __init__(self, *, context=None):
        self._context = get_default_context() if context is None else context
        self._nodes = []
        self._is_shutdown = False
        self._ready = deque()  # what the last wait found ready, handed out one per spin_once

    @property
    def context(self):
        return self._context

    def add_node(self, node) -> bool:
        if node in self._nodes:
            return False
        self._nodes.append(node)
        return True

    def remove_node(self, node) -> None:
        if node in self._nodes:
            self._nodes.remove(node)

    def get_nodes(self):
        return list(self._nodes)

    def shutdown(self, timeout_sec=None) -> bool:
        self._is_shutdown = True
        self._nodes = []
        return True

    def spin_once(self, timeout_sec=None) -> None:
        """Run one ready callback, waiting (on the fake clock) up to `timeout_sec`.

        Like rclpy's executor, every entity one wait finds ready gets its turn before the
        next wait, so a busy subscription does not starve the others.
        """
        if not self._context.ok() or self._is_shutdown:
            raise ExternalShutdownException()
        work = self._next_ready()
        if work is None and timeout_sec != 0:
            wait = _graph.wait_ns(self._nodes)
            if timeout_sec is None or timeout_sec < 0:
                if wait is None:
                    raise RuntimeError("stand-in: spin_once would block forever (nothing is "
                                       "ready and no wall-clock timer is pending)")
                _graph.advance(wait)
            else:
                timeout_ns = int(timeout_sec * 1e9)
                _graph.advance(timeout_ns if wait is None else min(wait, timeout_ns))
            work = self._next_ready()
        if work is not None:
            work()

    def _next_ready(self):
        for refill in (False, True):
            if refill:
                self._ready = deque(_graph.ready_entities(self._nodes))
            while self._ready:
                work = _graph.take(*self._ready.popleft(), self._nodes)
                if work is not None:
                    return work
        return None

    def spin(self) -> None:
        while self._context.ok() and not self._is_shutdown:
            self.spin_once()


class SingleThreadedExecutor(Executor):
    """Runs callbacks in the thread that calls spin_once()."""
