"""Image preprocessing for the networks: whole or cropped image, resize, colour, normalisation.

Every setting comes from a model card; nothing here is specific to one network.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from follow_line.errors import FollowLineError

IMAGE_MODES = ("whole", "cropped")
COLOURS = ("rgb", "bgr", "hsv", "gray")
NORMALISATIONS = ("unit", "centred", "none")  # x/255, x/127.5 - 1, raw 0-255 floats


@dataclass(frozen=True)
class Preprocessing:
    """Camera frame (H, W, 3) uint8 RGB -> network frame (h, w, c) float32."""

    image_mode: str = "cropped"
    crop_rows: tuple[int, int] = (240, 480)  # [first, last) rows kept in "cropped" mode
    input_size: tuple[int, int] = (66, 200)  # (height, width) after resizing
    colour: str = "rgb"
    normalisation: str = "unit"
    camera_size: tuple[int, int] = (480, 640)  # (height, width) of the frames it accepts

    def __post_init__(self) -> None:
        for field, value, allowed in (("image_mode", self.image_mode, IMAGE_MODES),
                                      ("colour", self.colour, COLOURS),
                                      ("normalisation", self.normalisation, NORMALISATIONS)):
            if value not in allowed:
                raise FollowLineError(f"preprocessing {field} {value!r} is not one of "
                                      f"{', '.join(allowed)}")
        top, bottom = self.crop_rows
        if not 0 <= top < bottom <= self.camera_size[0]:
            raise FollowLineError(f"crop_rows {self.crop_rows} must lie within the "
                                  f"{self.camera_size[0]} camera rows")
        if min(self.input_size) < 1:
            raise FollowLineError(f"input_size {self.input_size} must be positive")

    @property
    def channels(self) -> int:
        """Channels of one preprocessed frame."""
        return 1 if self.colour == "gray" else 3

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """(height, width, channels) of one preprocessed frame."""
        return (*self.input_size, self.channels)

    def to_dict(self) -> dict:
        """JSON-ready settings (for the model card)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> Preprocessing:
        """Settings read back from a model card."""
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise FollowLineError(f"unknown preprocessing field(s) {sorted(unknown)}; "
                                  f"known: {', '.join(sorted(known))}")
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                                  for k, v in data.items()}
        return cls(**values)

    def check(self, image: np.ndarray) -> None:
        """Refuse an image that is not the camera's RGB uint8 frame, saying what is expected."""
        h, w = self.camera_size
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 \
                or image.shape != (h, w, 3):
            got = (f"{image.dtype} array of shape {image.shape}"
                   if isinstance(image, np.ndarray) else type(image).__name__)
            raise FollowLineError(f"expected a {w}x{h} rgb8 camera image (uint8 array of shape "
                                  f"({h}, {w}, 3)), got a {got}")

    def apply(self, image: np.ndarray) -> np.ndarray:
        """The network frame for one camera image."""
        self.check(image)
        if self.image_mode == "cropped":
            image = image[self.crop_rows[0]:self.crop_rows[1]]
        small = _shrink(image, self.input_size)
        if self.colour == "bgr":
            small = small[..., ::-1]
        elif self.colour == "hsv":
            small = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
        elif self.colour == "gray":
            small = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)[..., None]
        out = small.astype(np.float32)
        if self.normalisation == "unit":
            out *= 1.0 / 255.0
        elif self.normalisation == "centred":
            out *= 1.0 / 127.5
            out -= 1.0
        return out


def _shrink(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize to (height, width) without aliasing.

    Exact 2x2 averaging while the image is at least twice the target, then bilinear: several
    times faster than INTER_AREA at odd ratios.
    """
    h, w = size
    while image.shape[0] >= 2 * h and image.shape[1] >= 2 * w:
        image = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2),
                           interpolation=cv2.INTER_AREA)
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
