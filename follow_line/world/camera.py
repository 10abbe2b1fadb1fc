"""The car's camera: a level pinhole camera like the reference F1 model's (640x480, hfov 1.57)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CameraModel:
    """Intrinsics and mounting. Pixel (col, row) centres are at (col + 0.5, row + 0.5)."""

    width: int = 640
    height: int = 480
    hfov: float = 1.57  # rad
    rate_hz: float = 20.0
    mount_height: float = 0.6  # m above the ground
    mount_forward: float = 1.0  # m ahead of the car's origin

    @property
    def focal(self) -> float:
        """Focal length in pixels."""
        return (self.width / 2) / math.tan(self.hfov / 2)

    @property
    def horizon_row(self) -> int:
        """First image row below the horizon: the camera is level, so it is the middle row."""
        return self.height // 2

    @property
    def period(self) -> float:
        """Seconds between frames."""
        return 1.0 / self.rate_hz

    def ground_points(self) -> np.ndarray:
        """(forward, left) metres from the camera of each pixel below the horizon.

        Shape (height - horizon_row, width, 2), float32, for the ground-plane projection.
        """
        f = self.focal
        rows = np.arange(self.horizon_row, self.height) + 0.5 - self.height / 2
        cols = np.arange(self.width) + 0.5 - self.width / 2
        forward = (self.mount_height * f / rows)[:, None] * np.ones((1, self.width))
        left = -cols[None, :] * forward / f
        return np.dstack([forward, left]).astype(np.float32)

    def ground_homography(self) -> np.ndarray:
        """3x3 map from (col, row below the horizon, 1) to homogeneous (forward, left, 1).

        The same points as `ground_points`: a level pinhole camera over flat ground sees it
        through a homography, so a frame can be warped in one `cv2.warpPerspective`.
        """
        h, half_width = self.mount_height, self.width / 2
        return np.array([[0.0, 0.0, h * self.focal],
                         [-h, 0.0, -h * (0.5 - half_width)],
                         [0.0, 1.0, self.horizon_row + 0.5 - self.height / 2]])

    def project(self, forward: np.ndarray, left: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Continuous (col, row) pixel coordinates of ground points ahead of the camera."""
        f = self.focal
        forward = np.asarray(forward, dtype=np.float64)
        col = self.width / 2 - 0.5 - f * np.asarray(left) / forward
        row = self.height / 2 - 0.5 + f * self.mount_height / forward
        return col, row


# The reference F1 car of the seed study's Gazebo worlds, measured from its model: wheelbase
# and track (m); its camera (640x480, hfov 1.57, 20 Hz, level) sits 0.144 m above the model
# origin and 0.09 m ahead of the front axle. Taking the origin on the ground midway between
# the axles puts the camera 0.29 + 0.09 m ahead of it.
REFERENCE_WHEELBASE_M = 0.58
REFERENCE_TRACK_M = 0.32
REFERENCE_CAMERA = CameraModel(mount_height=0.144,
                               mount_forward=REFERENCE_WHEELBASE_M / 2 + 0.09)
