"""rclpy.qos: QoSProfile, the policy enums and the preset profiles (rmw's values)."""

from __future__ import annotations

from enum import Enum, IntEnum

from rclpy.duration import Duration


class InvalidQoSProfileException(Exception):  # noqa: N818 (rclpy's name)
    """Raised when constructing a QoSProfile with invalid arguments."""

    def __init__(self, *args):
        Exception.__init__(self, "Invalid QoSProfile", *args)


class HistoryPolicy(IntEnum):
    """QoS history (rmw/types.h)."""

    SYSTEM_DEFAULT = 0
    KEEP_LAST = 1
    KEEP_ALL = 2
    UNKNOWN = 3


class ReliabilityPolicy(IntEnum):
    """QoS reliability (rmw/types.h)."""

    SYSTEM_DEFAULT = 0
    RELIABLE = 1
    BEST_EFFORT = 2
    UNKNOWN = 3


class DurabilityPolicy(IntEnum):
    """QoS durability (rmw/types.h)."""

    SYSTEM_DEFAULT = 0
    TRANSIENT_LOCAL = 1
    VOLATILE = 2
    UNKNOWN = 3


class LivelinessPolicy(IntEnum):
    """QoS liveliness (rmw/types.h)."""

    SYSTEM_DEFAULT = 0
    AUTOMATIC = 1
    MANUAL_BY_TOPIC = 3
    UNKNOWN = 4


QoSHistoryPolicy = HistoryPolicy
QoSReliabilityPolicy = ReliabilityPolicy
QoSDurabilityPolicy = DurabilityPolicy
QoSLivelinessPolicy = LivelinessPolicy

# rmw's qos_profile_default: the values QoSProfile takes for what it is not given.
_DEFAULT = {"depth": 10, "reliability": ReliabilityPolicy.RELIABLE,
            "durability": DurabilityPolicy.VOLATILE, "lifespan": Duration(),
            "deadline": Duration(), "liveliness": LivelinessPolicy.SYSTEM_DEFAULT,
            "liveliness_lease_duration": Duration(), "avoid_ros_namespace_conventions": False}


class QoSProfile:
    """Quality of service policies of a publisher or subscription."""

    __slots__ = ["_history", "_depth", "_reliability", "_durability", "_lifespan", "_deadline",
                 "_liveliness", "_liveliness_lease_duration", "_avoid_ros_namespace_conventions"]

    def __init__(self, **kwargs):
        assert all("_" + key in self.__slots__ for key in kwargs), \
            f"Invalid arguments passed to constructor: {kwargs.keys()!r}"
        if "history" not in kwargs:
            if "depth" not in kwargs:
                raise InvalidQoSProfileException("History and/or depth settings are required.")
            kwargs["history"] = HistoryPolicy.KEEP_LAST
        self.history = kwargs["history"]
        if self.history == HistoryPolicy.KEEP_LAST and "depth" not in kwargs:
            raise InvalidQoSProfileException("History set to KEEP_LAST without a depth setting.")
        self.depth = kwargs.get("depth", _DEFAULT["depth"])
        self.reliability = kwargs.get("reliability", _DEFAULT["reliability"])
        self.durability = kwargs.get("durability", _DEFAULT["durability"])
        self.lifespan = kwargs.get("lifespan", _DEFAULT["lifespan"])
        self.deadline = kwargs.get("deadline", _DEFAULT["deadline"])
        self.liveliness = kwargs.get("liveliness", _DEFAULT["liveliness"])
        self.liveliness_lease_duration = kwargs.get("liveliness_lease_duration",
                                                    _DEFAULT["liveliness_lease_duration"])
        self.avoid_ros_namespace_conventions = kwargs.get(
            "avoid_ros_namespace_conventions", _DEFAULT["avoid_ros_namespace_conventions"])

    history = property(lambda self: self._history,
                       lambda self, v: setattr(self, "_history", HistoryPolicy(v)))
    reliability = property(lambda self: self._reliability,
                           lambda self, v: setattr(self, "_reliability", ReliabilityPolicy(v)))
    durability = property(lambda self: self._durability,
                          lambda self, v: setattr(self, "_durability", DurabilityPolicy(v)))
    liveliness = property(lambda self: self._liveliness,
                          lambda self, v: setattr(self, "_liveliness", LivelinessPolicy(v)))

    @property
    def depth(self):
        return self._depth

    @depth.setter
    def depth(self, value):
        assert isinstance(value, int)
        self._depth = value

    @property
    def lifespan(self):
        return self._lifespan

    @lifespan.setter
    def lifespan(self, value):
        assert isinstance(value, Duration)
        self._lifespan = value

    @property
    def deadline(self):
        return self._deadline

    @deadline.setter
    def deadline(self, value):
        assert isinstance(value, Duration)
        self._deadline = value

    @property
    def liveliness_lease_duration(self):
        return self._liveliness_lease_duration

    @liveliness_lease_duration.setter
    def liveliness_lease_duration(self, value):
        assert isinstance(value, Duration)
        self._liveliness_lease_duration = value

    @property
    def avoid_ros_namespace_conventions(self):
        return self._avoid_ros_namespace_conventions

    @avoid_ros_namespace_conventions.setter
    def avoid_ros_namespace_conventions(self, value):
        assert isinstance(value, bool)
        self._avoid_ros_namespace_conventions = value

    def __eq__(self, other):
        if not isinstance(other, QoSProfile):
            return False
        return all(getattr(self, slot) == getattr(other, slot) for slot in self.__slots__)

    def __str__(self):
        fields = ", ".join(f"{s[1:]}={getattr(self, s)}" for s in self.__slots__)
        return f"QoSProfile({fields})"

    __repr__ = __str__


qos_profile_system_default = QoSProfile(
    history=HistoryPolicy.SYSTEM_DEFAULT, depth=0, reliability=ReliabilityPolicy.SYSTEM_DEFAULT,
    durability=DurabilityPolicy.SYSTEM_DEFAULT)
qos_profile_sensor_data = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=5, reliability=ReliabilityPolicy.BEST_EFFORT,
    durability=DurabilityPolicy.VOLATILE)
qos_profile_services_default = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=10, reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE)
qos_profile_parameters = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=1000, reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE)
qos_profile_parameter_events = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=1000, reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE)


class QoSPresetProfiles(Enum):
    """The preset profiles by name."""

    SYSTEM_DEFAULT = qos_profile_system_default
    SENSOR_DATA = qos_profile_sensor_data
    SERVICES_DEFAULT = qos_profile_services_default
    PARAMETERS = qos_profile_parameters
    PARAMETER_EVENTS = qos_profile_parameter_events
