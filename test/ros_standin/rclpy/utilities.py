"""rclpy.utilities: the default context and ok / shutdown / try_shutdown."""

from __future__ import annotations

_default_context = None


def get_default_context(*, shutting_down=False):
    """The process-wide default context."""
    global _default_context
    if _default_context is None:
        from rclpy.context import Context

        _default_context = Context()
    return _default_context


def ok(*, context=None) -> bool:
    """Whether `context` (default: the default context) is initialized and not shut down."""
    return (context or get_default_context()).ok()


def shutdown(*, context=None) -> None:
    """Shut `context` down (RuntimeError if it is not initialized)."""
    (context or get_default_context()).shutdown()


def try_shutdown(*, context=None) -> None:
    """Shut `context` down if it is still initialized."""
    (context or get_default_context()).try_shutdown()
