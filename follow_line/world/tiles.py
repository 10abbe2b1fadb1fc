"""Ground tiles: a 0.1 m grid of the ground that stores only the tiles near the road.

The ground is a grid of RESOLUTION_M cells from an origin below and left of the circuit, cut
into square tiles of TILE_CELLS. Only the tiles the road passes near are stored, each with an
apron of its neighbours' first cells (APRON_CELLS), side by side in one atlas image; every
other tile is wholly inside or wholly outside the loop and maps to one of two constant slots:
memory grows with the length of the line, not with its box. A frame reads a `Window`: a
block of tiles around the camera, copied from the atlas and moved as the car goes, that one
`cv2.warpPerspective` samples as it would a grid of the whole box.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from follow_line.world.circuits.geometry import ReferenceLine

RESOLUTION_M = 0.1
TILE_CELLS = 256  # 25.6 m
APRON_CELLS = 2  # a point of a tile may read its neighbours' first cells (bilinear, ties)
SLOT_CELLS = TILE_CELLS + 2 * APRON_CELLS


@dataclass(frozen=True, eq=False)
class Tiles:
    """Which tiles of the grid are stored, and where in the atlas.

    Slots 0..n-1 hold the stored tiles (`stored`, tile row and column); slot n is the constant
    outside the loop, slot n + 1 the constant inside it.
    """

    origin: np.ndarray  # world (x, y) of grid cell (0, 0)
    stored: np.ndarray  # (n, 2) tile (row, column) of each stored slot
    slot: np.ndarray  # the table: the slot of each tile (tile rows, tile columns)
    per_row: int  # slots per atlas row

    @property
    def atlas_shape(self) -> tuple[int, int]:
        """(rows, columns) of an atlas of every slot."""
        rows = math.ceil((len(self.stored) + 2) / self.per_row)
        return rows * SLOT_CELLS, self.per_row * SLOT_CELLS

    def core(self, atlas: np.ndarray, row: int, col: int) -> np.ndarray:
        """The TILE_CELLS x TILE_CELLS values of grid tile (row, col) in an atlas (no apron)."""
        r, c = self.corner(int(self.slot[row, col]))
        return atlas[r + APRON_CELLS:r + APRON_CELLS + TILE_CELLS,
                     c + APRON_CELLS:c + APRON_CELLS + TILE_CELLS]

    def corner(self, slot: int) -> tuple[int, int]:
        """Atlas (row, column) of a slot's first cell."""
        return slot // self.per_row * SLOT_CELLS, slot % self.per_row * SLOT_CELLS

    def first_cell(self, tile: np.ndarray) -> tuple[int, int]:
        """Grid (row, column) of the first cell of a tile's slot (its apron's corner)."""
        return int(tile[0]) * TILE_CELLS - APRON_CELLS, int(tile[1]) * TILE_CELLS - APRON_CELLS

    def atlas(self, slot_values: Callable[[int, int], np.ndarray], outside: float,
              inside: float) -> np.ndarray:
        """Build the float32 atlas of the stored tiles' values and the two constants.

        `slot_values(row, column)` gives the SLOT_CELLS x SLOT_CELLS values of the slot whose
        first cell is that grid cell.
        """
        atlas = np.full(self.atlas_shape, outside, np.float32)
        for slot, tile in enumerate(self.stored):
            r, c = self.corner(slot)
            atlas[r:r + SLOT_CELLS, c:c + SLOT_CELLS] = slot_values(*self.first_cell(tile))
        r, c = self.corner(len(self.stored) + 1)
        atlas[r:r + SLOT_CELLS, c:c + SLOT_CELLS] = inside
        atlas.setflags(write=False)
        return atlas

    def atlas_cell(self, cell: np.ndarray) -> np.ndarray | None:
        """Atlas (column, row) of a grid cell (column, row); None off the table."""
        tile = np.floor(np.asarray(cell)[::-1] / TILE_CELLS).astype(int)
        if np.any(tile < 0) or np.any(tile >= self.slot.shape):
            return None
        row, col = self.corner(int(self.slot[tuple(tile)]))
        return np.array([col, row]) + APRON_CELLS + np.asarray(cell) - tile[::-1] * TILE_CELLS


