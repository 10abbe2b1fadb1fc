"""The explicit driver: follows the red line from the camera image alone (the "Manual" baseline).

It finds the red line on a few image rows at known ground distances (the camera is level and
its height is known), chains the line points from near to far, steers by pure pursuit to a
point ahead on the line, and chooses its speed from the sharpest curve it sees and from how
far ahead the line stays visible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from follow_line.world.camera import CameraModel
from follow_line.world.kinematics import V_LIMITS, W_LIMITS
from follow_line.world.worlds import World, get_world

MAX_JUMP = 0.25  # of the image width: a larger step between scanned rows is another line


@dataclass(frozen=True)
class ExpertParams:
    """Tuning of the explicit driver."""

    v_max: float = 13.0  # m/s on straights
    v_min: float = 4.0  # m/s in the tightest turns
    lateral_accel: float = 9.0  # m/s^2 allowed in curves
    accel: float = 6.0  # m/s^2
    brake: float = 14.0  # m/s^2
    look_ahead_gain: float = 0.35  # s: pure-pursuit look-ahead grows with speed
    look_ahead_min: float = 3.0  # m
    look_ahead_max: float = 9.0  # m
    near_m: float = 1.2  # nearest scanned ground distance ahead of the camera
    far_m: float = 30.0  # farthest scanned ground distance
    scan_rows: int = 28
    red_min: int = 90  # a red pixel: R >= red_min and R - max(G, B) >= red_margin
    red_margin: int = 60


def world_params(world: World | str | None = None) -> ExpertParams:
    """The explicit driver's parameters for a world's camera and circuits (world/worlds.py)."""
    fields: dict[str, Any] = dict(get_world(world).expert)
    return ExpertParams(**fields)


# For the reference F1 car's camera on the reference circuits (the `reference` world).
REFERENCE_PARAMS = world_params("reference")


class ExpertDriver:
    """Camera image (RGB, 640x480) -> (v, w)."""

    name = "expert"

    def __init__(self, camera: CameraModel | None = None, params: ExpertParams | None = None):
        self.camera = camera or CameraModel()
        self.params = params or ExpertParams()
        p, cam = self.params, self.camera
        distances = np.geomspace(p.near_m, p.far_m, p.scan_rows)
        _, rows = cam.project(distances, np.zeros_like(distances))
        self.rows = np.unique(np.clip(np.round(rows).astype(int), cam.horizon_row,
                                      cam.height - 1))[::-1]  # near (bottom) to far
        row_offsets = self.rows + 0.5 - cam.height / 2
        self._forward = cam.mount_height * cam.focal / row_offsets + cam.mount_forward
        self._col_scale = cam.mount_height / row_offsets  # metres left per pixel left
        self._padded = np.zeros((len(self.rows), cam.width + 2), dtype=bool)
        self.reset()

    @classmethod
    def for_world(cls, world: World | str | None = None) -> ExpertDriver:
        """The explicit driver with a world's camera and parameters (None: the default)."""
        world = get_world(world)
        return cls(world.camera, world_params(world))

    def reset(self) -> None:
        """Forget the previous command (new run)."""
        self.v = 0.0
        self.w = 0.0
        self.last_turn = 0.0
        self.last_t: float | None = None

    def line_points(self, image: np.ndarray) -> np.ndarray:
        """Red-line points (forward, left) in metres from the car origin, chained near to far."""
        cam, p = self.camera, self.params
        if image.shape != (cam.height, cam.width, 3):
            raise ValueError(f"expert driver expects a {cam.width}x{cam.height}x3 RGB image "
                             f"(shape {(cam.height, cam.width, 3)}), got shape {image.shape}")
        r, g, b = cv2.split(image[self.rows])  # contiguous channels: faster than strided views
        red = (r >= p.red_min) & (cv2.subtract(r, cv2.max(g, b)) >= p.red_margin)
        # Runs of red pixels on every scanned row at once: changes of the padded mask come in
        # (start, end) pairs in row-major order.
        self._padded[:, 1:-1] = red
        changes = np.flatnonzero(self._padded[:, 1:] != self._padded[:, :-1])
        width = self._padded.shape[1] - 1
        run_rows = changes[0::2] // width
        centres = 0.5 * (changes[0::2] % width + changes[1::2] % width - 1)
        if len(run_rows) > 1 and np.all(np.diff(run_rows) > 0):
            # One run per row (the usual case): the chain ends at the first missing row or
            # at the first jump too large to be the same line.
            ends = np.flatnonzero((np.diff(run_rows) != 1)
                                  | (np.abs(np.diff(centres)) > MAX_JUMP * cam.width))
            count = ends[0] + 1 if len(ends) else len(run_rows)
            rows, cols = run_rows[:count], centres[:count]
        else:
            rows, cols = self._chain(run_rows.tolist(), centres.tolist())
        return np.column_stack([self._forward[rows],
                                (cam.width / 2 - 0.5 - cols) * self._col_scale[rows]])

    def _chain(self, run_rows: list[int], centres: list[float]) -> tuple[np.ndarray, np.ndarray]:
        """Scanned-row indices and columns of the line, near to far, for rows with several runs.

        On each row the run nearest the previous point continues the chain.
        """
        width = self.camera.width
        by_row: dict[int, list[float]] = {}
        for row, centre in zip(run_rows, centres, strict=True):
            by_row.setdefault(row, []).append(centre)
        rows: list[int] = []
        cols: list[float] = []
        prev_col = width / 2 - 0.5
        for i in range(len(self.rows)):
            row_centres = by_row.get(i)
            if not row_centres:
                if rows:
                    break
                continue
            centre = min(row_centres, key=lambda c: abs(c - prev_col))
            if rows and abs(centre - prev_col) > MAX_JUMP * width:
                break  # the nearest run is not the continuation of the chain
            prev_col = centre
            rows.append(i)
            cols.append(centre)
        return np.array(rows, dtype=int), np.array(cols)

    def __call__(self, image: np.ndarray, t: float) -> tuple[float, float]:
        """The command for this frame at simulated time `t`."""
        p = self.params
        dt = 0.05 if self.last_t is None else max(t - self.last_t, 1e-3)
        self.last_t = t
        pts = self.line_points(image)
        if len(pts) == 0:  # line lost: slow down and turn towards where it was last seen
            self.v = max(self.v - p.brake * dt, p.v_min * 0.5)
            self.w = math.copysign(min(abs(self.w) + 1.0, W_LIMITS[1] * 0.5), self.last_turn)
            return self.v, self.w
        dist = np.hypot(pts[:, 0], pts[:, 1])
        look = min(max(p.look_ahead_gain * self.v + p.look_ahead_min, p.look_ahead_min),
                   p.look_ahead_max)
        k = int(np.searchsorted(dist, look))
        if k >= len(pts):
            target = pts[-1]
        elif k == 0:
            target = pts[0]
        else:
            a = (look - dist[k - 1]) / max(dist[k] - dist[k - 1], 1e-6)
            target = pts[k - 1] + a * (pts[k] - pts[k - 1])
        curvature = 2.0 * target[1] / max(float(target @ target), 1e-6)
        # Speed: the sharpest pure-pursuit curvature over the visible line, and braking room.
        far = pts[dist > look * 0.8]
        kappa = np.abs(2.0 * far[:, 1] / np.maximum(np.sum(far**2, axis=1), 1e-6)).max() \
            if len(far) else abs(curvature)
        kappa = max(kappa, abs(curvature))
        v_curve = math.sqrt(p.lateral_accel / max(kappa, 1e-6))
        visible = float(dist[-1])
        v_room = math.sqrt(p.v_min**2 + 2.0 * p.brake * max(visible - 4.0, 0.0))
        v_target = min(max(min(p.v_max, v_curve, v_room), p.v_min), V_LIMITS[1])
        if v_target > self.v:
            self.v = min(v_target, self.v + p.accel * dt)
        else:
            self.v = max(v_target, self.v - p.brake * dt)
        self.w = min(max(self.v * curvature, W_LIMITS[0]), W_LIMITS[1])
        if abs(self.w) > 0.05:
            self.last_turn = self.w
        return self.v, self.w
