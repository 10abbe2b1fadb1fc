"""Stand-in message classes built like rosidl_generator_py's (ROS 2 Humble).

`define(...)` makes a class with `__slots__`, a keyword constructor that refuses unknown
fields, class constants, `get_fields_and_field_types()`, `__eq__`, `__repr__`, and a property
per field whose setter makes the checks of the generated code (the `if __debug__` asserts of
rosidl_generator_py/resource/_msg.py.em): exact Python types (a numpy float is refused where a
`float` is expected, a numpy int where an `int` is), integer ranges, float ranges, nested
message types; `uint8[]`-like sequences are stored as `array.array`, fixed-size numeric arrays
(`double[36]`) as numpy arrays.
"""

from __future__ import annotations

import array
import importlib
import math
from collections import UserList, UserString
from collections.abc import Sequence, Set

import numpy as np

INT_BITS = {"int8": 8, "int16": 16, "int32": 32, "int64": 64,
            "uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64, "octet": 8}
FLOAT_MAX = {"float": 3.402823466e+38, "double": 1.7976931348623157e+308}
TYPE_CODES = {"float": "f", "double": "d", "int8": "b", "uint8": "B", "int16": "h",
              "uint16": "H", "int32": "i", "uint32": "I", "int64": "q", "uint64": "Q"}
NUMPY_DTYPES = {"float": np.float32, "double": np.float64, "int8": np.int8, "uint8": np.uint8,
                "int16": np.int16, "uint16": np.uint16, "int32": np.int32, "uint32": np.uint32,
                "int64": np.int64, "uint64": np.uint64}


class Message:
    """Base of the stand-in messages."""

    __slots__ = ()
    _fields_and_field_types: dict[str, str] = {}
    _defaults: dict = {}

    def __init__(self, **kwargs):
        unknown = sorted(k for k in kwargs if k not in self._fields_and_field_types)
        assert not unknown, f"Invalid arguments passed to constructor: {', '.join(unknown)}"
        for name in self._fields_and_field_types:
            setattr(self, name, kwargs[name] if name in kwargs else self._defaults[name]())

    @classmethod
    def get_fields_and_field_types(cls) -> dict[str, str]:
        """Field names and their IDL types, as the generated classes return them."""
        return dict(cls._fields_and_field_types)

    def __eq__(self, other):
        if not isinstance(other, self.__class__):
            return False
        for name in self._fields_and_field_types:
            a, b = getattr(self, name), getattr(other, name)
            if isinstance(a, np.ndarray):
                if not np.array_equal(a, b):
                    return False
            elif a != b:
                return False
        return True

    def __repr__(self):
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._fields_and_field_types)
        return f"{self.__class__.__module__}.{self.__class__.__name__}({args})"


def define(module: str, name: str, fields: list[tuple[str, str, object]],
           constants: dict | None = None) -> type:
    """A message class: `fields` are (name, IDL type, default); a default may be a callable."""
    namespace = {
        "__slots__": tuple(f"_{f}" for f, _, _ in fields),
        "__module__": module,
        "__qualname__": name,
        "_fields_and_field_types": {f: t for f, t, _ in fields},
        "_defaults": {f: _default_factory(t, d) for f, t, d in fields},
        **(constants or {}),
    }
    for field, idl_type, _ in fields:
        namespace[field] = _field_property(field, idl_type)
    return type(name, (Message,), namespace)


def _message_class(idl_type: str) -> type:
    package, name = idl_type.split("/")
    return getattr(importlib.import_module(f"{package}.msg"), name)


def _parse(idl_type: str) -> tuple[str, str, int | None]:
    """(kind, element type, size): kind is 'scalar', 'sequence', 'bounded' or 'array'."""
    if idl_type.startswith("sequence<"):
        inner = idl_type[len("sequence<"):-1]
        if "," in inner:
            element, bound = (part.strip() for part in inner.split(","))
            return "bounded", element, int(bound)
        return "sequence", inner, None
    if idl_type.endswith("]"):
        element, size = idl_type[:-1].split("[")
        return "array", element, int(size)
    return "scalar", idl_type, None


def _default_factory(idl_type: str, default):
    if callable(default):
        return default
    kind, element, size = _parse(idl_type)
    if kind == "array" and element in NUMPY_DTYPES:
        return lambda: np.zeros(size, dtype=NUMPY_DTYPES[element])
    if kind in ("sequence", "bounded") and element in TYPE_CODES:
        return lambda: array.array(TYPE_CODES[element])
    if kind != "scalar":
        return list
    if "/" in idl_type:
        return lambda: _message_class(idl_type)()
    return lambda: default


def _check_scalar(field: str, element: str, value) -> None:
    if "/" in element:
        cls = _message_class(element)
        assert isinstance(value, cls), \
            f"The '{field}' field must be a sub message of type '{cls.__name__}'"
    elif element == "boolean":
        assert isinstance(value, bool), f"The '{field}' field must be of type 'bool'"
    elif element == "string":
        assert isinstance(value, str), f"The '{field}' field must be of type 'str'"
    elif element in FLOAT_MAX:
        bound = FLOAT_MAX[element]
        assert isinstance(value, float), f"The '{field}' field must be of type 'float'"
        assert not (value < -bound or value > bound) or math.isinf(value), \
            f"The '{field}' field must be a {element} in [{-bound}, {bound}]"
    elif element in INT_BITS:
        bits = INT_BITS[element]
        low, high = (0, 2 ** bits) if element.startswith("u") or element == "octet" \
            else (-2 ** (bits - 1), 2 ** (bits - 1))
        assert isinstance(value, int), f"The '{field}' field must be of type 'int'"
        assert low <= value < high, \
            f"The '{field}' field must be an integer in [{low}, {high - 1}]"
    else:
        raise TypeError(f"stand-in: unsupported IDL type {element!r}")


def _field_property(field: str, idl_type: str) -> property:
    kind, element, size = _parse(idl_type)
    slot = f"_{field}"

    def getter(self):
        return getattr(self, slot)

    def setter(self, value):
        if kind == "array" and element in NUMPY_DTYPES and isinstance(value, np.ndarray):
            assert value.dtype == NUMPY_DTYPES[element], \
                f"The '{field}' numpy.ndarray() must have the dtype of '{element}'"
            assert value.size == size, f"The '{field}' numpy.ndarray() must have a size of {size}"
            object.__setattr__(self, slot, value)
            return
        if kind in ("sequence", "bounded") and element in TYPE_CODES \
                and isinstance(value, array.array):
            assert value.typecode == TYPE_CODES[element], \
                f"The '{field}' array.array() must have the type code of '{TYPE_CODES[element]}'"
            assert kind != "bounded" or len(value) <= size
            object.__setattr__(self, slot, value)
            return
        if kind == "scalar":
            _check_scalar(field, element, value)
            object.__setattr__(self, slot, value)
            return
        assert (isinstance(value, (Sequence, Set, UserList))
                and not isinstance(value, (str, UserString))), \
            f"The '{field}' field must be a set or sequence"
        assert kind != "array" or len(value) == size, \
            f"The '{field}' field must have length {size}"
        assert kind != "bounded" or len(value) <= size, \
            f"The '{field}' field must have length <= {size}"
        for item in value:
            _check_scalar(field, element, item)
        if kind == "array" and element in NUMPY_DTYPES:
            value = np.array(value, dtype=NUMPY_DTYPES[element])
        elif element in TYPE_CODES:
            value = array.array(TYPE_CODES[element], value)
        object.__setattr__(self, slot, value)

    return property(getter, setter, doc=f"Message field '{field}'.")
