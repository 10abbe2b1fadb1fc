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

from dataclasses import replace
from functools import lru_cache

import cv2
import numpy as np

from follow_line.world.appearance import Appearance
from follow_line.world.camera import CameraModel
from follow_line.world.circuits import Circuit
from follow_line.world.kinematics import Pose

GRID_RESOLUTION_M = 0.1
COLOUR_STEP_M = 0.005  # distance quantum of the colour tables
FOG_START_M, FOG_END_M = 40.0, 160.0

# Cross-section of the road: white edge line this far inside the road edge, kerb outside it.
EDGE_LINE_FROM_EDGE_M = (0.45, 0.25)
KERB_WIDTH_M = 0.6


class Renderer:
    """Renders the 640x480 RGB camera image of a circuit from a car pose.

    A camera mounted off level (`Appearance.camera_pitch`, `camera_roll`) sees through the
    level camera's homography composed with its rotation; each pixel then takes the colour
    table row of the level-camera pixel that sees the same ground point.
    """

    def __init__(self, circuit: Circuit, camera: CameraModel | None = None,
                 appearance: Appearance | None = None):
        self.camera = camera or CameraModel()
        self.appearance = appearance or Appearance()
        self.circuit = circuit
        look = self.appearance
        self._view = replace(self.camera,
                             mount_height=self.camera.mount_height + look.camera_height)
        self._field, self._origin, self._max_d = _distance_grid(circuit)
        level_rows, self._top = _level_rows(self._view, look.camera_pitch, look.camera_roll)
        below = level_rows - self._view.horizon_row  # level-camera row below the horizon
        self._ground = self._view.ground_homography() @ _band_to_level(
            self._view, look.camera_pitch, look.camera_roll, self._top)
        band = below[self._top:]
        sky = band < 0
        self._sky_in_band = sky.astype(np.uint8) if sky.any() else None
        table_rows = self._view.height - self._view.horizon_row
        self._lut_rows = np.clip(band, 0, table_rows - 1).astype(np.float32)
        lut = _colour_tables(circuit, self._view, self._max_d, look)
        # Each RGB entry packed with a zero byte into one 32-bit word (read as float32, which
        # remap supports): the lookup then copies one word per pixel instead of three bytes.
        # The zero byte keeps every word a finite float, so copies preserve the bits.
        padded = np.concatenate([lut, np.zeros((*lut.shape[:2], 1), np.uint8)], axis=2)
        self._lut_words = padded.view(np.float32)[..., 0]
        self._sky = _sky(self._view, level_rows, look)
        # Beyond the grid is outside the loop: the column of -max distance (grass), the value
        # its edge cells hold, so bilinear sampling across the border stays grass.
        self._outside = 0.0
        self._rng = np.random.default_rng(look.seed)
        self._tone = _tone_table(look)
        self._shade = None
        if look.shadow_darkness > 0 or look.texture > 0:
            lightness = _lightness_grid(circuit, self._field.shape, self._origin, look)
            clear = 1.0 - _fog(self._view).astype(np.float32)[np.rint(self._lut_rows).astype(int)]
            self._shade = (lightness, clear)  # shadows and texture fade into the haze

    def render(self, pose: Pose) -> np.ndarray:
        """The camera image (height, width, 3) uint8 RGB seen from `pose`."""
        cam = self._view
        pixels_to_grid = self._camera_to_grid(pose) @ self._ground
        size = (cam.width, cam.height - self._top)
        columns = cv2.warpPerspective(self._field, pixels_to_grid, size,
                                      flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                      borderMode=cv2.BORDER_CONSTANT, borderValue=self._outside)
        image: np.ndarray = np.empty((cam.height, cam.width, 3), dtype=np.uint8)
        image[: self._top] = self._sky[: self._top]
        words = cv2.remap(self._lut_words, columns, self._lut_rows, cv2.INTER_NEAREST,
                          borderMode=cv2.BORDER_REPLICATE)
        ground = image[self._top:]
        cv2.cvtColor(words.view(np.uint8).reshape(*words.shape, 4), cv2.COLOR_RGBA2RGB,
                     dst=ground)
        if self._shade is not None:
            lightness, clear = self._shade
            light = cv2.warpPerspective(lightness, pixels_to_grid, size,
                                        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                        borderMode=cv2.BORDER_CONSTANT, borderValue=1.0)
            factor = cv2.merge([1.0 - clear + clear * light] * 3)
            ground[:] = cv2.multiply(ground, factor, dtype=cv2.CV_8U)
        if self._sky_in_band is not None:
            cv2.copyTo(self._sky[self._top:], self._sky_in_band, dst=ground)
        if self._tone is not None:
            image = cv2.LUT(image, self._tone)
        if self.appearance.blur_sigma > 0:
            image = cv2.GaussianBlur(image, (0, 0), self.appearance.blur_sigma)
        if self.appearance.noise_std > 0:
            noise = self._rng.normal(0.0, self.appearance.noise_std, image.shape)
            image = np.clip(image + noise, 0, 255).astype(np.uint8)
        if self.appearance.jpeg_quality > 0:
            image = _jpeg(image, self.appearance.jpeg_quality)
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


