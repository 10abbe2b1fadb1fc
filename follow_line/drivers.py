"""Drivers by name: the explicit driver now; trained networks join through the model zoo."""

from __future__ import annotations

from follow_line.drive import Driver
from follow_line.errors import unknown_name
from follow_line.expert import ExpertDriver

DRIVERS = {"expert": ExpertDriver}


def known_drivers() -> list[str]:
    """Every name `make_driver` accepts."""
    return sorted(DRIVERS)


def make_driver(name: str) -> Driver:
    """A fresh driver by name."""
    if name not in DRIVERS:
        raise unknown_name("driver", name, known_drivers())
    return DRIVERS[name]()
