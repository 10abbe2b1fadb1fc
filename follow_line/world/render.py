"""Camera renderer: ground-plane projection of the circuit, anti-aliased by distance.

The world is flat, so every pixel below the horizon sees one ground point. The circuit is
stored once as a signed-distance field of its red line (0.1 m cells, exact distances,
bilinear between cells) in tiles near the road only (tiles.py); the colour of a ground point
is a function of that distance only (red line, asphalt, white edge line, kerb, grass). A
per-row colour table, pre-filtered with the width of one pixel on the ground at that row and
faded to haze near the horizon, turns distances into colours. The ground is seen through a
homography, so a frame is one `cv2.warpPerspective` (pixels -> distances) of a window of
tiles held around the camera (every ground point nearer than the haze) and one `cv2.remap`
(distances -> colours), about 0.5 ms on one core for 640x480, whatever the circuit's box.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache

import cv2
import numpy as np

from follow_line.world.appearance import Appearance
from follow_line.world.camera import CameraModel
from follow_line.world.circuits import Circuit
from follow_line.world.kinematics import Pose
from follow_line.world.tiles import RESOLUTION_M, SLOT_CELLS, TILE_CELLS, Tiles, Window, near_road

COLOUR_STEP_M = 0.005  # distance quantum of the colour tables
FOG_START_M, FOG_END_M = 40.0, 160.0

# Cross-section of the road: white edge line this far inside the road edge, kerb outside it.
EDGE_LINE_FROM_EDGE_M = (0.45, 0.25)
KERB_WIDTH_M = 0.6
# Tiles are stored within the clip distance plus this of the line: shadows reach ~2.9 m past.
TILE_REACH_M = 3.0


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
        self._tiles, self._atlas, self._max_d = _distance_tiles(circuit)
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
        self._seen = _seen_ground(self._ground, self._view, self._lut_rows)
        rows, cols = np.minimum(_window_tiles(self._seen) + 2 * WINDOW_DRIFT_TILES,
                                self._tiles.slot.shape)
        size = (int(rows), int(cols))
        self._window = Window(self._tiles, size,
                              lambda row, col: self._tiles.core(self._atlas, row, col), 0.0)
        # Beyond the tiles is outside the loop: the column of -max distance (grass), the value
        # their edge cells hold, so bilinear sampling across the border stays grass.
        self._outside = 0.0
        self._rng = np.random.default_rng(look.seed)
        self._tone = _tone_table(look)
        self._shade = None
        if look.shadow_darkness > 0 or look.texture > 0:
            lightness = _lightness(circuit, self._tiles, look)
            clear = 1.0 - _fog(self._view).astype(np.float32)[np.rint(self._lut_rows).astype(int)]
            period = TEXTURE_PERIOD_CELLS // TILE_CELLS if look.texture > 0 else 1
            self._shade = (Window(self._tiles, size, lightness, 1.0, period), clear)

    def render(self, pose: Pose) -> np.ndarray:
        """The camera image (height, width, 3) uint8 RGB seen from `pose`."""
        cam = self._view
        pixels_to_grid = self._pixels_to_grid(pose)
        columns = self._warp(self._window, pixels_to_grid)
        image: np.ndarray = np.empty((cam.height, cam.width, 3), dtype=np.uint8)
        image[: self._top] = self._sky[: self._top]
        words = cv2.remap(self._lut_words, columns, self._lut_rows, cv2.INTER_NEAREST,
                          borderMode=cv2.BORDER_REPLICATE)
        ground = image[self._top:]
        cv2.cvtColor(words.view(np.uint8).reshape(*words.shape, 4), cv2.COLOR_RGBA2RGB,
                     dst=ground)
        if self._shade is not None:
            lightness, clear = self._shade
            light = self._warp(lightness, pixels_to_grid)
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

    def _pixels_to_grid(self, pose: Pose) -> np.ndarray:
        """3x3 map from band pixels to the windows' cells; the windows hold what they see."""
        to_grid = self._camera_to_grid(pose)
        first = self._window.first
        if not self._window.whole:
            seen = self._seen @ to_grid[:, :2].T + to_grid[:, 2]  # (column, row) cells
            low = np.floor(seen.min(axis=0) / TILE_CELLS).astype(int)[::-1] - 1
            high = np.floor(seen.max(axis=0) / TILE_CELLS).astype(int)[::-1] + 1
            first = self._window.hold(low, high)  # a tile around: bilinear reads beyond
            if self._shade is not None:
                self._shade[0].hold(low, high)  # the same size: the same block
        to_window = np.array([[1.0, 0.0, -first[1] * TILE_CELLS],
                              [0.0, 1.0, -first[0] * TILE_CELLS], [0.0, 0.0, 1.0]])
        return to_window @ np.vstack([to_grid, [0.0, 0.0, 1.0]]) @ self._ground

    def _warp(self, window: Window, pixels_to_grid: np.ndarray) -> np.ndarray:
        """The band's pixels sampled (bilinear) from a window of the ground grid."""
        cam = self._view
        return cv2.warpPerspective(window.cells, pixels_to_grid,
                                   (cam.width, cam.height - self._top),
                                   flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                   borderMode=cv2.BORDER_CONSTANT, borderValue=window.outside)

    def _camera_to_grid(self, pose: Pose) -> np.ndarray:
        """2x3 affine map from (forward, left) metres off the camera to ground-grid cells."""
        c, s = np.cos(pose.theta), np.sin(pose.theta)
        k = 1.0 / RESOLUTION_M
        x = pose.x + c * self.camera.mount_forward - self._tiles.origin[0]
        y = pose.y + s * self.camera.mount_forward - self._tiles.origin[1]
        return np.array([[c * k, -s * k, x * k], [s * k, c * k, y * k]])

    def distance_at(self, x: float, y: float) -> float:
        """Signed distance (m) from the red line of a world point, as the renderer sees it."""
        where = self._tiles.atlas_cell((np.array([x, y]) - self._tiles.origin) / RESOLUTION_M)
        if where is None:
            return -self._max_d  # off the tiles: outside the loop
        value = cv2.remap(self._atlas, where.astype(np.float32).reshape(1, 1, 2),
                          None, cv2.INTER_LINEAR)  # type: ignore[call-overload]
        return float(value[0, 0]) * COLOUR_STEP_M - self._max_d