def _rotation(camera: CameraModel, pitch: float, roll: float) -> np.ndarray:
    """3x3 map from a remounted camera's pixels to the level camera's pixels (same rays)."""
    if not (pitch or roll):
        return np.eye(3)
    f = camera.focal
    k = np.array([[f, 0.0, camera.width / 2 - 0.5], [0.0, f, camera.height / 2 - 0.5],
                  [0.0, 0.0, 1.0]])
    cp, sp, cr, sr = np.cos(pitch), np.sin(pitch), np.cos(roll), np.sin(roll)
    nose_down = np.array([[1.0, 0.0, 0.0], [0.0, cp, sp], [0.0, -sp, cp]])
    right_down = np.array([[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]])
    return k @ nose_down @ right_down @ np.linalg.inv(k)


def _level_rows(camera: CameraModel, pitch: float, roll: float) -> tuple[np.ndarray, int]:
    """Per pixel, the level camera's row that sees the same ray; first row with ground."""
    cols, rows = np.meshgrid(np.arange(camera.width, dtype=np.float64),
                             np.arange(camera.height, dtype=np.float64))
    rays = np.einsum("ij,jhw->ihw", _rotation(camera, pitch, roll),
                     np.stack([cols, rows, np.ones_like(cols)]))
    level = np.where(rays[2] > 0, rays[1] / np.where(rays[2] > 0, rays[2], 1.0), -1.0)
    ground_rows = np.flatnonzero((level >= camera.horizon_row).any(axis=1))
    return level, int(ground_rows[0]) if len(ground_rows) else camera.height


def _band_to_level(camera: CameraModel, pitch: float, roll: float, top: int) -> np.ndarray:
    """3x3 map from (col, row - top) of the rendered band to (col, level row below horizon)."""
    def shift(rows: float) -> np.ndarray:
        return np.array([[1.0, 0.0, 0.0], [0.0, 1.0, rows], [0.0, 0.0, 1.0]])

    return shift(-camera.horizon_row) @ _rotation(camera, pitch, roll) @ shift(top)


def _colour_tables(circuit: Circuit, camera: CameraModel, max_d: float,
                   appearance: Appearance) -> np.ndarray:
    """Per image row below the horizon, the colour as a function of signed distance."""
    colours = appearance.palette
    d = np.abs(np.arange(-max_d, max_d + COLOUR_STEP_M / 2, COLOUR_STEP_M))
    half_road = circuit.road_width / 2
    bands = [  # (outer |distance| limit, colour), innermost first
        (circuit.line_width / 2, colours.red_line),
        (half_road - EDGE_LINE_FROM_EDGE_M[0], colours.asphalt),
        (half_road - EDGE_LINE_FROM_EDGE_M[1], colours.edge_line),
        (half_road, colours.asphalt),
        (half_road + KERB_WIDTH_M, colours.kerb),
        (np.inf, colours.grass),
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
        table[row] = (1.0 - haze) * blurred + haze * np.asarray(colours.haze, np.float32)
    return np.clip(table * appearance.brightness, 0, 255).astype(np.uint8)


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


def _lightness_grid(circuit: Circuit, shape: tuple[int, int], origin: np.ndarray,
                    appearance: Appearance) -> np.ndarray:
    """The ground's lightness (1 = as lit) over the distance grid: shadows times texture."""
    lightness = np.ones(shape, np.float32)
    if appearance.shadow_darkness > 0:
        mask = _shadow_mask(circuit, shape, origin, appearance.seed)
        lightness -= appearance.shadow_darkness * mask
    if appearance.texture > 0:
        lightness *= _texture(shape, appearance.texture, appearance.seed)
    return lightness


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
    return cv2.GaussianBlur(mask, (penumbra, penumbra), 0)


# Ground texture: smooth random patches of these sizes (m) and weights (worn asphalt, grass).
TEXTURE_SCALES = ((0.5, 0.3), (2.0, 0.6), (8.0, 1.0))


def _texture(shape: tuple[int, int], amount: float, seed: int) -> np.ndarray:
    """Random lightness 1 +- `amount` (standard deviation) over the grid, clipped to 0.2-1.8."""
    rng = np.random.default_rng((seed, 1))
    total = np.zeros(shape, np.float32)
    for size_m, weight in TEXTURE_SCALES:
        cells = size_m / GRID_RESOLUTION_M
        coarse = rng.standard_normal((int(shape[0] / cells) + 2, int(shape[1] / cells) + 2))
        total += weight * cv2.resize(coarse.astype(np.float32), (shape[1], shape[0]),
                                     interpolation=cv2.INTER_CUBIC)
    return np.clip(1.0 + amount * total / total.std(), 0.2, 1.8)


def _sky(camera: CameraModel, level_rows: np.ndarray, appearance: Appearance) -> np.ndarray:
    """The sky of every pixel: from the palette's sky top to the haze at the horizon."""
    t = np.clip(level_rows / (camera.horizon_row - 1), 0.0, 1.0).astype(np.float32) ** 2
    top, haze = (np.asarray(c, np.float32) for c in (appearance.palette.sky_top,
                                                     appearance.palette.haze))
    sky = (1.0 - t)[..., None] * top + t[..., None] * haze
    return np.clip(sky * appearance.brightness, 0, 255).astype(np.uint8)


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """The RGB image after JPEG compression at `quality`."""
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    _, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
    assert decoded is not None  # an image cv2 itself just encoded
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
