"""Designing closed circuits: a polygon of corner points, each rounded by a fillet.

A design is a closed polygon whose corners carry a radius: each corner becomes a circular
arc of that radius tangent to both edges, and the rest of each edge stays straight, so the
line closes exactly and its curvature is 1/radius in every corner and 0 between them. A
corner turning by `a` uses `radius * tan(a / 2)` of each of its edges; the two corners of an
edge must fit on it. A hairpin is two 90 degree corners `2 * radius` apart (`hairpin`).

`python -m follow_line.world.circuits.design OUT_DIR` writes the reference circuits
(`REFERENCE`: the proportions of the seed study's Gazebo F1 worlds) as circuit YAML files,
their line sampled every `SPACING_M` metres (`interpolation: polyline`). The package ships
them in `circuits/reference/` (regenerated with that folder as OUT_DIR); the built-in
circuits' glob does not recurse, so they are not built-ins: load them by path.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

SPACING_M = 0.5  # between points of the sampled line
REFERENCE_ROAD_WIDTH_M = 3.0
REFERENCE_LINE_WIDTH_M = 0.11


class Corner(NamedTuple):
    """A polygon corner (x, y in metres) rounded by an arc of `radius` metres."""

    x: float
    y: float
    radius: float


def hairpin(x: float, y: float, heading_deg: float, radius: float,
            side: str = "left") -> list[Corner]:
    """The two corners of a 180 degree turn of `radius` ending an edge at (x, y).

    The edge arrives heading `heading_deg` (0 = +x, anticlockwise); the turn goes to `side`,
    so the next edge leaves from `2 * radius` to that side, heading back.
    """
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    a = math.radians(heading_deg + (90.0 if side == "left" else -90.0))
    return [Corner(x, y, radius),
            Corner(x + 2 * radius * math.cos(a), y + 2 * radius * math.sin(a), radius)]


class _Piece(NamedTuple):
    start: np.ndarray  # first point
    direction: np.ndarray  # unit heading at the start
    length: float
    turn: float  # signed angle turned over the piece (0: straight)


def _pieces(corners: Sequence[Corner]) -> list[_Piece]:
    """The straights and arcs of the rounded polygon, from the middle of edge 0 -> 1."""
    p = np.array([(c.x, c.y) for c in corners], dtype=np.float64)
    n = len(p)
    if n < 3:
        raise ValueError(f"a circuit needs at least 3 corners, got {n}")
    edges = np.roll(p, -1, axis=0) - p  # edge i: corner i -> corner i + 1
    lengths = np.linalg.norm(edges, axis=1)
    if np.any(lengths < 1e-9):
        raise ValueError(f"corner {int(np.argmin(lengths))} repeats the next corner")
    unit = edges / lengths[:, None]
    d_in = np.roll(unit, 1, axis=0)  # edge arriving at corner i
    turn = np.arctan2(d_in[:, 0] * unit[:, 1] - d_in[:, 1] * unit[:, 0],
                      np.sum(d_in * unit, axis=1))
    radius = np.array([c.radius for c in corners], dtype=np.float64)
    if np.any(radius <= 0):
        raise ValueError(f"corner {int(np.argmin(radius))} needs a positive radius")
    if np.any(np.abs(turn) > math.radians(179.0)):
        raise ValueError(f"corner {int(np.argmax(np.abs(turn)))} turns back on itself; "
                         "make a hairpin of two corners")
    tangent = radius * np.tan(np.abs(turn) / 2)  # edge length each fillet uses
    room = lengths - tangent - np.roll(tangent, -1)
    if np.any(room < -1e-9):
        i = int(np.argmin(room))
        raise ValueError(f"the fillets of corners {i} and {(i + 1) % n} overlap by "
                         f"{-room[i]:.3f} m on their {lengths[i]:.3f} m edge")
    room = np.maximum(room, 0.0)
    gate_side = p[0] + tangent[0] * unit[0]  # edge 0 is split: the line starts in its middle
    half = 0.5 * room[0]
    pieces = [_Piece(gate_side + half * unit[0], unit[0], half, 0.0)]
    for i in range(n):
        j = (i + 1) % n
        if i > 0:
            pieces.append(_Piece(p[i] + tangent[i] * unit[i], unit[i], room[i], 0.0))
        pieces.append(_Piece(p[j] - tangent[j] * unit[i], unit[i], radius[j] * abs(turn[j]),
                             turn[j]))
    pieces.append(_Piece(gate_side, unit[0], half, 0.0))
    return [piece for piece in pieces if piece.length > 0]


def _point(piece: _Piece, s: np.ndarray) -> np.ndarray:
    """Points at arc lengths `s` (metres) into a piece."""
    d = piece.direction
    if piece.turn == 0.0:
        return piece.start + s[:, None] * d
    r = piece.length / abs(piece.turn)
    side = math.copysign(1.0, piece.turn)
    left = np.array([-d[1], d[0]]) * side
    a = s / r
    return piece.start + r * (np.sin(a)[:, None] * d + (1 - np.cos(a))[:, None] * left)


def sample(corners: Sequence[Corner], spacing: float = SPACING_M) -> np.ndarray:
    """The closed line (N, 2) at equal arc-length steps of about `spacing` metres.

    It starts in the middle of the straight from corner 0 to corner 1 (the start/finish
    gate) and does not repeat its first point; the step from the last point back to the first
    is the same as every other.
    """
    pieces = _pieces(corners)
    ends = np.cumsum([piece.length for piece in pieces])
    total = float(ends[-1])
    count = max(round(total / spacing), 8)
    s = np.arange(count) * (total / count)
    which = np.searchsorted(ends, s, side="right")
    out = np.empty((len(s), 2))
    for k, piece in enumerate(pieces):
        mask = which == k
        if mask.any():
            out[mask] = _point(piece, s[mask] - (ends[k] - piece.length))
    return out


def length(corners: Sequence[Corner]) -> float:
    """Exact length of the rounded polygon, metres."""
    return float(sum(piece.length for piece in _pieces(corners)))


@dataclass(frozen=True)
class Design:
    """A circuit to write: its file fields and its rounded polygon."""

    name: str
    description: str
    corners: tuple[Corner, ...]
    road_width: float = REFERENCE_ROAD_WIDTH_M
    line_width: float = REFERENCE_LINE_WIDTH_M
    held_out: bool = False

    def yaml(self) -> str:
        """The circuit file's text (the format `load_circuit` reads)."""
        line = sample(self.corners)

        def pair(x: float, y: float) -> str:
            return f"[{round(x, 3) + 0.0:.3f}, {round(y, 3) + 0.0:.3f}]"

        head = [
            f"# Generated by follow_line.world.circuits.design ({self.name}); edit the design,"
            " not this file.",
            f"name: {self.name}",
            f"description: {json.dumps(self.description)}",
            f"road_width: {self.road_width}",
            f"line_width: {self.line_width}",
            "interpolation: polyline",
        ]
        if self.held_out:
            head.append("held_out: true  # for testing only: never for training or choosing "
                        "hyper-parameters")
        head += [f"start: {pair(*line[0])}", "centre_line:"]
        return "\n".join(head + [f"  - {pair(x, y)}" for x, y in line]) + "\n"