@lru_cache(maxsize=8)
def _distance_tiles(circuit: Circuit) -> tuple[Tiles, np.ndarray, float]:
    """The ground tiles, their atlas of signed distances in colour-table columns, the clip.

    Exact distances, as a grid of the whole box around the line (a margin of the clip
    distance and 1 m) would hold them; tiles away from the road hold +-clip.
    """
    max_d = circuit.road_width / 2 + 3.0
    line = circuit.line("anticlockwise")
    tiles = near_road(line, max_d + TILE_REACH_M, max_d + 1.0)
    reach = max_d + RESOLUTION_M
    low = np.minimum(line.points, line.points + line.seg) - reach
    high = np.maximum(line.points, line.points + line.seg) + reach
    side = (SLOT_CELLS - 1) * RESOLUTION_M

    def columns(row: int, column: int) -> np.ndarray:
        first = tiles.origin + np.array([column, row]) * RESOLUTION_M
        near = np.flatnonzero(np.all((low <= first + side) & (high >= first), axis=1))
        dist = line.distance_field(tuple(first), RESOLUTION_M, (SLOT_CELLS, SLOT_CELLS), max_d,
                                   segments=near)
        return (dist + max_d) / COLOUR_STEP_M

    return tiles, tiles.atlas(columns, 0.0, 2 * max_d / COLOUR_STEP_M), max_d


def _seen_ground(homography: np.ndarray, camera: CameraModel,
                 lut_rows: np.ndarray) -> np.ndarray:
    """Corners (forward, left metres off the camera) of the ground seen nearer than the haze.

    Pixels whose colour-table row is all haze, or that see the sky, are left out.
    """
    rows, width = lut_rows.shape
    cols, band = np.meshgrid(np.arange(width, dtype=np.float64),
                             np.arange(rows, dtype=np.float64))
    mapped = np.einsum("ij,jhw->hwi", homography, np.stack([cols, band, np.ones_like(cols)]))
    fog = _fog(camera)
    clear = (fog[np.floor(lut_rows).astype(int)] < 1) | (fog[np.ceil(lut_rows).astype(int)] < 1)
    near = (mapped[..., 2] > 0) & clear
    if not near.any():
        return np.zeros((1, 2))
    points = (mapped[..., :2] / mapped[..., 2:])[near].astype(np.float32)
    return cv2.convexHull(points)[:, 0].astype(np.float64)


WINDOW_DRIFT_TILES = 2  # either way: the car goes this far before the windows move


def _window_tiles(seen: np.ndarray) -> int:
    """Tiles a side of a window that holds the seen ground at any heading, and a tile around."""
    diameter = np.max(np.linalg.norm(seen[:, None] - seen[None], axis=-1))
    return int(np.ceil(diameter / (TILE_CELLS * RESOLUTION_M))) + 3


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


