"""rclpy.exceptions: the exceptions the stand-in raises, with rclpy's messages."""

from __future__ import annotations


class NotInitializedException(Exception):  # noqa: N818 (rclpy\'s name)
    """Raised when the rclpy implementation is accessed before rclpy.init()."""

    def __init__(self, message=None):
        Exception.__init__(self, f"rclpy.init() has not been called. msg:{message}" if message
                           else "rclpy.init() has not been called.")


class InvalidHandle(RuntimeError):  # noqa: N818 (rclpy\'s name)
    """Using an entity after its destruction (the pybind11 InvalidHandle in rclpy)."""


class NameValidationException(Exception):  # noqa: N818 (rclpy\'s name)
    """Raised when a topic name, node name, or namespace are invalid."""

    def __init__(self, name_type, name, error_msg, invalid_index):
        Exception.__init__(self, f"Invalid {name_type}: {error_msg}:\n  '{name}'\n   "
                                 f"{' ' * invalid_index}^")


class InvalidNodeNameException(NameValidationException):
    """Raised when a node name is invalid."""

    def __init__(self, name, error_msg, invalid_index):
        NameValidationException.__init__(self, "node name", name, error_msg, invalid_index)


class InvalidTopicNameException(NameValidationException):
    """Raised when a topic name is invalid."""

    def __init__(self, name, error_msg, invalid_index):
        NameValidationException.__init__(self, "topic name", name, error_msg, invalid_index)


class ParameterException(Exception):  # noqa: N818 (rclpy\'s name)
    """Base exception for parameter-related errors."""

    def __init__(self, error_msg, parameters):
        Exception.__init__(self, f"{error_msg}: {parameters}")


class ParameterNotDeclaredException(ParameterException):
    """Raised when handling an undeclared parameter when it is not allowed."""

    def __init__(self, parameters):
        ParameterException.__init__(self, "Invalid access to undeclared parameter(s)", parameters)


class ParameterAlreadyDeclaredException(ParameterException):
    """Raised when declaring a parameter that had been declared before."""

    def __init__(self, parameters):
        ParameterException.__init__(self, "Parameter(s) already declared", parameters)


class InvalidParameterException(ParameterException):
    """Raised when a parameter to be declared has an invalid name."""

    def __init__(self, parameter_name):
        ParameterException.__init__(self, "Invalid parameter name", parameter_name)


class InvalidParameterTypeException(ParameterException):
    """Raised when a parameter is rejected for having an invalid type."""

    def __init__(self, desired_parameter, expected_type):
        from rclpy.parameter import Parameter

        ParameterException.__init__(
            self,
            f"Trying to set parameter '{desired_parameter.name}' to '{desired_parameter.value}'"
            f" of type '{Parameter.Type.from_parameter_value(desired_parameter.value).name}'"
            f", expecting type '{expected_type}'",
            desired_parameter.name)


class InvalidParameterValueException(ParameterException):
    """Raised when a parameter is rejected by a user callback or when applying a descriptor."""

    def __init__(self, parameter, value, reason):
        ParameterException.__init__(
            self, f"Invalid parameter value ({value}) for parameter. Reason: {reason}",
            parameter)


class ParameterImmutableException(ParameterException):
    """Raised when a read-only parameter is modified."""

    def __init__(self, parameter_name):
        ParameterException.__init__(self, "Attempted to modify read-only parameter",
                                    parameter_name)


class ParameterUninitializedException(ParameterException):
    """Raised when an uninitialized parameter is accessed."""

    def __init__(self, parameter_name):
        ParameterException.__init__(self, f"The parameter '{parameter_name}' is not initialized",
                                    parameter_name)