def rotate(corners: Sequence[Corner], degrees: float) -> list[Corner]:
    """The corners turned `degrees` anticlockwise about the origin (radii unchanged)."""
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return [Corner(c * x - s * y, s * x + c * y, r) for x, y, r in corners]


# The reference circuits: the proportions of the seed study's Gazebo F1 worlds (3 m road,
# 0.11 m line, corners down to 2 m), in shapes of this project's own.
REFERENCE = (
    Design("simple", "A long start straight into a 5.8 m loop, a climb to the top straight "
           "and two hairpins (3 m and 2.5 m) zig-zagging back down the left side.", (
               Corner(0, 0, 8), *hairpin(135, 0, 0, 5.8), Corner(95, 11.6, 8),
               Corner(95, 60, 10), *hairpin(15, 60, 180, 3.0), Corner(52, 46.6, 2.5),
               Corner(51.0, 41.7, 2.5), Corner(-5, 30, 8))),
    Design("monaco", "The hardest: a short straight, a chicane, two 2 m hairpins, a 2.2 m "
           "right angle and a run of tight corners with no room to recover.", (
               Corner(0, 0, 4), Corner(72, 0, 3), Corner(72, 10, 3), Corner(66, 16, 3),
               Corner(66, 34, 5), Corner(88, 46, 5), Corner(91, 74, 2.0), Corner(87, 74, 2.0),
               Corner(72, 55, 3), Corner(41, 55, 4), Corner(34, 70, 2.5), Corner(17, 70, 3),
               *hairpin(17, 86, 90, 2.0), Corner(-5, 70, 5), Corner(-36, 70, 6),
               Corner(-36, 48, 2.2), Corner(-17, 48, 2.2), Corner(-7, 34, 4),
               Corner(-29, 24, 3), Corner(-29, 14, 3))),
    Design("nurburgring", "The start straight into a 4.5 m hairpin, a long sweeping climb, the "
           "top straight and a chicane onto the start straight.", (
               Corner(0, 0, 14), Corner(149.6, 0, 4.5), Corner(108.8, 19.1, 8),
               Corner(136, 68, 28), Corner(115.6, 108.8, 6), Corner(27.2, 108.8, 17),
               Corner(0, 81.6, 5), Corner(-54.4, 81.6, 5), Corner(-54.4, 40.8, 21),
               Corner(-27.2, 20.4, 4), Corner(-19.0, 5.4, 4))),
    Design("montmelo", "A 160 m start straight, an S into a long double-apex sweeper, an "
           "infield with a 2.5 m hairpin and a slow section before the final bend.", (
               Corner(0, 0, 12), Corner(163.2, 0, 5), Corner(175.4, -20, 5),
               Corner(209.1, -26, 22), Corner(216.2, -78, 18), Corner(153, -88, 6),
               Corner(142.8, -60, 6), Corner(112.2, -55, 8),
               *hairpin(61.2, -55, 180, 2.5, "right"), Corner(102, -46, 5),
               Corner(110.2, -30, 6), Corner(61.2, -25, 10), Corner(10.2, -40, 12),
               Corner(-30.6, -60, 5), Corner(-51, -50, 4), Corner(-53, -36, 4),
               Corner(-40.8, -26, 20))),
    Design("montreal", "A long thin island laid diagonally: a 550 m gently kinked back "
           "straight, a chicane at each end of it and one on the way out, a 2.5 m S after the "
           "start and a 3 m hairpin at the far end.", tuple(rotate((
               Corner(0, 0, 6), Corner(136.7, 0, 3.5), Corner(146.4, 32, 2.5),
               Corner(167.9, 14, 5), Corner(292.8, 14, 5), Corner(304.5, 0, 5),
               Corner(410.0, -16, 15), Corner(527.1, 0, 12), Corner(585.7, 14, 10),
               *hairpin(613, 14, 0, 3.0), Corner(546.6, 73.1, 8), Corner(292.8, 141.9, 20),
               Corner(87.8, 133.3, 3), Corner(74.2, 145.3, 3), Corner(42.9, 141.3, 5),
               Corner(19.5, 135.3, 6), Corner(-6, 103.2, 4), Corner(8, 32, 4),
               Corner(-8, 14, 5)), 16.8))),
    Design("lakeside", "Held out: a kidney of fast sweepers whose bite holds a 2.2 m hairpin "
           "at the end of a narrow spur.", (
               Corner(0, 0, 20), Corner(120, 0, 25), Corner(160, 40, 12), Corner(150, 90, 5.5),
               Corner(110, 95, 10), Corner(85, 60, 4), Corner(60, 60, 3),
               *hairpin(60, 110, 90, 2.2), Corner(40, 70, 6), Corner(10, 80, 10),
               Corner(-20, 40, 15)), held_out=True),
    Design("canyon", "Held out: a long triangle, its 350 m base broken by a dip, a 2 m hairpin "
           "at the sharp apex and a kink on the way back.", (
               Corner(0, 0, 8), Corner(150, 0, 4), Corner(160, -12, 4), Corner(200, -12, 4),
               Corner(210, 0, 4), *hairpin(350, 0, 0, 2.0), Corner(270, 60, 12),
               Corner(200, 110, 6), Corner(120, 80, 5), Corner(100, 95, 5),
               Corner(30, 60, 20)), held_out=True),
)


def write(designs: Sequence[Design], out_dir: Path) -> list[Path]:
    """Write each design as `out_dir/NAME.yaml`; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for design in designs:
        path = out_dir / f"{design.name}.yaml"
        path.write_text(design.yaml())
        paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: write the reference circuits into a folder."""
    parser = argparse.ArgumentParser(
        prog="python -m follow_line.world.circuits.design",
        description="Write the reference circuits (REFERENCE) as circuit YAML files.")
    parser.add_argument("out_dir", type=Path, help="folder for the .yaml files")
    args = parser.parse_args(argv)
    for path in write(REFERENCE, args.out_dir):
        print(path)


if __name__ == "__main__":
    main()