def _lightness(circuit: Circuit, tiles: Tiles,
               appearance: Appearance) -> Callable[[int, int], np.ndarray]:
    """The ground's lightness (1 = as lit) of a grid tile (row, col): shadows times texture."""
    shadows = _shadow_atlas(circuit, tiles, appearance) if appearance.shadow_darkness > 0 \
        else None
    texture = _texture(appearance.texture, appearance.seed) if appearance.texture > 0 \
        else None

    def tile(row: int, col: int) -> np.ndarray:
        light = tiles.core(shadows, row, col) if shadows is not None \
            else np.ones((TILE_CELLS, TILE_CELLS), np.float32)
        if texture is not None:
            r, c = row * TILE_CELLS % len(texture), col * TILE_CELLS % len(texture)
            light = light * texture[r:r + TILE_CELLS, c:c + TILE_CELLS]
        return light

    return tile


def _shadow_atlas(circuit: Circuit, tiles: Tiles, appearance: Appearance) -> np.ndarray:
    """The ground's lightness under shadows (1 = in the sun), in the tiles' atlas layout."""
    shapes = _shadows(circuit, tiles.origin, appearance.seed)
    blur = int(round(0.3 / RESOLUTION_M))  # the penumbra's reach, cells
    # Drawn whole, never clipped by the slot's edge (clipping moves edge pixels).
    margin = max(int(np.ptp(s, axis=0).max()) for s in shapes) + blur + 1
    size = SLOT_CELLS + 2 * margin
    inner = np.s_[margin - blur:margin + SLOT_CELLS + blur]

    def lightness(row: int, column: int) -> np.ndarray:
        first = np.array([column - margin, row - margin])
        mask = np.zeros((size, size), np.float32)
        near = [s - first for s in shapes
                if np.all(s.min(axis=0) < first + size) and np.all(s.max(axis=0) >= first)]
        if not near:
            return np.ones((SLOT_CELLS, SLOT_CELLS), np.float32)
        cv2.fillPoly(mask, near, 1.0)
        blurred = cv2.GaussianBlur(mask[inner, inner], (2 * blur + 1, 2 * blur + 1), 0)
        return 1.0 - appearance.shadow_darkness * blurred[blur:-blur, blur:-blur]

    return tiles.atlas(lightness, 1.0, 1.0)


def _shadows(circuit: Circuit, origin: np.ndarray, seed: int) -> list[np.ndarray]:
    """Shadows of buildings and bridges across the road: quadrangles in ground-grid cells.

    One shadow every ~40 m on average, at random places along the line: a band 2-8 m long
    crossing the whole road at up to 35 degrees from square (drawn with a 0.3 m penumbra).
    """
    rng = np.random.default_rng(seed)
    line = circuit.line("anticlockwise")
    shapes = []
    reach = circuit.road_width + 2 * KERB_WIDTH_M + 2.0
    for s in rng.uniform(0.0, line.length, max(1, int(line.length / 40))):
        x, y, heading = line.pose_at(s)
        across = heading + np.pi / 2 + rng.uniform(-0.6, 0.6)
        half_long = rng.uniform(1.0, 4.0)
        u = np.array([np.cos(across), np.sin(across)]) * reach / 2
        along = np.array([np.cos(heading), np.sin(heading)]) * half_long
        corners = np.array([[x, y]]) + np.array([u + along, u - along, -u - along, -u + along])
        shapes.append(np.round((corners - origin) / RESOLUTION_M).astype(np.int32))
    return shapes


# Ground texture: smooth random patches of these sizes (m) and weights (worn asphalt, grass),
# repeating every TEXTURE_PERIOD_CELLS (a multiple of the tile) of the ground grid both ways.
TEXTURE_SCALES = ((0.5, 0.3), (2.0, 0.6), (8.0, 1.0))
TEXTURE_PERIOD_CELLS = 1024  # 102.4 m


def _texture(amount: float, seed: int) -> np.ndarray:
    """Random lightness 1 +- `amount` (standard deviation), clipped to 0.2-1.8, periodic.

    White noise smoothed by a Gaussian of each patch size (in the Fourier domain, so the
    pattern wraps around seamlessly); one period of the ground grid, float32.
    """
    rng = np.random.default_rng((seed, 1))
    n = TEXTURE_PERIOD_CELLS
    frequency = np.fft.fftfreq(n)
    squared = frequency[:, None] ** 2 + frequency[None, :] ** 2
    total = np.zeros((n, n))
    for size_m, weight in TEXTURE_SCALES:
        sigma = size_m / RESOLUTION_M / 2
        smooth = np.fft.ifft2(np.fft.fft2(rng.standard_normal((n, n)))
                              * np.exp(-2 * (np.pi * sigma) ** 2 * squared)).real
        total += weight * smooth / smooth.std()
    return np.clip(1.0 + amount * total / total.std(), 0.2, 1.8).astype(np.float32)


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
