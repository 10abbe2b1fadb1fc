"""The nodes' parameters: declared read-only with a description, checked at start-up.

A bad value is a FollowLineError naming the parameter and what is allowed, which the node
runner turns into one FATAL line and exit code 1. rclpy is imported only by `declare`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from follow_line.errors import FollowLineError

if TYPE_CHECKING:
    from rclpy.node import Node

    from follow_line.world.circuits import Circuit
    from follow_line.world.worlds import World


def declare(node: Node, name: str, default: Any, description: str,
            constraints: str = "") -> Any:
    """Declare a read-only parameter with its description; returns its start-up value.

    Read-only because the nodes read their parameters once, at start-up: ROS refuses a later
    `ros2 param set` instead of silently ignoring it. A float parameter also takes an integer
    (`max_v:=20`), returned as a float.
    """
    from rcl_interfaces.msg import ParameterDescriptor

    is_float = isinstance(default, float)
    descriptor = ParameterDescriptor(description=description,
                                     additional_constraints=constraints, read_only=True,
                                     dynamic_typing=is_float)
    value = node.declare_parameter(name, default, descriptor).value
    if not is_float:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise parameter_error(name, value, f"a number ({constraints or 'float'})")
    return float(value)


def parameter_error(name: str, value: object, allowed: str) -> FollowLineError:
    """The start-up error for a parameter value, naming the parameter and what is allowed."""
    return FollowLineError(f"parameter '{name}' is {value!r}; allowed: {allowed}")


def check_choice(name: str, value: str, choices: Iterable[str]) -> str:
    """`value` if it is one of `choices`, else a parameter_error listing them."""
    choices = list(choices)
    if value not in choices:
        raise parameter_error(name, value, ", ".join(choices))
    return value


def check_range(name: str, value: float, low: float | None = None, high: float | None = None,
                low_open: bool = False) -> float:
    """`value` if finite and within [low, high] (or (low, high] with `low_open`)."""
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and value > high
    if not math.isfinite(value) or too_low or too_high:
        left = "(" if low_open else "["
        low_text = "-inf" if low is None else f"{low:g}"
        right = "inf)" if high is None else f"{high:g}]"
        raise parameter_error(name, value, f"a number in {left}{low_text}, {right}")
    return value


def declare_world(node: Node) -> World:
    """Declare and check the `world` parameter (world/worlds.py); the World."""
    from follow_line.world.worlds import DEFAULT_WORLD, WORLDS, world_names

    name = declare(node, "world", DEFAULT_WORLD,
                   "World: its circuits (names resolve in it), its car's camera, its networks",
                   f"one of {', '.join(world_names())}")
    return WORLDS[check_choice("world", name, world_names())]


def declare_circuit(node: Node, world: World | None = None) -> tuple[Circuit, str]:
    """Declare and check the `circuit` and `direction` parameters; (Circuit, direction).

    A circuit name resolves in `world` (a World; None: the default world).
    """
    from follow_line.world.circuits import DIRECTIONS
    from follow_line.world.worlds import get_world

    world = get_world(world)
    name = declare(node, "circuit", "simple",
                   "Circuit: a built-in name or the path of a circuit .yaml file",
                   f"built-in: {', '.join(world.circuits())}")
    direction = declare(node, "direction", "clockwise", "Driving direction",
                        f"one of {', '.join(DIRECTIONS)}")
    try:
        circuit = world.load(name)
    except FollowLineError as exc:
        raise FollowLineError(f"parameter 'circuit' is {name!r}: {exc}") from None
    return circuit, check_choice("direction", direction, DIRECTIONS)
