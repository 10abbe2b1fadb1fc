"""rclpy.publisher: Publisher."""

from __future__ import annotations

from rclpy.exceptions import InvalidHandle


class Publisher:
    """Publishes messages of one type on one topic (into the context's in-process graph)."""

    def __init__(self, node, msg_type, topic, qos_profile, *, event_callbacks=None,
                 callback_group=None):
        self.msg_type = msg_type
        self.topic = topic
        self.qos_profile = qos_profile
        self.callback_group = callback_group
        self.event_handlers = []
        self._node = node
        self._topic_name = node.resolve_topic_name(topic)
        self._destroyed = False

    @property
    def topic_name(self) -> str:
        """The fully qualified topic name."""
        return self._topic_name

    def publish(self, msg) -> None:
        """Send `msg` to every matching subscription of the graph."""
        if self._destroyed:
            raise InvalidHandle("cannot use Destroyable because destruction was requested")
        if not isinstance(msg, self.msg_type):
            raise TypeError(f"Expected {self.msg_type}, got {type(msg)}")
        if not self._node.context.ok():
            raise RuntimeError("Failed to publish: publisher's context is invalid")
        self._node.context._graph.deliver(self, msg)

    def get_subscription_count(self) -> int:
        """Subscriptions this publisher reaches (same topic and type, compatible QoS)."""
        from rclpy._graph import qos_compatible

        graph = self._node.context._graph
        return sum(1 for s in graph.subscriptions
                   if s.topic_name == self.topic_name and s.msg_type is self.msg_type
                   and qos_compatible(self.qos_profile, s.qos_profile))

    def destroy(self) -> None:
        if self._destroyed:
            return
        self._destroyed = True
        graph = self._node.context._graph
        if self in graph.publishers:
            graph.publishers.remove(self)
