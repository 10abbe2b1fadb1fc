"""Class balance of a training: raw, class-weighted, resampled or tempered (the seed's study).

Sharp turns are rare frames; "biased" weighs each frame by the inverse frequency of its w
class, "tempered" by the square root of that, and "balanced" resamples the training items
so every present w class is equally frequent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from follow_line.driving.card import W_CLASS_VALUES, ModelCard
from follow_line.learning.data import Episode
from follow_line.learning.labels import w_class

# The seed's raw, class-weighted and resampled training, and weights between raw and biased.
BALANCES = ("imbalanced", "biased", "balanced", "tempered")
# Power of the class weights of each weighted balance (tempered: their square root).
CLASS_WEIGHT_POWERS = {"biased": 1.0, "tempered": 0.5}

#: Targets of a batch by output name -> sample weights by output name.
Weigh = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]


def class_weights(labels: np.ndarray, classes: int) -> np.ndarray:
    """Weights total / (classes present * count), the seed's "biased" training; absent: 0."""
    counts = np.bincount(labels, minlength=classes).astype(np.float64)
    present = counts > 0
    weights = np.zeros(classes)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return weights


def class_weighting(card: ModelCard, items: np.ndarray, episodes: Sequence[Episode],
                    power: float = 1.0) -> Weigh:
    """Sample weights of the seed's "biased" training: frames of rare w classes weigh more.

    Every output of a frame (w, v, w_class, v_class) is weighed by the frame's w class, so
    rare sharp turns count as much as the straights. Weighing a v classifier by its own
    class made it favour the rare slow classes (laps 56 % slower than the explicit driver's).
    `power` < 1 tempers the weights (``tempered``: their square root, rescaled so the
    training frames' mean weight stays 1). Returns a function of a batch's targets ->
    weights per output.
    """
    labels = w_class(item_labels(items, episodes, "w"))
    table = class_weights(labels, len(W_CLASS_VALUES)) ** power
    table /= table[labels].mean()

    def frame_classes(y: dict[str, np.ndarray]) -> np.ndarray:
        if "w_class" in y:
            return np.asarray(y["w_class"]).reshape(-1)
        return w_class(card.unscale("w", y["w"][:, 0]))

    def weigh(y: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        weights = table[frame_classes(y)].astype(np.float32)
        return {name: weights for name in y}

    return weigh


def item_labels(items: np.ndarray, episodes: Sequence[Episode], field: str) -> np.ndarray:
    """The `field` ("v" or "w") label of each (episode, frame) item."""
    return np.array([getattr(episodes[e], field)[k] for e, k in items])


def balanced_items(items: np.ndarray, episodes: Sequence[Episode], seed: int) -> np.ndarray:
    """Resample (with replacement) so every present w class is equally frequent."""
    labels = w_class(item_labels(items, episodes, "w"))
    rng = np.random.default_rng(seed)
    present = np.unique(labels)
    per_class = int(np.bincount(labels).max())
    picks = [rng.choice(np.flatnonzero(labels == c), per_class, replace=True) for c in present]
    return items[np.concatenate(picks)]
