"""Model cards: everything the pilot needs to drive with a network, beside its weights.

`models/NAME.keras` holds the weights, `models/NAME.json` the card: the network it is,
preprocessing, frame buffer, output decoding, constant speed if any, training data and
metrics. No constant about a network lives anywhere else.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from follow_line.driving.frames import FRAME_MODES
from follow_line.driving.vision import Preprocessing
from follow_line.errors import FollowLineError
from follow_line.world.worlds import WORLDS, get_world, world_names

CARD_VERSION = 1
# The world of a card that names none: every card written before worlds existed was trained
# for the wide one (a fixed name, not the default world, which may change).
CARD_WORLD = "wide"
TASKS = ("regression", "classification")
DECODINGS = ("argmax", "expectation")
WARM_UPS = ("pad_first",)
LAYOUTS = ("NHWC", "NCHW")
#: The `network` of a card written for a model made elsewhere (an ONNX file).
EXTERNAL = "external"
#: A value or an array of values of one output.
ArrayOrFloat = TypeVar("ArrayOrFloat", float, np.ndarray)

# The seed study's classes (docs/architecture.md "Networks and model cards"):
# |w| >= 1.0 / 0.5 / 0.1 -> 1.9 / 0.75 / 0.25, else 0; v > 11 / > 9 / > 7 -> 13 / 10 / 8, else 5.
W_CLASS_VALUES = (-1.9, -0.75, -0.25, 0.0, 0.25, 0.75, 1.9)
W_CLASS_THRESHOLDS = (1.0, 0.5, 0.1)
V_CLASS_VALUES = (5.0, 8.0, 10.0, 13.0)
V_CLASS_THRESHOLDS = (7.0, 9.0, 11.0)


def _number(card: str, field_name: str, value: Any, positive: bool = False) -> float:
    """`value` if it is a finite number (> 0 with `positive`), else an error naming the field."""
    import math

    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (positive and value <= 0):
        allowed = "a finite number" + (" > 0" if positive else "")
        raise FollowLineError(f"card {card}: {field_name} is {value!r}; allowed: {allowed}")
    return float(value)


@dataclass(frozen=True)
class FrameSpec:
    """How the frame buffer feeds the network."""

    mode: str = "single"
    offsets: tuple[int, ...] = (0,)
    warm_up: str = "pad_first"
    max_gap_s: float = 0.5


@dataclass
class ModelCard:
    """The JSON card of one trained (or freshly built) network."""

    name: str
    network: str
    task: str
    preprocessing: Preprocessing
    frames: FrameSpec
    input_shape: tuple[int, ...]
    outputs: dict[str, dict]
    decode: str = "argmax"
    constant_v: float | None = None
    description: str = ""
    architecture: dict = field(default_factory=dict)  # builder options off the defaults
    layout: str = "NHWC"  # of the network input: NHWC (Keras) or NCHW (an ONNX model's)
    output_names: dict = field(default_factory=dict)  # ONNX output per card output if renamed
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    version: int = CARD_VERSION
    world: str = CARD_WORLD  # the world (camera, circuits) it was trained for: world/worlds.py

    def __post_init__(self) -> None:
        from follow_line.driving.nets import known_networks

        if self.world not in WORLDS:
            raise FollowLineError(f"card {self.name}: world {self.world!r} is not one of "
                                  f"{', '.join(world_names())}")

        if self.network not in (*known_networks(), EXTERNAL):
            raise FollowLineError(f"card {self.name}: network {self.network!r} is not in the "
                                  f"registry ({', '.join(known_networks())}) nor "
                                  f"{EXTERNAL!r} (a model made elsewhere)")
        if self.layout not in LAYOUTS:
            raise FollowLineError(f"card {self.name}: layout {self.layout!r} is not one of "
                                  f"{', '.join(LAYOUTS)}")
        if self.constant_v is not None:
            _number(self.name, "constant_v", self.constant_v, positive=True)
        _number(self.name, "frames.max_gap_s", self.frames.max_gap_s, positive=True)
        if self.task not in TASKS:
            raise FollowLineError(f"card {self.name}: task {self.task!r} is not one of "
                                  f"{', '.join(TASKS)}")
        if self.frames.mode not in FRAME_MODES:
            raise FollowLineError(f"card {self.name}: frames.mode {self.frames.mode!r} is not "
                                  f"one of {', '.join(FRAME_MODES)}")
        if self.frames.warm_up not in WARM_UPS:
            raise FollowLineError(f"card {self.name}: frames.warm_up {self.frames.warm_up!r} "
                                  f"is not one of {', '.join(WARM_UPS)}")
        if self.decode not in DECODINGS:
            raise FollowLineError(f"card {self.name}: decode {self.decode!r} is not one of "
                                  f"{', '.join(DECODINGS)}")
        if self.task == "regression":
            needed = {"w"} if self.constant_v is not None else {"v", "w"}
            for name in needed:
                spec = self.outputs.get(name)
                if not spec or "scale" not in spec:
                    raise FollowLineError(f"card {self.name}: regression output {name!r} needs "
                                          "a 'scale' (and optional 'offset')")
                _number(self.name, f"outputs.{name}.scale", spec["scale"], positive=True)
                _number(self.name, f"outputs.{name}.offset", spec.get("offset", 0.0))
        else:
            needed = {"w_class"} if self.constant_v is not None else {"w_class", "v_class"}
            for name in needed:
                spec = self.outputs.get(name)
                if not spec or not spec.get("values") or not isinstance(spec["values"], list):
                    raise FollowLineError(f"card {self.name}: classification output {name!r} "
                                          "needs its class 'values' (a list of numbers)")
                for k, value in enumerate(spec["values"]):
                    _number(self.name, f"outputs.{name}.values[{k}]", value)
        if self.task == "classification" and "v_class" not in self.outputs \
                and self.constant_v is None:
            raise FollowLineError(f"card {self.name}: a classifier without v classes needs "
                                  "'constant_v'")

    def unscale(self, name: str, value: ArrayOrFloat) -> ArrayOrFloat:
        """Regression output `name` (a float or an array) in m/s or rad/s: x scale + offset."""
        spec = self.outputs[name]
        return value * spec["scale"] + spec.get("offset", 0.0)

    def output_units(self, name: str) -> int:
        """Values per frame of output `name`: 1 for a regression, one per class otherwise."""
        spec = self.outputs[name]
        return len(spec["values"]) if "values" in spec else 1

    def expected_input_shape(self) -> tuple[int, ...]:
        """The network input shape (no batch axis) implied by preprocessing and frames."""
        h, w, c = self.preprocessing.frame_shape
        if self.frames.mode in ("stack", "stack_diff"):
            return (h, w, 2 * c)
        if self.frames.mode == "sequence":
            return (len(self.frames.offsets), h, w, c)
        return (h, w, c)

    def to_dict(self) -> dict:
        """JSON-ready card (a deep copy: editing it leaves the card alone)."""
        return copy.deepcopy({
            "version": self.version, "name": self.name, "network": self.network,
            "task": self.task, "world": self.world, "description": self.description,
            "preprocessing": self.preprocessing.to_dict(),
            "frames": {"mode": self.frames.mode, "offsets": list(self.frames.offsets),
                       "warm_up": self.frames.warm_up, "max_gap_s": self.frames.max_gap_s},
            "input_shape": list(self.input_shape), "outputs": self.outputs,
            "decode": self.decode, "constant_v": self.constant_v,
            "architecture": self.architecture, "layout": self.layout,
            "output_names": self.output_names,
            "training": self.training, "metrics": self.metrics,
        })

    @classmethod
    def from_dict(cls, data: dict, source: str = "card") -> ModelCard:
        """A card read back, with errors naming the file and field."""
        required = ("name", "network", "task", "preprocessing", "frames", "input_shape",
                    "outputs")
        missing = [k for k in required if k not in data]
        if missing:
            raise FollowLineError(f"{source}: missing field(s) {', '.join(missing)} "
                                  f"(required: {', '.join(required)})")
        if data.get("version", CARD_VERSION) != CARD_VERSION:
            raise FollowLineError(f"{source}: card version {data.get('version')} is not "
                                  f"supported (this follow_line reads version {CARD_VERSION})")
        try:
            frames = data["frames"]
            return cls(
                name=data["name"], network=data["network"], task=data["task"],
                preprocessing=Preprocessing.from_dict(data["preprocessing"]),
                frames=FrameSpec(mode=frames["mode"], offsets=tuple(frames["offsets"]),
                                 warm_up=frames.get("warm_up", "pad_first"),
                                 max_gap_s=frames.get("max_gap_s", 0.5)),
                input_shape=tuple(data["input_shape"]), outputs=data["outputs"],
                decode=data.get("decode", "argmax"), constant_v=data.get("constant_v"),
                description=data.get("description", ""),
                architecture=data.get("architecture", {}),
                layout=data.get("layout", "NHWC"), output_names=data.get("output_names", {}),
                training=data.get("training", {}),
                metrics=data.get("metrics", {}), world=data.get("world", CARD_WORLD),
            )
        except FollowLineError as exc:
            raise FollowLineError(f"{source}: {exc}") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise FollowLineError(f"{source}: malformed card ({type(exc).__name__}: {exc})") \
                from None

    def check_world(self, world: str | None) -> None:
        """Refuse to drive this network in another world than the one it was trained for."""
        here, trained = get_world(world), get_world(self.world)
        if here.name != trained.name:
            raise FollowLineError(
                f"network {self.name} was trained for the {trained.name} world (camera "
                f"{trained.camera.mount_height:g} m high), not {here.name} (camera "
                f"{here.camera.mount_height:g} m high): pass --world {trained.name}, or a "
                f"network trained for {here.name} (models/{here.models or ''})")

    def save(self, path: Path) -> None:
        """Write the card as JSON, atomically."""
        from follow_line.files import write_json_atomic

        write_json_atomic(path, self.to_dict())

    @classmethod
    def load(cls, path: Path) -> ModelCard:
        """Read a card file."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except OSError as exc:
            raise FollowLineError(f"cannot read model card {path}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise FollowLineError(f"{path}:{exc.lineno}: model card is not valid JSON "
                                  f"({exc.msg})") from None
        return cls.from_dict(data, source=str(path))
