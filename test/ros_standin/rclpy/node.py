"""rclpy.node: Node (parameters, publishers, subscriptions, timers, clock, logger)."""

from __future__ import annotations

import re

from rcl_interfaces.msg import ListParametersResult, ParameterDescriptor, SetParametersResult
from rclpy.clock import ROSClock
from rclpy.exceptions import (
    InvalidHandle,
    InvalidNodeNameException,
    InvalidParameterTypeException,
    InvalidParameterValueException,
    InvalidTopicNameException,
    NotInitializedException,
    ParameterAlreadyDeclaredException,
    ParameterNotDeclaredException,
    ParameterUninitializedException,
)
from rclpy.logging import get_logger
from rclpy.parameter import Parameter
from rclpy.publisher import Publisher
from rclpy.qos import QoSProfile
from rclpy.subscription import Subscription
from rclpy.time_source import TimeSource
from rclpy.timer import Timer
from rclpy.utilities import get_default_context

_NODE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TOPIC_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def expand_topic_name(topic_name: str, node_name: str, node_namespace: str) -> str:
    """The fully qualified name of a relative, private (~) or absolute topic name."""
    namespace = node_namespace.rstrip("/")
    if topic_name.startswith("~"):
        return f"{namespace}/{node_name}{topic_name[1:]}"
    if topic_name.startswith("/"):
        return topic_name
    return f"{namespace}/{topic_name}"


def _validate_full_topic_name(name: str) -> None:
    if not name.startswith("/") or name.endswith("/") or "//" in name:
        raise InvalidTopicNameException(name, "topic name must be absolute, without empty "
                                              "tokens or a trailing '/'", 0)
    for token in name[1:].split("/"):
        if not _TOPIC_TOKEN.match(token):
            raise InvalidTopicNameException(name, "topic name tokens must be alphanumeric or "
                                                  "underscores, not starting with a number",
                                            name.index(token))


