"""Training targets from (v, w) labels: normalised regression targets and the seed's classes."""

from __future__ import annotations

import numpy as np

from follow_line.driving.card import (
    V_CLASS_THRESHOLDS,
    W_CLASS_THRESHOLDS,
    W_CLASS_VALUES,
    ModelCard,
)


def w_class(w: np.ndarray) -> np.ndarray:
    """Seed w classes: |w| >= 1.0 / 0.5 / 0.1 -> +-1.9 / +-0.75 / +-0.25, else 0 (indices 0-6)."""
    w = np.asarray(w, dtype=np.float64)
    magnitude = np.zeros(w.shape, dtype=np.int64)  # 0: straight, 1-3: growing turn
    for k, threshold in enumerate(sorted(W_CLASS_THRESHOLDS), start=1):
        magnitude[np.abs(w) >= threshold] = k
    centre = len(W_CLASS_VALUES) // 2
    return np.where(w < 0, centre - magnitude, centre + magnitude)


def v_class(v: np.ndarray) -> np.ndarray:
    """Seed v classes: v > 11 / > 9 / > 7 -> 13 / 10 / 8, else 5 (indices 0-3)."""
    v = np.asarray(v, dtype=np.float64)
    return np.searchsorted(np.asarray(V_CLASS_THRESHOLDS), v, side="left").astype(np.int64)


def mirror_w_class(index: np.ndarray) -> np.ndarray:
    """The w class of the horizontally flipped image."""
    return len(W_CLASS_VALUES) - 1 - np.asarray(index)


def targets(card: ModelCard, v: np.ndarray, w: np.ndarray) -> dict[str, np.ndarray]:
    """Network targets for labels (v, w), keyed by the card's output names."""
    out = {}
    for name, spec in card.outputs.items():
        if name == "v":
            out[name] = ((np.asarray(v) - spec.get("offset", 0.0)) / spec["scale"])
        elif name == "w":
            out[name] = ((np.asarray(w) - spec.get("offset", 0.0)) / spec["scale"])
        elif name == "w_class":
            out[name] = w_class(w)
        elif name == "v_class":
            out[name] = v_class(v)
    return {k: (a.astype(np.float32)[:, None] if a.dtype.kind == "f" else a)
            for k, a in out.items()}
