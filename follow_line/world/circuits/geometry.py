"""Geometry of a closed reference line: arc length, projection, cross-track error, curvature."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


def catmull_rom_closed(control: np.ndarray, samples_per_segment: int = 40) -> np.ndarray:
    """Dense points of the closed centripetal Catmull-Rom spline through `control` (K, 2)."""
    p = np.asarray(control, dtype=np.float64)
    k = len(p)
    out = []
    t = np.linspace(0.0, 1.0, samples_per_segment, endpoint=False)[:, None]
    for i in range(k):
        p0, p1, p2, p3 = p[i - 1], p[i], p[(i + 1) % k], p[(i + 2) % k]
        # Centripetal parametrisation (alpha = 0.5): no cusps or self-intersections.
        t0 = 0.0
        t1 = t0 + np.linalg.norm(p1 - p0) ** 0.5
        t2 = t1 + np.linalg.norm(p2 - p1) ** 0.5
        t3 = t2 + np.linalg.norm(p3 - p2) ** 0.5
        tt = t1 + t * (t2 - t1)
        a1 = (t1 - tt) / (t1 - t0) * p0 + (tt - t0) / (t1 - t0) * p1
        a2 = (t2 - tt) / (t2 - t1) * p1 + (tt - t1) / (t2 - t1) * p2
        a3 = (t3 - tt) / (t3 - t2) * p2 + (tt - t2) / (t3 - t2) * p3
        b1 = (t2 - tt) / (t2 - t0) * a1 + (tt - t0) / (t2 - t0) * a2
        b2 = (t3 - tt) / (t3 - t1) * a2 + (tt - t1) / (t3 - t1) * a3
        out.append((t2 - tt) / (t2 - t1) * b1 + (tt - t1) / (t2 - t1) * b2)
    return np.concatenate(out)


def resample_closed(points: np.ndarray, spacing: float) -> np.ndarray:
    """Points spaced `spacing` metres apart (approximately) along a closed polyline."""
    closed = np.vstack([points, points[:1]])
    seg = np.linalg.norm(np.diff(closed, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(int(round(s[-1] / spacing)), 8)
    targets = np.linspace(0.0, s[-1], n, endpoint=False)
    return np.column_stack([np.interp(targets, s, closed[:, 0]),
                            np.interp(targets, s, closed[:, 1])])


def signed_area(points: np.ndarray) -> float:
    """Shoelace area: positive for an anticlockwise loop."""
    x, y = points[:, 0], points[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


@dataclass(frozen=True)
class Projection:
    """A point projected onto the reference line."""

    s: float  # arc length of the foot point from the start, metres, in [0, length)
    cte: float  # signed cross-track error, metres, positive to the left of the line
    index: int  # segment index of the foot point
    heading: float  # line heading at the foot point, radians


class ReferenceLine:
    """A closed polyline oriented in the driving direction, starting at the start/finish gate."""

    def __init__(self, points: np.ndarray):
        pts = np.asarray(points, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3:
            raise ValueError("a reference line needs at least 3 (x, y) points")
        self.points = pts
        self.seg = np.roll(pts, -1, axis=0) - pts
        self.seg_len = np.linalg.norm(self.seg, axis=1)
        if np.any(self.seg_len <= 0):
            raise ValueError("reference line has repeated consecutive points")
        self.s = np.concatenate([[0.0], np.cumsum(self.seg_len)])
        self.length = float(self.s[-1])
        self.tangent = self.seg / self.seg_len[:, None]
        self.seg_heading = np.arctan2(self.tangent[:, 1], self.tangent[:, 0])
        turn = np.angle(np.exp(1j * (self.seg_heading - np.roll(self.seg_heading, 1))))
        ds = 0.5 * (self.seg_len + np.roll(self.seg_len, 1))
        self.curvature = turn / ds  # signed, 1/m, at each vertex; positive turns left

    def __len__(self) -> int:
        return len(self.points)

    def pose_at(self, s: float) -> tuple[float, float, float]:
        """(x, y, heading) of the point at arc length `s` (wraps around)."""
        s = float(s) % self.length
        i = int(np.searchsorted(self.s, s, side="right") - 1)
        i = min(max(i, 0), len(self.points) - 1)
        t = (s - self.s[i]) / self.seg_len[i]
        x, y = self.points[i] + t * self.seg[i]
        return float(x), float(y), float(self.seg_heading[i])

    def project(self, x: float, y: float, hint: int | None = None, window: int = 60) -> Projection:
        """Foot point of (x, y) on the line; searches near segment `hint` when given."""
        n = len(self.points)
        if hint is None:
            idx = np.arange(n)
        else:
            idx = np.arange(hint - window, hint + window + 1) % n
        a = self.points[idx]
        d = self.seg[idx]
        px, py = x - a[:, 0], y - a[:, 1]
        t = np.clip((px * d[:, 0] + py * d[:, 1]) / (self.seg_len[idx] ** 2), 0.0, 1.0)
        ex, ey = px - t * d[:, 0], py - t * d[:, 1]
        dist2 = ex * ex + ey * ey
        j = int(np.argmin(dist2))
        if hint is not None and j in (0, len(idx) - 1):
            return self.project(x, y, None)  # the foot left the window: search everywhere
        i = int(idx[j])
        cross = d[j, 0] * py[j] - d[j, 1] * px[j]
        cte = float(np.sqrt(dist2[j])) * (1.0 if cross >= 0 else -1.0)
        s = float(self.s[i] + t[j] * self.seg_len[i]) % self.length
        return Projection(s=s, cte=cte, index=i, heading=float(self.seg_heading[i]))

    def distance_field(self, origin: tuple[float, float], resolution: float,
                       shape: tuple[int, int], max_distance: float,
                       segments: np.ndarray | None = None) -> np.ndarray:
        """Signed distance (positive left) of each cell centre of a grid, clipped at +-max.

        Cell (row r, column c) is at (origin[0] + c * resolution, origin[1] + r * resolution).
        Exact point-to-segment distances, computed segment by segment over the cells within
        `max_distance` of the segment; cells farther away get +-`max_distance`. `segments`
        (indices) may name the only segments that come within `max_distance` of the grid.
        """
        rows, cols = shape
        best = np.full(shape, np.inf)
        sign = np.zeros(shape)
        reach = max_distance + resolution
        for i in range(len(self.points)) if segments is None else segments:
            a, d = self.points[i], self.seg[i]
            box = np.array([np.minimum(a, a + d) - reach, np.maximum(a, a + d) + reach])
            c0, r0 = np.maximum(np.floor((box[0] - origin) / resolution).astype(int), 0)
            c1, r1 = np.ceil((box[1] - origin) / resolution).astype(int) + 1
            c1, r1 = min(c1, cols), min(r1, rows)
            if c0 >= c1 or r0 >= r1:
                continue
            px = origin[0] + np.arange(c0, c1) * resolution - a[0]
            py = origin[1] + np.arange(r0, r1)[:, None] * resolution - a[1]
            t = np.clip((px * d[0] + py * d[1]) / (self.seg_len[i] ** 2), 0.0, 1.0)
            dist = np.hypot(px - t * d[0], py - t * d[1])
            view = best[r0:r1, c0:c1]
            closer = dist < view
            view[closer] = dist[closer]
            side = np.where(d[0] * py - d[1] * px >= 0, 1.0, -1.0)
            sign[r0:r1, c0:c1][closer] = np.broadcast_to(side, dist.shape)[closer]
        far = sign == 0
        if far.any():  # beyond max_distance: left is the inside of an anticlockwise loop
            inside = np.zeros(shape, dtype=np.uint8)
            cells = np.round((self.points - origin) / resolution).astype(np.int32)
            cv2.fillPoly(inside, [cells], 1)
            left_is_inside = signed_area(self.points) > 0
            sign[far] = np.where((inside[far] == 1) == left_is_inside, 1.0, -1.0)
        return np.minimum(best, max_distance) * sign

    def self_intersects(self) -> bool:
        """True when two non-adjacent segments of the loop cross.

        Linear in the number of segments: each segment is filed under the grid cells (as
        large as the longest segment) its bounding box touches, and only segments sharing a
        cell are tested against each other.
        """
        a = self.points - self.points.min(axis=0)  # exact differences at any coordinates
        b = np.roll(a, -1, axis=0)
        n = len(a)
        cell = max(float(np.max(np.linalg.norm(b - a, axis=1))), 1e-9)
        lo = np.floor(np.minimum(a, b) / cell).astype(np.int64)
        hi = np.floor(np.maximum(a, b) / cell).astype(np.int64)
        columns = int(hi[:, 0].max()) + 2
        cell_ids: list[np.ndarray] = []
        cell_segs: list[np.ndarray] = []
        for dx in (0, 1):  # a segment no longer than a cell touches at most 2 x 2 cells
            for dy in (0, 1):
                cx, cy = lo[:, 0] + dx, lo[:, 1] + dy
                inside = (cx <= hi[:, 0]) & (cy <= hi[:, 1])
                cell_ids.append((cy * columns + cx)[inside])
                cell_segs.append(np.flatnonzero(inside))
        ids, segs = np.concatenate(cell_ids), np.concatenate(cell_segs)
        order = np.argsort(ids, kind="stable")
        ids, segs = ids[order], segs[order]
        for k in range(1, len(ids)):
            same = ids[k:] == ids[:-k]
            if not same.any():
                break  # groups are contiguous: no cell holds more than k segments
            i, j = segs[:-k][same], segs[k:][same]
            gap = np.abs(i - j)
            keep = (gap > 1) & (gap < n - 1)
            i, j = i[keep], j[keep]
            d1 = _orient(a[i], b[i], a[j]) * _orient(a[i], b[i], b[j])
            d2 = _orient(a[j], b[j], a[i]) * _orient(a[j], b[j], b[i])
            if np.any((d1 < 0) & (d2 < 0)):
                return True
        return False


def _orient(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Sign of the turn p -> q -> r for each row of r (and of p, q when they are arrays)."""
    return np.sign((q[..., 0] - p[..., 0]) * (r[..., 1] - p[..., 1])
                   - (q[..., 1] - p[..., 1]) * (r[..., 0] - p[..., 0]))
