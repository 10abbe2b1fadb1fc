"""Stand-in for rclpy (ROS 2 Humble), for tests only: see test/ros_standin/__init__.py."""

from __future__ import annotations

from rclpy.utilities import get_default_context, ok, try_shutdown  # noqa: F401
from rclpy.utilities import shutdown as _shutdown

__executor = None


def init(*, args=None, context=None, domain_id=None, signal_handler_options=None) -> None:
    """Initialize ROS communications for `context` (no signal handler is installed)."""
    context = get_default_context() if context is None else context
    context.init(args, domain_id=domain_id)


def get_global_executor():
    """The executor rclpy.spin and rclpy.spin_once use."""
    global __executor
    if __executor is None:
        from rclpy.executors import SingleThreadedExecutor

        __executor = SingleThreadedExecutor()
        context = get_default_context()

        def reset_executor():
            global __executor
            __executor.shutdown()
            __executor = None

        context.on_shutdown(reset_executor)
    return __executor


def shutdown(*, context=None, uninstall_handlers=None) -> None:
    """Shut down `context` (default: the default context)."""
    _shutdown(context=context)


def create_node(node_name, **kwargs):
    """A new rclpy.node.Node."""
    from rclpy.node import Node

    return Node(node_name, **kwargs)


def spin_once(node, *, executor=None, timeout_sec=None) -> None:
    """Run one callback of `node`, waiting up to `timeout_sec` (None: until one is ready)."""
    executor = get_global_executor() if executor is None else executor
    try:
        executor.add_node(node)
        executor.spin_once(timeout_sec=timeout_sec)
    finally:
        executor.remove_node(node)


def spin(node, executor=None) -> None:
    """Run callbacks of `node` until the context is shut down."""
    executor = get_global_executor() if executor is None else executor
    try:
        executor.add_node(node)
        while executor.context.ok():
            executor.spin_once()
    finally:
        executor.remove_node(node)
