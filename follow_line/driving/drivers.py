"""Drivers by name: the explicit driver, shipped networks, or (untrained) registry networks."""

from __future__ import annotations

from follow_line.driving.expert import ExpertDriver
from follow_line.driving.run import Driver
from follow_line.errors import FollowLineError

DRIVERS = {"expert": ExpertDriver}


def known_drivers() -> list[str]:
    """Every name `make_driver` accepts (a model file path is accepted too)."""
    from follow_line.driving.nets import known_networks
    from follow_line.driving.zoo import shipped_models

    shipped = shipped_models()
    return sorted(DRIVERS) + shipped + [n for n in known_networks() if n not in shipped]


def check_driver_name(name: str) -> None:
    """Refuse an unknown driver before any work starts, listing the known ones."""
    from follow_line.driving.zoo import has_weights

    if name in DRIVERS or has_weights(name):
        return  # known without importing the network registry (and TensorFlow)
    if name not in known_drivers():
        raise FollowLineError(f"unknown driver {name!r}; known: {', '.join(known_drivers())}")


def driver_weights(name: str) -> str | None:
    """The digest of a network driver's weights file (`weights_digest`).

    None for the explicit driver and for untrained registry networks (no weights file).
    """
    from follow_line.driving.zoo import has_weights, weights_digest

    return None if name in DRIVERS or not has_weights(name) else weights_digest(name)


def driver_task(name: str) -> str:
    """'explicit' for the explicit driver, else the network card's task.

    'regression' or 'classification'; read from the card file beside a network's weights,
    or from the registry's default card for an untrained network.
    """
    if name in DRIVERS:
        return "explicit"
    from follow_line.driving.zoo import default_card, has_weights, load_card

    return (load_card(name) if has_weights(name) else default_card(name)).task


def make_driver(name: str, backend: str = "auto", device: str = "auto",
                threads: int | None = None) -> Driver:
    """A fresh driver: 'expert', a shipped network, a model file, or a registry network."""
    if name in DRIVERS:
        return DRIVERS[name]()
    check_driver_name(name)
    from follow_line.driving.zoo import load_pilot

    return load_pilot(name, backend=backend, device=device, threads=threads)
