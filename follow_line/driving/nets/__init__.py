"""Keras 3 network builders (backend-agnostic), one module per family, and their registry.

Use :func:`build_network` with a registry name, or :func:`network_info` for what a
network expects (input name and shape, frame offsets, output names).
"""

from follow_line.driving.nets.registry import (
    FRAME_MODES,
    NETWORKS,
    TASKS,
    NetworkInfo,
    build_network,
    known_networks,
    network_info,
)

__all__ = [
    "FRAME_MODES",
    "NETWORKS",
    "TASKS",
    "NetworkInfo",
    "build_network",
    "known_networks",
    "network_info",
]
