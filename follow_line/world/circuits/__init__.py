"""Circuit files (YAML, metres): the built-in circuits, loading, validation and directions.

The built-in circuits come in two groups: the training circuits (`builtin_circuits()`, the
default of collect, bench, perf and the Gazebo launch) and the circuits held out for testing
(`held_out_circuits()`, files with `held_out: true`), never used for training or for choosing
hyper-parameters, so that every network can be judged on tracks it never saw.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from follow_line.errors import FollowLineError, unknown_name
from follow_line.world.circuits.geometry import (
    ReferenceLine,
    catmull_rom_closed,
    resample_closed,
    signed_area,
)

CIRCUIT_DIR = Path(__file__).resolve().parent
DIRECTIONS = ("clockwise", "anticlockwise")
INTERPOLATIONS = ("spline", "polyline")
LINE_SPACING_M = 0.5
# Limits of a circuit file, checked before anything large is built (README "Circuits"):
MAX_FILE_BYTES = 1_000_000
MAX_CONTROL_POINTS = 5_000
MAX_LENGTH_M = 8_000.0  # of the control polygon: 16,000 line points at LINE_SPACING_M
# Each side of the box around the line. The renderer stores its 0.1 m ground grid only near
# the road (world/tiles.py), so memory grows with the length, not the box; the box is bounded
# so that grid coordinates keep float32 precision (1/500 of a cell).
MAX_EXTENT_M = 2_500.0
MAX_COORDINATE_M = 1e8  # of a point: map eastings and northings fit (the Earth is 4e7 m round)
# The numbers of a circuit file (docs/guide.md "Circuits"); NaN and infinity are refused:
ROAD_WIDTH_RANGE_M = (2.0, 30.0)  # the reference worlds' 2.4-3.3 m to a wide F1 track
MIN_LINE_WIDTH_M = 0.05  # at most half the road, so that the edge lines stay visible
MIN_LENGTH_ROAD_WIDTHS = 10  # the red line is at least this many road widths long
MIN_BOX_ROAD_WIDTHS = 1  # each side of the box around the line: else the road overlaps


@dataclass(frozen=True)
class Circuit:
    """A circuit as its file describes it (direction-free)."""

    name: str
    road_width: float
    line_width: float
    control_points: tuple[tuple[float, float], ...] = field(repr=False)
    start: tuple[float, float]
    interpolation: str = "spline"
    description: str = ""
    source: str = ""
    held_out: bool = False  # for testing only: never for training or hyper-parameters

    @property
    def centre_line(self) -> np.ndarray:
        """The closed red line resampled every LINE_SPACING_M metres, in file order."""
        return _centre_line(self.control_points, self.interpolation)

    def line(self, direction: str) -> ReferenceLine:
        """The reference line driven in `direction`, starting at the start/finish gate."""
        if direction not in DIRECTIONS:
            raise unknown_name("direction", direction, DIRECTIONS)
        pts = self.centre_line
        anticlockwise = signed_area(pts) > 0
        if anticlockwise != (direction == "anticlockwise"):
            pts = pts[::-1]
        first = int(np.argmin(np.hypot(*(pts - np.asarray(self.start)).T)))
        return ReferenceLine(np.roll(pts, -first, axis=0))

    @property
    def length(self) -> float:
        """Length of the red line, metres."""
        return self.line("anticlockwise").length


@lru_cache(maxsize=32)
def _centre_line(control_points: tuple, interpolation: str) -> np.ndarray:
    control = np.array(control_points)
    dense = catmull_rom_closed(control) if interpolation == "spline" else control
    line = resample_closed(dense, LINE_SPACING_M)
    line.setflags(write=False)
    return line


SEED_ORDER = ("simple", "monaco", "nurburgring")  # the order of the seed study's tables


def _builtin_files(folder: Path = CIRCUIT_DIR) -> dict[str, Path]:
    """Every circuit file of a circuit set (a folder; not recursive), by name (its file stem)."""
    return {p.stem: p for p in sorted(Path(folder).glob("*.yaml"))}


@lru_cache(maxsize=32)
def _marked_held_out(path: Path, mtime_ns: int) -> bool:
    """Whether a built-in file says `held_out: true` (a quick look; loading validates it)."""
    doc = yaml.safe_load(path.read_text())
    return isinstance(doc, dict) and doc.get("held_out") is True


def _builtin_groups(folder: Path) -> tuple[list[str], list[str]]:
    """(training, held out) names of the circuits of a circuit set."""
    training: list[str] = []
    held_out: list[str] = []
    for name, path in _builtin_files(folder).items():
        group = held_out if _marked_held_out(path, path.stat().st_mtime_ns) else training
        group.append(name)
    return training, held_out


def builtin_circuits(folder: Path = CIRCUIT_DIR) -> list[str]:
    """Names of the built-in training circuits, in the seed's table order.

    The default circuits of collect, bench and perf; the held-out circuits are not among them
    (see `held_out_circuits`). `folder` is the circuit set (a world's, world/worlds.py).
    """
    names = _builtin_groups(folder)[0]
    return [n for n in SEED_ORDER if n in names] + [n for n in names if n not in SEED_ORDER]


def held_out_circuits(folder: Path = CIRCUIT_DIR) -> list[str]:
    """Names of the built-in circuits held out for testing, in alphabetical order.

    Never used for training or for choosing hyper-parameters: they judge every network on
    tracks it never saw. `load_circuit` accepts them by name like the training circuits.
    """
    return _builtin_groups(folder)[1]


def check_training_circuit(circuit: Circuit | str | Path, folder: Path = CIRCUIT_DIR) -> Circuit:
    """The circuit (a Circuit, built-in name or file path) if it may be used for training.

    Raises FollowLineError for a circuit held out for testing.
    """
    if not isinstance(circuit, Circuit):
        circuit = load_circuit(circuit, folder)
    if circuit.held_out:
        raise FollowLineError(
            f"circuit {circuit.name} is held out for testing: it is never used for training or"
            " for choosing hyper-parameters (training circuits: "
            f"{', '.join(builtin_circuits(folder))}, or a circuit file without "
            "'held_out: true')")
    return circuit


def load_circuit(name_or_path: str | Path, folder: Path = CIRCUIT_DIR) -> Circuit:
    """A circuit of the set in `folder` (training or held out) by name, or any file by path."""
    text = str(name_or_path)
    path = Path(text)
    builtin = _builtin_files(folder)
    if text in builtin:
        path = builtin[text]
    elif not (path.suffix in (".yaml", ".yml") or path.exists()):
        raise FollowLineError(f"unknown circuit {text!r}; known: "
                              f"{', '.join(builtin_circuits(folder))} (training), "
                              f"{', '.join(held_out_circuits(folder))} (held out for testing)"
                              ", or the path of a circuit .yaml file")
    if path.is_dir():
        raise FollowLineError(f"{path} is a folder, not a circuit file (a .yaml file)")
    if not path.is_file():
        raise FollowLineError(f"circuit file {path} does not exist")
    stat = path.stat()
    return _load_unchanged(path.resolve(), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=32)
def _load_unchanged(path: Path, mtime_ns: int, size: int) -> Circuit:
    """A parsed and validated circuit file, parsed again only when the file changes.

    Validation (the self-crossing check) takes ~0.2 s, and circuits are looked up by name
    many times per benchmark or recording; a Circuit is immutable, so sharing it is safe.
    """
    return _load_file(path)


class _MarkedLoader(yaml.SafeLoader):
    """SafeLoader whose mappings and sequences remember their line numbers."""


class _Map(dict):
    line = 0
    key_lines: dict


class _Seq(list):
    line = 0
    item_lines: list


def _construct_map(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _Map:
    out = _Map(loader.construct_mapping(node, deep=True))
    out.line = node.start_mark.line + 1
    out.key_lines = {k.value: k.start_mark.line + 1 for k, _ in node.value}
    return out


def _construct_seq(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> _Seq:
    out = _Seq(loader.construct_sequence(node, deep=True))
    out.line = node.start_mark.line + 1
    out.item_lines = [item.start_mark.line + 1 for item in node.value]
    return out


# YAML 1.1 reads 1e9 (an exponent without a decimal point) as text; a circuit means a number.
_MarkedLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789"))
_MarkedLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_MarkedLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)

REQUIRED = ("name", "road_width", "line_width", "centre_line")
OPTIONAL = ("start", "interpolation", "description", "held_out")


#: An error at a line of the circuit file being read: fail(line, message).
_Fail = Callable[[int, str], FollowLineError]


def _load_file(path: Path) -> Circuit:
    """Parse and check a circuit file: one FollowLineError naming its line and field."""
    def fail(line: int, message: str) -> FollowLineError:
        return FollowLineError(f"{path}:{line}: {message}")

    doc = _read_document(path, fail)
    road_width, line_width = _widths(doc, fail)
    control = _control_points(doc, fail)
    interpolation = doc.get("interpolation", "spline")
    if interpolation not in INTERPOLATIONS:
        raise fail(doc.key_lines["interpolation"], f"field 'interpolation' is {interpolation!r};"
                                                   f" allowed: {', '.join(INTERPOLATIONS)}")
    held_out = doc.get("held_out", False)
    if not isinstance(held_out, bool):
        raise fail(doc.key_lines["held_out"], "field 'held_out' must be true or false (true: "
                                              f"for testing only), got {held_out!r}")
    start = control[0]
    if "start" in doc:
        start = _point(doc["start"], doc.key_lines["start"], "field 'start'", fail)
    circuit = Circuit(
        name=str(doc["name"]), road_width=road_width, line_width=line_width,
        control_points=tuple(map(tuple, control.tolist())),
        start=(float(start[0]), float(start[1])),
        interpolation=interpolation, description=str(doc.get("description", "")),
        source=str(path), held_out=held_out,
    )
    _check_loop(circuit, doc, fail)
    return circuit


def _read_document(path: Path, fail: _Fail) -> _Map:
    """The file's YAML mapping, its size, syntax and fields checked."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise fail(1, f"the file is {size:,} bytes; a circuit file is at most "
                      f"{MAX_FILE_BYTES:,} bytes")
    try:
        text = path.read_text()
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text)):
            raise fail(1, "YAML aliases (*name) are not allowed in a circuit file")
        doc = yaml.load(text, Loader=_MarkedLoader)  # noqa: S506 (safe loader)
    except UnicodeDecodeError as exc:
        raise fail(1, f"not a text (YAML) file: byte {exc.start} is not UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise fail(mark.line + 1 if mark else 1, f"not valid YAML ({exc})") from None
    if not isinstance(doc, _Map):
        raise fail(1, "a circuit file is a mapping with fields " + ", ".join(REQUIRED))
    for key in REQUIRED:
        if key not in doc:
            raise fail(doc.line, f"missing field '{key}' (required: {', '.join(REQUIRED)})")
    for key in doc:
        if key not in REQUIRED + OPTIONAL:
            raise fail(doc.key_lines[key], f"unknown field '{key}' "
                                           f"(allowed: {', '.join(REQUIRED + OPTIONAL)})")
    return doc


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _metres(doc: _Map, key: str, low: float, high: float, fail: _Fail, why: str = "") -> float:
    """Field `key`: a finite number of metres in [low, high], else one line saying so."""
    value = doc[key]
    if not (_is_number(value) and low <= value <= high):  # NaN compares False: refused
        raise fail(doc.key_lines[key], f"field '{key}' must be a number of metres from "
                                       f"{low:g} to {high:g}{why}, got {value!r}")
    return float(value)


def _widths(doc: _Map, fail: _Fail) -> tuple[float, float]:
    """(road_width, line_width), each in its documented range."""
    road_width = _metres(doc, "road_width", *ROAD_WIDTH_RANGE_M, fail)
    line_width = _metres(doc, "line_width", MIN_LINE_WIDTH_M, road_width / 2, fail,
                         f" (at most half of road_width {road_width:g})")
    return road_width, line_width


def _point(value: Any, line: int, what: str, fail: _Fail) -> tuple[float, float]:
    """A pair [x, y] of finite numbers of metres, each at most MAX_COORDINATE_M in size."""
    ok = isinstance(value, list) and len(value) == 2 and all(map(_is_number, value))
    if not ok or not all(abs(v) <= MAX_COORDINATE_M for v in value):  # NaN: refused
        raise fail(line, f"{what} must be a pair of numbers [x, y] in metres, each from "
                         f"{-MAX_COORDINATE_M:g} to {MAX_COORDINATE_M:g}, got {value!r}")
    return float(value[0]), float(value[1])


def _control_points(doc: _Map, fail: _Fail) -> np.ndarray:
    """The centre_line's points, checked against the limits of a circuit's size."""
    raw = doc["centre_line"]
    if not isinstance(raw, _Seq) or not 4 <= len(raw) <= MAX_CONTROL_POINTS:
        raise fail(doc.key_lines["centre_line"],
                   f"field 'centre_line' must be a list of 4 to {MAX_CONTROL_POINTS:,} points"
                   f" [x, y]" + (f", got {len(raw):,}" if isinstance(raw, list) else ""))
    control = np.array([_point(p, line, f"centre_line point {i}", fail)
                        for i, (p, line) in enumerate(zip(raw, raw.item_lines, strict=True))])
    if np.all(np.abs(control[0] - control[-1]) < 1e-6):  # metres, at any coordinates
        control = control[:-1]  # the loop closes itself; a repeated first point is redundant
    steps = np.linalg.norm(np.diff(control, axis=0, append=control[:1]), axis=1)
    extent = control.max(axis=0) - control.min(axis=0)
    if steps.sum() > MAX_LENGTH_M or extent.max() > MAX_EXTENT_M:
        raise fail(doc.key_lines["centre_line"],
                   f"the circuit is {steps.sum():,.0f} m long in a {extent[0]:,.0f} m x "
                   f"{extent[1]:,.0f} m box; at most {MAX_LENGTH_M:,.0f} m in a "
                   f"{MAX_EXTENT_M:,.0f} m x {MAX_EXTENT_M:,.0f} m box")
    if np.any(steps < 1e-6):
        i = int(np.argmin(steps))
        raise fail(raw.item_lines[i], f"centre_line point {i} repeats the next point")
    return control


def _check_loop(circuit: Circuit, doc: _Map, fail: _Fail) -> None:
    """The red line against the road: long and wide enough, not crossing, the gate on it."""
    line = circuit.line("anticlockwise")
    width = circuit.road_width
    extent = line.points.max(axis=0) - line.points.min(axis=0)
    if line.length < MIN_LENGTH_ROAD_WIDTHS * width or extent.min() < MIN_BOX_ROAD_WIDTHS * width:
        raise fail(doc.key_lines["centre_line"],
                   f"the red line is {line.length:,.1f} m long in a {extent[0]:,.1f} m x "
                   f"{extent[1]:,.1f} m box; with road_width {width:g} m it must be at least "
                   f"{MIN_LENGTH_ROAD_WIDTHS * width:g} m long ({MIN_LENGTH_ROAD_WIDTHS} road "
                   f"widths) in a box at least {MIN_BOX_ROAD_WIDTHS * width:g} m on each side")
    if line.self_intersects():
        raise fail(doc.key_lines["centre_line"], "centre_line crosses itself")
    off = abs(line.project(*circuit.start).cte)
    if off > width / 2:
        raise fail(doc.key_lines.get("start", doc.key_lines["centre_line"]),
                   f"field 'start' is {off:,.1f} m from the red line; the start gate must be "
                   f"on the road: at most {width / 2:g} m (half of road_width) from the line")