class Window:
    """A block of tiles of the ground grid as one image, moved when the camera leaves it.

    Everything off the block reads `outside`; the block holds every tile asked for (within
    the table), so a warp of it samples as from a grid of the whole box.
    """

    def __init__(self, tiles: Tiles, size: tuple[int, int],
                 tile: Callable[[int, int], np.ndarray], outside: float, period: int = 1):
        self.tiles, self.size, self.tile, self.outside = tiles, np.array(size), tile, outside
        self.period = period  # tiles: the constant slots' values repeat with this period
        self.cells = np.empty((size[0] * TILE_CELLS, size[1] * TILE_CELLS), np.float32)
        self.first = np.full(2, -2**40)  # grid tile (row, column) of the first tile: none yet
        self._kept = np.full((*size, 3), -1)  # constant slot and phase in each place, or -1
        self.whole = bool(np.all(self.size == tiles.slot.shape))  # the whole table: never moves
        if self.whole:
            self.hold(np.zeros(2, int), self.size - 1)

    def hold(self, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """Hold grid tiles (row, column) `low` to `high`; the block's first tile.

        Moves the block (centred on them) only when one of them is off it; a place that
        held the same constant tile keeps it.
        """
        table = np.array(self.tiles.slot.shape)
        low, high = np.maximum(low, 0), np.minimum(high, table - 1)
        if np.any(low > high) or (np.all(low >= self.first)
                                  and np.all(high < self.first + self.size)):
            return self.first
        centre = np.round((low + high - self.size + 1) / 2).astype(int)
        self.first = np.clip(centre, 0, table - self.size)
        stored = len(self.tiles.stored)
        for i in range(self.size[0]):
            for j in range(self.size[1]):
                row, col = int(self.first[0] + i), int(self.first[1] + j)
                slot = int(self.tiles.slot[row, col])
                kept = (slot, row % self.period, col % self.period) if slot >= stored \
                    else (-1, -1, -1)
                if kept[0] >= 0 and tuple(self._kept[i, j]) == kept:
                    continue
                self.cells[i * TILE_CELLS:(i + 1) * TILE_CELLS,
                           j * TILE_CELLS:(j + 1) * TILE_CELLS] = self.tile(row, col)
                self._kept[i, j] = kept
        return self.first


def near_road(line: ReferenceLine, reach: float, margin: float) -> Tiles:
    """The tiles within `reach` metres of the line, over a grid `margin` beyond its box."""
    origin = line.points.min(axis=0) - margin
    cells = (line.points.max(axis=0) + margin - origin) / RESOLUTION_M
    columns, rows = (np.ceil((np.ceil(cells) + 1) / TILE_CELLS)).astype(int)
    ends = (np.stack([line.points, line.points + line.seg]) - origin) / RESOLUTION_M
    pad = reach / RESOLUTION_M + APRON_CELLS
    low = np.clip(np.floor((ends.min(axis=0) - pad) / TILE_CELLS), 0, [columns - 1, rows - 1])
    high = np.clip(np.floor((ends.max(axis=0) + pad) / TILE_CELLS), 0, [columns - 1, rows - 1])
    near = np.zeros((rows, columns), bool)
    for (c0, r0), (c1, r1) in zip(low.astype(int), high.astype(int), strict=True):
        near[r0:r1 + 1, c0:c1 + 1] = True
    stored = np.argwhere(near)
    per_row = math.ceil(math.sqrt(len(stored) + 2))
    slot = np.where(near, 0, len(stored) + _inside_tiles(line, origin, (rows, columns)))
    slot[near] = np.arange(len(stored))
    return Tiles(origin=origin, stored=stored, slot=slot, per_row=per_row)


def _inside_tiles(line: ReferenceLine, origin: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """1 where a tile's centre is inside the loop, else 0 (tile rows x columns)."""
    inside = np.zeros(shape, np.uint8)
    centres = (line.points - origin) / (RESOLUTION_M * TILE_CELLS) - 0.5
    cv2.fillPoly(inside, [np.round(centres * 256).astype(np.int32)], 1, shift=8)
    return inside.astype(int)
