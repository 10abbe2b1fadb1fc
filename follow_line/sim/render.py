"""Camera renderer: ground-plane projection of the circuit, anti-aliased by distance.

The world is flat, so every pixel below the horizon sees one ground point. The circuit is
stored once as a signed-distance grid around its red line (0.1 m cells, exact distances,
bilinear between cells); the colour of a ground point is a function of that distance only
(red line, asphalt, white edge line, kerb, grass). A per-row colour table, pre-filtered with
the width of one pixel on the ground at that row and faded to haze near the horizon, turns
distances into colours. The ground is seen through a homography, so a frame is one
`cv2.warpPerspective` (pixels -> distances) and one `cv2.remap` (distances -> colours), about
0.5 ms on one core for 640x480.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from follow_line.circuits import Circuit
from follow_line.sim.camera import CameraModel
from follow_line.sim.kinematics import Pose

GRID_RESOLUTION_M = 0.1
COLOUR_STEP_M = 0.005  # distance quantum of the colour tables
FOG_START_M, FOG_END_M = 40.0, 160.0

# Cross-section of the road: white edge line this far inside the road edge, kerb outside it.
EDGE_LINE_FROM_EDGE_M = (0.45, 0.25)
KERB_WIDTH_M = 0.6

# RGB colours of the world.
RED_LINE = (205, 30, 30)
ASPHALT = (78, 78, 84)
EDGE_LINE = (235, 235, 235)
KERB = (175, 172, 160)
GRASS = (62, 122, 48)
HAZE = (196, 206, 218)
SKY_TOP = (86, 136, 206)


@dataclass(frozen=True)
class Appearance:
    """Optional perturbations of the rendered image (all off by default)."""

    brightness: float = 1.0  # multiplies every colour
    noise_std: float = 0.0  # Gaussian pixel noise, in 0-255 units
    shadow_darkness: float = 0.0  # shadows across the road darken the ground by this fraction
    seed: int = 0  # of the noise and of where the shadows fall
    gamma: float = 1.0  # the camera's tone curve: value = 255 * (value / 255) ** gamma
    colour_cast: tuple[float, float, float] = (1.0, 1.0, 1.0)  # R, G, B gains (white balance)
    blur_sigma: float = 0.0  # Gaussian blur (defocus, motion), standard deviation in pixels

    def __post_init__(self):
        import math

        values = (self.brightness, self.noise_std, self.shadow_darkness, self.gamma,
                  *self.colour_cast, self.blur_sigma)
        if len(self.colour_cast) != 3 or not all(math.isfinite(v) for v in values) \
                or self.gamma <= 0 or min(self.colour_cast) < 0 or self.blur_sigma < 0:
            raise ValueError(f"appearance out of range: {self}")


class Renderer:
    """Renders the 640x480 RGB camera image of a circuit from a car pose."""

    def __init__(self, circuit: Circuit, camera: CameraModel | None = None,
                 appearance: Appearance | None = None):
        self.camera = camera or CameraModel()
        self.appearance = appearance or Appearance()
        self.circuit = circuit
        self._field, self._origin, self._max_d = _distance_grid(circuit)
        self._ground = self.camera.ground_homography()
        rows = self.camera.height - self.camera.horizon_row
        self._lut_rows = np.repeat(np.arange(rows, dtype=np.float32)[:, None],
                                   self.camera.width, axis=1)
        lut = _colour_tables(circuit, self.camera, self._max_d, self.appearance.brightness)
        # Each RGB entry packed with a zero byte into one 32-bit word (read as float32, which
        # remap supports): the lookup then copies one word per pixel instead of three bytes.
        # The zero byte keeps every word a finite float, so copies preserve the bits.
        padded = np.concatenate([lut, np.zeros((*lut.shape[:2], 1), np.uint8)], axis=2)
        self._lut_words = padded.view(np.float32)[..., 0]
        self._sky = _sky(self.camera, self.appearance.brightness)
        # Beyond the grid is outside the loop: the column of -max distance (grass), the value
        # its edge cells hold, so bilinear sampling across the border stays grass.
        self._outside = 0.0
        self._rng = np.random.default_rng(self.appearance.seed)
        self._tone = _tone_table(self.appearance)
        self._shade = None
        if self.appearance.shadow_darkness > 0:
            mask = _shadow_mask(circuit, self._field.shape, self._origin, self.appearance.seed)
            clear = 1.0 - _fog(self.camera)  # shadows fade into the haze like the ground
            self._shade = (mask, (self.appearance.shadow_darkness * clear)[:, None])

    def render(self, pose: Pose) -> np.ndarray:
        """The camera image (height, width, 3) uint8 RGB seen from `pose`."""
        cam = self.camera
        pixels_to_grid = self._camera_to_grid(pose) @ self._ground
        size = (cam.width, cam.height - cam.horizon_row)
        columns = cv2.warpPerspective(self._field, pixels_to_grid, size,
                                      flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                      borderMode=cv2.BORDER_CONSTANT, borderValue=self._outside)
        image = np.empty((cam.height, cam.width, 3), dtype=np.uint8)
        image[: cam.horizon_row] = self._sky
        words = cv2.remap(self._lut_words, columns, self._lut_rows, cv2.INTER_NEAREST,
                          borderMode=cv2.BORDER_REPLICATE)
        cv2.cvtColor(words.view(np.uint8).reshape(*words.shape, 4), cv2.COLOR_RGBA2RGB,
                     dst=image[cam.horizon_row:])
        if self._shade is not None:
            mask, darkness = self._shade
            shaded = cv2.warpPerspective(mask, pixels_to_grid, size,
                                         flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                         borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
            ground = image[cam.horizon_row:]
            ground[:] = ground * (1.0 - darkness * shaded)[..., None]
        if self._tone is not None:
            image = cv2.LUT(image, self._tone)
        if self.appearance.blur_sigma > 0:
            image = cv2.GaussianBlur(image, (0, 0), self.appearance.blur_sigma)
        if self.appearance.noise_std > 0:
            noise = self._rng.normal(0.0, self.appearance.noise_std, image.shape)
            image = np.clip(image + noise, 0, 255).astype(np.uint8)
        return image

    def _camera_to_grid(self, pose: Pose) -> np.ndarray:
        """3x3 affine map from (forward, left) metres off the camera to distance-grid cells."""
        c, s = np.cos(pose.theta), np.sin(pose.theta)
        k = 1.0 / GRID_RESOLUTION_M
        x = pose.x + c * self.camera.mount_forward - self._origin[0]
        y = pose.y + s * self.camera.mount_forward - self._origin[1]
        return np.array([[c * k, -s * k, x * k], [s * k, c * k, y * k], [0.0, 0.0, 1.0]])

    def distance_at(self, x: float, y: float) -> float:
        """Signed distance (m) from the red line of a world point, as the renderer sees it."""
        col = (x - self._origin[0]) / GRID_RESOLUTION_M
        row = (y - self._origin[1]) / GRID_RESOLUTION_M
        value = cv2.remap(self._field, np.array([[col]], np.float32),
                          np.array([[row]], np.float32), cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=self._outside)
        return float(value[0, 0]) * COLOUR_STEP_M - self._max_d


@lru_cache(maxsize=8)
def _distance_grid(circuit: Circuit) -> tuple[np.ndarray, np.ndarray, float]:
    """Signed distance grid in colour-table columns, its world origin and the clip distance."""
    max_d = circuit.road_width / 2 + 3.0
    line = circuit.line("anticlockwise")
    origin = line.points.min(axis=0) - (max_d + 1.0)
    size = line.points.max(axis=0) + (max_d + 1.0) - origin
    shape = (int(np.ceil(size[1] / GRID_RESOLUTION_M)) + 1,
             int(np.ceil(size[0] / GRID_RESOLUTION_M)) + 1)
    dist = line.distance_field(tuple(origin), GRID_RESOLUTION_M, shape, max_d)
    columns = ((dist + max_d) / COLOUR_STEP_M).astype(np.float32)
    columns.setflags(write=False)
    return columns, origin, max_d


def _colour_tables(circuit: Circuit, camera: CameraModel, max_d: float,
                   brightness: float) -> np.ndarray:
    """Per image row below the horizon, the colour as a function of signed distance."""
    d = np.abs(np.arange(-max_d, max_d + COLOUR_STEP_M / 2, COLOUR_STEP_M))
    half_road = circuit.road_width / 2
    bands = [  # (outer |distance| limit, colour), innermost first
        (circuit.line_width / 2, RED_LINE),
        (half_road - EDGE_LINE_FROM_EDGE_M[0], ASPHALT),
        (half_road - EDGE_LINE_FROM_EDGE_M[1], EDGE_LINE),
        (half_road, ASPHALT),
        (half_road + KERB_WIDTH_M, KERB),
        (np.inf, GRASS),
    ]
    base = np.empty((len(d), 3), dtype=np.float32)
    for limit, colour in reversed(bands):
        base[d < limit] = colour
    ground = camera.ground_points()
    forward = ground[:, 0, 0].astype(np.float64)
    footprint = forward / camera.focal  # metres covered by one pixel, across the view
    fog = _fog(camera)
    table = np.empty((len(forward), len(d), 3), dtype=np.float32)
    for row, (width, haze) in enumerate(zip(footprint, fog, strict=True)):
        k = int(round(width / COLOUR_STEP_M))
        blurred = cv2.blur(base[None], (k, 1), borderType=cv2.BORDER_REPLICATE)[0] if k > 1 \
            else base
        table[row] = (1.0 - haze) * blurred + haze * np.asarray(HAZE, np.float32)
    return np.clip(table * brightness, 0, 255).astype(np.uint8)


def _tone_table(appearance: Appearance) -> np.ndarray | None:
    """A 256 x 1 x 3 lookup table of the gamma curve and colour cast; None when neutral."""
    if appearance.gamma == 1.0 and tuple(appearance.colour_cast) == (1.0, 1.0, 1.0):
        return None
    levels = (np.arange(256) / 255.0) ** appearance.gamma * 255.0
    table = np.stack([levels * gain for gain in appearance.colour_cast], axis=-1)
    return np.clip(np.round(table), 0, 255).astype(np.uint8)[:, None, :]


def _fog(camera: CameraModel) -> np.ndarray:
    """Per image row below the horizon, the share of haze (0 near, 1 at FOG_END_M)."""
    forward = camera.ground_points()[:, 0, 0].astype(np.float64)
    return np.clip((forward - FOG_START_M) / (FOG_END_M - FOG_START_M), 0.0, 1.0)


def _shadow_mask(circuit: Circuit, shape: tuple[int, int], origin: np.ndarray,
                 seed: int) -> np.ndarray:
    """Soft shadows of buildings and bridges across the road, as a grid of 0 (sun) to 1.

    One shadow every ~40 m on average, at random places along the line: a band 2-8 m long
    crossing the whole road at up to 35 degrees from square, with a 0.3 m penumbra.
    """
    rng = np.random.default_rng(seed)
    line = circuit.line("anticlockwise")
    mask = np.zeros(shape, np.float32)
    reach = circuit.road_width + 2 * KERB_WIDTH_M + 2.0
    for s in rng.uniform(0.0, line.length, max(1, int(line.length / 40))):
        x, y, heading = line.pose_at(s)
        across = heading + np.pi / 2 + rng.uniform(-0.6, 0.6)
        half_long = rng.uniform(1.0, 4.0)
        u = np.array([np.cos(across), np.sin(across)]) * reach / 2
        along = np.array([np.cos(heading), np.sin(heading)]) * half_long
        corners = np.array([[x, y]]) + np.array([u + along, u - along, -u - along, -u + along])
        cells = np.round((corners - origin) / GRID_RESOLUTION_M).astype(np.int32)
        cv2.fillPoly(mask, [cells], 1.0)
    penumbra = int(round(0.3 / GRID_RESOLUTION_M)) * 2 + 1
    mask = cv2.GaussianBlur(mask, (penumbra, penumbra), 0)
    mask.setflags(write=False)
    return mask


def _sky(camera: CameraModel, brightness: float) -> np.ndarray:
    """The sky above the horizon: a vertical gradient from SKY_TOP to HAZE."""
    t = np.linspace(0.0, 1.0, camera.horizon_row, dtype=np.float32)[:, None] ** 2
    rows = (1.0 - t) * np.asarray(SKY_TOP, np.float32) + t * np.asarray(HAZE, np.float32)
    sky = np.repeat(rows[:, None, :], camera.width, axis=1)
    return np.clip(sky * brightness, 0, 255).astype(np.uint8)
