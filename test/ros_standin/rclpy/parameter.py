"""rclpy.parameter: Parameter and Parameter.Type."""

from __future__ import annotations

import array
from enum import Enum

from rcl_interfaces.msg import ParameterType

PARAMETER_SEPARATOR_STRING = "."


class Parameter:
    """A named, typed parameter value."""

    class Type(Enum):
        """Parameter types (rcl_interfaces/ParameterType values)."""

        NOT_SET = ParameterType.PARAMETER_NOT_SET
        BOOL = ParameterType.PARAMETER_BOOL
        INTEGER = ParameterType.PARAMETER_INTEGER
        DOUBLE = ParameterType.PARAMETER_DOUBLE
        STRING = ParameterType.PARAMETER_STRING
        BYTE_ARRAY = ParameterType.PARAMETER_BYTE_ARRAY
        BOOL_ARRAY = ParameterType.PARAMETER_BOOL_ARRAY
        INTEGER_ARRAY = ParameterType.PARAMETER_INTEGER_ARRAY
        DOUBLE_ARRAY = ParameterType.PARAMETER_DOUBLE_ARRAY
        STRING_ARRAY = ParameterType.PARAMETER_STRING_ARRAY

        @classmethod
        def from_parameter_value(cls, parameter_value):
            """The type of a Python value; TypeError for values no parameter can hold."""
            if parameter_value is None:
                return cls.NOT_SET
            if isinstance(parameter_value, bool):
                return cls.BOOL
            if isinstance(parameter_value, int):
                return cls.INTEGER
            if isinstance(parameter_value, float):
                return cls.DOUBLE
            if isinstance(parameter_value, str):
                return cls.STRING
            if isinstance(parameter_value, (list, tuple, array.array)):
                for kind, element in ((cls.BYTE_ARRAY, bytes), (cls.BOOL_ARRAY, bool),
                                      (cls.INTEGER_ARRAY, int), (cls.DOUBLE_ARRAY, float),
                                      (cls.STRING_ARRAY, str)):
                    if all(isinstance(v, element) for v in parameter_value):
                        return kind
                raise TypeError("The given value is not a list of one of the allowed types"
                                f" '{parameter_value}'.")
            raise TypeError("The given value is not one of the allowed types "
                            f"'{parameter_value}'.")

        def check(self, parameter_value):
            """Whether `parameter_value` is a value of this type."""
            T = Parameter.Type  # noqa: N806
            simple = {T.BOOL: bool, T.INTEGER: int, T.DOUBLE: float, T.STRING: str}
            if self == T.NOT_SET:
                return parameter_value is None
            if self in simple:
                return isinstance(parameter_value, simple[self])
            elements = {T.BYTE_ARRAY: bytes, T.BOOL_ARRAY: bool, T.INTEGER_ARRAY: int,
                        T.DOUBLE_ARRAY: float, T.STRING_ARRAY: str}
            return isinstance(parameter_value, (list, tuple, array.array)) and \
                all(isinstance(v, elements[self]) for v in parameter_value)

    def __init__(self, name, type_=None, value=None):
        if type_ is None:
            type_ = Parameter.Type.from_parameter_value(value)
        if not isinstance(type_, Parameter.Type):
            raise TypeError(f"type must be an instance of '{Parameter.Type!r}'")
        if not type_.check(value):
            raise ValueError(f"Type '{type_}' and value '{value}' do not agree")
        self._type_ = type_
        self._name = name
        self._value = value

    @property
    def name(self):
        return self._name

    @property
    def type_(self):
        return self._type_

    @property
    def value(self):
        return self._value

    def __repr__(self):
        return f"Parameter(name={self.name!r}, type_={self.type_}, value={self.value!r})"
