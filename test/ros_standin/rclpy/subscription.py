"""rclpy.subscription: Subscription (its messages wait in a queue until the node spins)."""

from __future__ import annotations

from collections import deque

from rclpy.qos import HistoryPolicy


class Subscription:
    """Receives messages of one type on one topic; `callback(msg)` runs when the node spins."""

    def __init__(self, node, msg_type, topic, callback, callback_group, qos_profile, raw,
                 event_callbacks=None):
        self.msg_type = msg_type
        self.topic = topic
        self.callback = callback
        self.callback_group = callback_group
        self.qos_profile = qos_profile
        self.raw = raw
        self.event_handlers = []
        self._node = node
        self._topic_name = node.resolve_topic_name(topic)
        keep_last = qos_profile.history != HistoryPolicy.KEEP_ALL
        self._queue = deque(maxlen=max(qos_profile.depth, 1) if keep_last else None)
        self._destroyed = False

    @property
    def topic_name(self) -> str:
        """The fully qualified topic name."""
        return self._topic_name

    def destroy(self) -> None:
        if self._destroyed:
            return
        self._destroyed = True
        self._queue.clear()
        graph = self._node.context._graph
        if self in graph.subscriptions:
            graph.subscriptions.remove(self)