class Node:
    """A node of the in-process graph."""

    PARAM_REL_TOL = 1e-6

    def __init__(self, node_name, *, context=None, cli_args=None, namespace=None,
                 use_global_arguments=True, enable_rosout=True, start_parameter_services=True,
                 parameter_overrides=None, allow_undeclared_parameters=False,
                 automatically_declare_parameters_from_overrides=False):
        self._context = get_default_context() if context is None else context
        self._destroyed = False
        if not self._context.ok():
            raise NotInitializedException("cannot create node")
        if not isinstance(node_name, str) or not _NODE_NAME.match(node_name):
            raise InvalidNodeNameException(node_name, "node name must contain only "
                                           "alphanumerics and underscores, not starting with a "
                                           "number", 0)
        namespace = namespace or "/"
        self._namespace = namespace if namespace.startswith("/") else "/" + namespace
        self._name = node_name
        self._parameters: dict[str, Parameter] = {}
        self._descriptors: dict[str, ParameterDescriptor] = {}
        self._publishers: list[Publisher] = []
        self._subscriptions: list[Subscription] = []
        self._timers: list[Timer] = []
        self._allow_undeclared_parameters = allow_undeclared_parameters
        self._parameter_overrides = {}
        if use_global_arguments:
            self._parameter_overrides.update(self._context._parameter_overrides)
        if cli_args:
            from rclpy.context import _parse_ros_args

            self._parameter_overrides.update(_parse_ros_args(cli_args))
        if parameter_overrides is not None:
            self._parameter_overrides.update({p.name: p for p in parameter_overrides})
        logger_name = ".".join([*filter(None, self._namespace.split("/")), node_name])
        self._logger = get_logger(logger_name)
        self._clock = ROSClock()
        if automatically_declare_parameters_from_overrides:
            self.declare_parameters("", [(name, p.value, ParameterDescriptor())
                                         for name, p in self._parameter_overrides.items()],
                                    ignore_override=True)
        self._time_source = TimeSource(node=self)
        self._time_source.attach_clock(self._clock)

    # --- names, clock, logger ---------------------------------------------------------------

    @property
    def context(self):
        return self._context

    @property
    def publishers(self):
        yield from self._publishers

    @property
    def subscriptions(self):
        yield from self._subscriptions

    @property
    def timers(self):
        yield from self._timers

    def get_name(self) -> str:
        return self._name

    def get_namespace(self) -> str:
        return self._namespace

    def get_fully_qualified_name(self) -> str:
        return f"{self._namespace.rstrip('/')}/{self._name}"

    def get_clock(self):
        return self._clock

    def get_logger(self):
        return self._logger

    def resolve_topic_name(self, topic: str, *, only_expand: bool = False) -> str:
        if not isinstance(topic, str) or not topic:
            raise InvalidTopicNameException(topic, "topic name must not be empty", 0)
        name = expand_topic_name(topic, self._name, self._namespace)
        _validate_full_topic_name(name)
        return name

    # --- parameters --------------------------------------------------------------------------

    def declare_parameter(self, name, value=None, descriptor=None, ignore_override=False):
        """Declare `name` with a default (its type) and a descriptor; the effective value."""
        if value is None and descriptor is None:
            args = (name,)
        else:
            args = (name, value, ParameterDescriptor() if descriptor is None else descriptor)
        return self.declare_parameters("", [args], ignore_override)[0]

    def declare_parameters(self, namespace, parameters, ignore_override=False):
        """Declare several parameters: tuples (name,), (name, Type) or (name, value, desc)."""
        parameter_list, descriptors = [], {}
        for index, parameter_tuple in enumerate(parameters):
            if not 1 <= len(parameter_tuple) <= 3:
                raise TypeError(f"Invalid parameter tuple length at index {index} in parameters "
                                f"list: {parameter_tuple}; expecting length between 1 and 3")
            name = parameter_tuple[0]
            if not isinstance(name, str):
                raise TypeError(f"First element {name} at index {index} in parameters list is "
                                "not a str.")
            if namespace:
                name = f"{namespace}.{name}"
            second = parameter_tuple[1] if len(parameter_tuple) > 1 else None
            descriptor = parameter_tuple[2] if len(parameter_tuple) > 2 else ParameterDescriptor()
            if not isinstance(descriptor, ParameterDescriptor):
                raise TypeError(f"Third element {descriptor} at index {index} in parameters list "
                                "is not a ParameterDescriptor.")
            value = None
            if len(parameter_tuple) == 1:
                descriptor.dynamic_typing = True
            if isinstance(second, Parameter.Type):
                if second == Parameter.Type.NOT_SET:
                    raise ValueError(f"Cannot declare parameter {{{name}}} as statically typed "
                                     "of type NOT_SET")
                descriptor.type = second.value
            else:
                value = second
                if not descriptor.dynamic_typing:
                    descriptor.type = Parameter.Type.from_parameter_value(value).value
                    if descriptor.type == Parameter.Type.NOT_SET.value:
                        raise ValueError("Cannot declare a statically typed parameter with "
                                         "default value of type PARAMETER_NOT_SET")
            if not ignore_override and name in self._parameter_overrides:
                value = self._parameter_overrides[name].value
            parameter_list.append(Parameter(name, value=value))
            descriptors[name] = descriptor
        already = [p.name for p in parameter_list if p.name in self._parameters]
        if already:
            raise ParameterAlreadyDeclaredException(already)
        for parameter in parameter_list:
            descriptor = descriptors[parameter.name]
            result = self._apply_descriptor(parameter, descriptor, check_read_only=False)
            if not result.successful:
                if result.reason.startswith("Wrong parameter type"):
                    raise InvalidParameterTypeException(
                        parameter, Parameter.Type(descriptor.type).name)
                raise InvalidParameterValueException(parameter.name, parameter.value,
                                                     result.reason)
            self._descriptors[parameter.name] = descriptor
            self._parameters[parameter.name] = parameter
        return [self._parameters[p.name] for p in parameter_list]

    def _apply_descriptor(self, parameter, descriptor, check_read_only=True):
        descriptor.name = parameter.name
        if check_read_only and descriptor.read_only:
            return SetParametersResult(
                successful=False,
                reason=f"Trying to set a read-only parameter: {parameter.name}.")
        if descriptor.dynamic_typing:
            descriptor.type = parameter.type_.value
        elif self.has_parameter(parameter.name) and parameter.type_ == Parameter.Type.NOT_SET:
            return SetParametersResult(successful=False,
                                       reason="Static parameter cannot be undeclared")
        elif (parameter.type_ != Parameter.Type.NOT_SET
              and parameter.type_.value != descriptor.type):
            return SetParametersResult(
                successful=False,
                reason=(f"Wrong parameter type, expected '{Parameter.Type(descriptor.type)}'"
                        f" got '{parameter.type_}'"))
        if descriptor.floating_point_range or descriptor.integer_range:
            raise NotImplementedError("stand-in: parameter ranges are not implemented")
        return SetParametersResult(successful=True)

    def has_parameter(self, name) -> bool:
        return name in self._parameters

    def get_parameter(self, name):
        if self.has_parameter(name):
            parameter = self._parameters[name]
            if (parameter.type_ != Parameter.Type.NOT_SET
                    or self._descriptors[name].dynamic_typing):
                return parameter
            raise ParameterUninitializedException(name)
        if self._allow_undeclared_parameters:
            return Parameter(name, Parameter.Type.NOT_SET, None)
        raise ParameterNotDeclaredException(name)

    def get_parameters(self, names):
        return [self.get_parameter(name) for name in names]

    def get_parameter_or(self, name, alternative_value=None):
        if alternative_value is None:
            alternative_value = Parameter(name, Parameter.Type.NOT_SET)
        if not self.has_parameter(name) or \
                self._parameters[name].type_ == Parameter.Type.NOT_SET:
            return alternative_value
        return self._parameters[name]

    def describe_parameter(self, name):
        try:
            return self._descriptors[name]
        except KeyError:
            if self._allow_undeclared_parameters:
                return ParameterDescriptor()
            raise ParameterNotDeclaredException(name) from None

    def describe_parameters(self, names):
        return [self.describe_parameter(name) for name in names]

    def list_parameters(self, prefixes, depth):
        """Declared parameter names (the stand-in supports prefixes=[] and depth 0 only)."""
        if prefixes or depth != 0:
            raise NotImplementedError("stand-in: list_parameters([], 0) only")
        result = ListParametersResult()
        result.names = list(self._parameters)
        return result

    def set_parameters(self, parameter_list):
        """Set declared parameters; one SetParametersResult each (read-only ones refused)."""
        results = []
        for parameter in parameter_list:
            if not isinstance(parameter, Parameter):
                raise TypeError(f"parameter must be instance of type '{Parameter!r}'")
            if parameter.name not in self._parameters and not self._allow_undeclared_parameters:
                raise ParameterNotDeclaredException([parameter.name])
            descriptor = self._descriptors.get(parameter.name, ParameterDescriptor(
                dynamic_typing=True))
            result = self._apply_descriptor(parameter, descriptor)
            if result.successful:
                self._descriptors[parameter.name] = descriptor
                self._parameters[parameter.name] = parameter
            results.append(result)
        return results

    # --- entities ----------------------------------------------------------------------------

    def _qos(self, qos_or_depth):
        if isinstance(qos_or_depth, QoSProfile):
            return qos_or_depth
        if isinstance(qos_or_depth, int):
            if qos_or_depth < 0:
                raise ValueError("history depth must be greater than or equal to zero")
            return QoSProfile(depth=qos_or_depth)
        raise TypeError(f"Expected QoSProfile or int, but received {type(qos_or_depth)!r}")

    def _check_alive(self):
        if self._destroyed:
            raise InvalidHandle("cannot use Destroyable because destruction was requested")

    def create_publisher(self, msg_type, topic, qos_profile, *, callback_group=None,
                         event_callbacks=None, qos_overriding_options=None,
                         publisher_class=Publisher):
        self._check_alive()
        publisher = publisher_class(self, msg_type, topic, self._qos(qos_profile),
                                    event_callbacks=event_callbacks,
                                    callback_group=callback_group)
        self._publishers.append(publisher)
        self._context._graph.publishers.append(publisher)
        return publisher

    def create_subscription(self, msg_type, topic, callback, qos_profile, *,
                            callback_group=None, event_callbacks=None,
                            qos_overriding_options=None, raw=False):
        self._check_alive()
        if raw:
            raise NotImplementedError("stand-in: raw subscriptions are not implemented")
        subscription = Subscription(self, msg_type, topic, callback, callback_group,
                                    self._qos(qos_profile), raw, event_callbacks=event_callbacks)
        self._subscriptions.append(subscription)
        self._context._graph.subscriptions.append(subscription)
        return subscription

    def create_timer(self, timer_period_sec, callback, callback_group=None, clock=None):
        self._check_alive()
        timer = Timer(callback, callback_group, int(float(timer_period_sec) * 1e9),
                      self._clock if clock is None else clock, context=self._context)
        self._timers.append(timer)
        return timer

    def destroy_publisher(self, publisher) -> bool:
        if publisher in self._publishers:
            self._publishers.remove(publisher)
            publisher.destroy()
            return True
        return False

    def destroy_subscription(self, subscription) -> bool:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)
            subscription.destroy()
            return True
        return False

    def destroy_timer(self, timer) -> bool:
        if timer in self._timers:
            self._timers.remove(timer)
            timer.destroy()
            return True
        return False

    def destroy_node(self):
        """Destroy every publisher, subscription and timer of the node."""
        while self._publishers:
            self.destroy_publisher(self._publishers[0])
        while self._subscriptions:
            self.destroy_subscription(self._subscriptions[0])
        while self._timers:
            self.destroy_timer(self._timers[0])
        self._destroyed = True
