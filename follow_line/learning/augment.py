"""Train-time appearance augmentation: random light, tone, colour, blur and noise per sample.

Networks trained on one renderer's clean frames fail under another camera's light and tone
(the robustness table). With augmentation every training sample gets its own random
brightness, gamma, colour cast, blur and noise, the same for every frame of a stacked or
sequence sample, applied to the preprocessed frames (in 0-255 units, whatever their
normalisation). The card's `training.augmentation` records the ranges used.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from follow_line.driving.vision import Preprocessing
from follow_line.errors import FollowLineError
from follow_line.world.appearance import plain_fields

SUPPORTED_COLOURS = ("rgb", "bgr", "gray")


@dataclass(frozen=True)
class Photometric:
    """Ranges of the random changes (uniform; gamma log-uniform)."""

    brightness: tuple[float, float] = (0.5, 1.4)
    gamma: tuple[float, float] = (0.6, 2.0)
    cast: float = 0.2  # each colour channel's gain within 1 +- cast
    blur_sigma: float = 1.0  # at most, pixels of the network-size frame
    noise_std: float = 8.0  # at most, 0-255 units

    def to_dict(self) -> dict:
        """JSON-ready ranges, for the card."""
        return plain_fields(self)

    def sample(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        """Parameters of `n` samples."""
        low, high = np.log(self.gamma)
        return {"brightness": rng.uniform(*self.brightness, n),
                "gamma": np.exp(rng.uniform(low, high, n)),
                "cast": rng.uniform(1 - self.cast, 1 + self.cast, (n, 3)),
                "blur": rng.uniform(0.0, self.blur_sigma, n),
                "noise": rng.uniform(0.0, self.noise_std, n),
                "seed": rng.integers(0, 2**31, n)}


def check_preprocessing(preprocessing: Preprocessing) -> None:
    """Refuse a colour space the changes do not mean anything in (HSV)."""
    if preprocessing.colour not in SUPPORTED_COLOURS:
        raise FollowLineError(f"appearance augmentation needs preprocessing colour in "
                              f"{', '.join(SUPPORTED_COLOURS)}, got {preprocessing.colour!r}")


def augment_frames(frames: np.ndarray, params: dict[str, np.ndarray],
                   preprocessing: Preprocessing, frame_number: int = 0) -> np.ndarray:
    """Frames (n, h, w, c) of n samples, changed by each sample's parameters.

    `frame_number` (the frame's place in a stacked or sequence sample) draws fresh sensor
    noise for each frame; the other changes are the sample's own.
    """
    scale, shift = {"unit": (255.0, 0.0), "centred": (127.5, 1.0),
                    "none": (1.0, 0.0)}[preprocessing.normalisation]
    x = (frames.astype(np.float32) + shift) * scale  # 0-255
    out = np.empty_like(x)
    for k in range(len(x)):
        image = x[k] * params["brightness"][k]
        image = 255.0 * (np.clip(image, 0.0, 255.0) / 255.0) ** params["gamma"][k]
        gains = params["cast"][k]
        if preprocessing.colour == "bgr":
            gains = gains[::-1]
        image = image * (gains if image.shape[-1] == 3 else gains.mean())
        if params["blur"][k] > 0.05:
            image = cv2.GaussianBlur(image, (0, 0), float(params["blur"][k])).reshape(
                image.shape)
        noise_rng = np.random.default_rng((int(params["seed"][k]), frame_number))
        image = image + noise_rng.normal(0.0, params["noise"][k], image.shape)
        out[k] = np.clip(image, 0.0, 255.0)
    return out / scale - shift
