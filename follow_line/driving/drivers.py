"""Drivers by name: the explicit driver, shipped networks, or (untrained) registry networks."""

from __future__ import annotations

from collections.abc import Callable

from follow_line.driving.expert import ExpertDriver
from follow_line.driving.run import Driver
from follow_line.errors import FollowLineError

# Drivers that are no network, by name: each makes the driver for a world (None: the default).
DRIVERS: dict[str, Callable[[str | None], Driver]] = {"expert": ExpertDriver.for_world}


def known_drivers(world: str | None = None) -> list[str]:
    """Every name `make_driver` accepts in `world` (a model file path is accepted too)."""
    from follow_line.driving.nets import known_networks
    from follow_line.driving.zoo import models_dir, shipped_models

    shipped = shipped_models(models_dir(world))
    return sorted(DRIVERS) + shipped + [n for n in known_networks() if n not in shipped]


def check_driver_name(name: str, world: str | None = None) -> None:
    """Refuse an unknown driver before any work starts, listing the known ones.

    A trained network must have been trained for `world` (its card's world).
    """
    from follow_line.driving.zoo import has_weights, load_card, models_dir

    if name in DRIVERS:
        return
    if has_weights(name, models_dir(world)):  # known without the registry (and TensorFlow)
        load_card(name, models_dir(world)).check_world(world)
        return
    if name not in known_drivers(world):
        raise FollowLineError(f"unknown driver {name!r}; known: "
                              f"{', '.join(known_drivers(world))}")


def driver_weights(name: str, world: str | None = None) -> str | None:
    """The digest of a network driver's weights file (`weights_digest`).

    None for the explicit driver and for untrained registry networks (no weights file).
    """
    from follow_line.driving.zoo import has_weights, models_dir, weights_digest

    folder = models_dir(world)
    return None if name in DRIVERS or not has_weights(name, folder) \
        else weights_digest(name, folder)


def driver_task(name: str, world: str | None = None) -> str:
    """'explicit' for the explicit driver, else the network card's task.

    'regression' or 'classification'; read from the card file beside a network's weights,
    or from the registry's default card for an untrained network.
    """
    if name in DRIVERS:
        return "explicit"
    from follow_line.driving.zoo import default_card, has_weights, load_card, models_dir

    folder = models_dir(world)
    return (load_card(name, folder) if has_weights(name, folder) else default_card(name)).task


def make_driver(name: str, backend: str = "auto", device: str = "auto",
                threads: int | None = None, world: str | None = None) -> Driver:
    """A fresh driver for `world`: 'expert', a shipped network, a model file, or a registry one.

    A trained network drives only the world its card names.
    """
    if name in DRIVERS:
        return DRIVERS[name](world)
    check_driver_name(name, world)
    from follow_line.driving.zoo import load_pilot

    return load_pilot(name, backend=backend, device=device, threads=threads, world=world)
