"""What the commands of `follow-line` share: argument types, the common options, checks.

Every option more than one command takes is defined once, in `SHARED`, with its choices
taken from the domain's own constants (backends and devices from `driving.inference`,
directions from `world.circuits`); a command adds it with `add(parser, name)`, changing its
default or help where that command's differ.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from follow_line.driving.inference import BACKENDS, DEVICES
from follow_line.errors import FollowLineError
from follow_line.world.circuits import DIRECTIONS
from follow_line.world.worlds import DEFAULT_WORLD, world_names

if TYPE_CHECKING:
    from follow_line.world.appearance import Appearance
    from follow_line.world.simulator import StartOffset

#: `sub.add_parser` with the common options: how a command group adds its commands.
AddCommand = Callable[..., argparse.ArgumentParser]


def int_at_least(minimum: int, name: str) -> Callable[[str], int]:
    """An argparse type: an integer >= `minimum` (`name` appears in argparse's messages)."""
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    parse.__name__ = name
    return parse


positive_int = int_at_least(1, "positive_int")
non_negative_int = int_at_least(0, "non_negative_int")


def finite(text: str) -> float:
    """A finite number (NaN and infinity refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def positive(text: str) -> float:
    """A finite number > 0."""
    value = finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def jobs(text: str) -> int:
    """1 to the machine's core count (each worker holds its own TensorFlow, ~0.8 GB)."""
    value = positive_int(text)
    cores = os.cpu_count() or 1
    if value > cores:
        raise argparse.ArgumentTypeError(f"at most {cores} (the cores of this machine; each "
                                         f"worker takes about 0.8 GB), got {value}")
    return value


def csv(text: str) -> list[str]:
    """Comma-separated items, blanks dropped."""
    return [item.strip() for item in text.split(",") if item.strip()]


def csv_of(choices: Sequence[str]) -> Callable[[str], list[str]]:
    """An argparse type: comma-separated items, each one of `choices`."""
    def parse(text: str) -> list[str]:
        items = csv(text)
        wrong = [item for item in items if item not in choices]
        if wrong:
            raise argparse.ArgumentTypeError(f"invalid choice: {wrong[0]!r} (choose from "
                                             f"{', '.join(choices)})")
        return items

    parse.__name__ = "list"
    return parse


def size(text: str) -> tuple[int, int]:
    """HxW, e.g. 66x200."""
    height, sep, width = text.lower().partition("x")
    try:
        value = (int(height), int(width))
    except ValueError:
        value = (0, 0)
    if not sep or min(value) < 1:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH such as 66x200, got {text!r}")
    return value


def latencies(text: str) -> list[str]:
    """Comma-separated inference latencies as their labels (`driving.latency.parse_latency`)."""
    from follow_line.driving.latency import parse_latency

    try:
        return [parse_latency(item).label for item in csv(text)] or ["0"]
    except FollowLineError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def key_value(text: str) -> tuple[str, object]:
    """KEY=VALUE with the value read as YAML (32 -> int, flatten -> str)."""
    import yaml

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key.strip(), yaml.safe_load(value)
    except yaml.YAMLError:
        return key.strip(), value


def look(text: str) -> tuple[str, object]:
    """KEY=VALUE of `--look`: as `key_value`, and a number in any spelling (1e6) is a number."""
    key, value = key_value(text)
    if isinstance(value, str):
        try:
            return key, float(value)
        except ValueError:
            pass
    return key, value


#: The options several commands take: flag name -> add_argument's settings.
SHARED: dict[str, dict[str, Any]] = {
    "quiet": {"action": "store_true", "help": "no progress bar"},
    "verbose": {"action": "store_true",
                "help": "also show TensorFlow's, LiteRT's and absl's own log lines"},
    "model": {"default": "pilotnet",
              "help": "a shipped network, a registry network, a NAME.keras path or 'expert'"},
    "backend": {"default": "auto", "choices": BACKENDS,
                "help": "inference backend for networks (default: auto = fastest that works)"},
    "device": {"default": "auto", "choices": DEVICES},
    "world": {"default": DEFAULT_WORLD, "choices": world_names(),
              "help": "the world: its circuits (names resolve in it), its car's camera, its "
                      f"networks (docs/guide.md 'Worlds'; default: {DEFAULT_WORLD})"},
    "circuit": {"default": "simple", "help": "built-in name or path to a YAML file"},
    "direction": {"default": "clockwise", "choices": DIRECTIONS},
    "circuits": {"type": csv, "help": "comma-separated (default: all built-in)"},
    "directions": {"type": csv_of(DIRECTIONS), "metavar": "DIRECTIONS",
                   "help": f"comma-separated, of {', '.join(DIRECTIONS)} (default: both)"},
    "laps": {"type": positive_int, "default": 1},
    "timeout": {"type": positive, "default": None,
                "help": "simulated seconds before giving up (default: 300 per lap)"},
    "seed": {"type": int, "default": 0},
    "json": {"type": Path, "help": "also write the figures as JSON"},
    "out": {"type": Path},
    "perturb": {"default": "clean",
                "help": "a named perturbation of `bench --perturb` (default: clean)"},
    "look": {"type": look, "action": "append", "default": [], "metavar": "KEY=VALUE",
             "help": "change the world's appearance (repeat for more), e.g. camera_roll=0.03, "
                     "jpeg_quality=30, texture=0.2, gamma=0.7, palette.grass=[120,110,60]; a "
                     "wrong key lists the keys, a wrong value the key's range"},
}


def add(parser: argparse._ActionsContainer, *names: str, **changes: Any) -> None:
    """Add the shared options `names` to `parser`, each with `changes` to its settings."""
    for name in names:
        parser.add_argument(f"--{name.replace('_', '-')}", **{**SHARED[name], **changes})


def conditions(args: argparse.Namespace) -> tuple[Appearance, StartOffset]:
    """Appearance and start of a named perturbation (--perturb) with --look changes."""
    from follow_line.bench.perturb import run_conditions
    from follow_line.world.appearance import changed

    appearance, start = run_conditions(args.perturb)
    return changed(appearance, args.look), start


def check_writable(path: Path | None) -> None:
    """Refuse an output file that cannot be written, before the work that fills it."""
    if path is None:
        return
    path = Path(path)
    if path.is_dir():
        raise FollowLineError(f"{path} is a folder; give a file path")
    ancestor = next((p for p in path.parents if p.exists()), None)
    if ancestor is not None and not ancestor.is_dir():
        raise FollowLineError(f"cannot write {path}: {ancestor} is a file, not a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.probe"):
            pass
    except OSError as exc:
        raise FollowLineError(f"cannot write {path}: {exc.strerror or exc}") from None
