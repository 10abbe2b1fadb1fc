"""The pilot: camera frames -> (v, w) with a network, everything taken from its model card."""

from __future__ import annotations

import functools
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from follow_line.driving.card import ModelCard
from follow_line.driving.frames import FrameBuffer
from follow_line.driving.inference import Predictor, make_predictor
from follow_line.driving.onnx_runtime import onnx_predictor
from follow_line.errors import FollowLineError
from follow_line.world.kinematics import V_LIMITS, W_LIMITS

if TYPE_CHECKING:
    import keras

log = logging.getLogger(__name__)


def check_model_matches_card(model: keras.Model, card: ModelCard) -> None:
    """Refuse weights whose input shape or outputs differ from what the card says."""
    shape = tuple(model.inputs[0].shape[1:])
    expected = card.expected_input_shape()
    if tuple(card.input_shape) != expected:
        raise FollowLineError(f"card {card.name}: input_shape {tuple(card.input_shape)} does "
                              f"not match its preprocessing and frames ({expected})")
    if shape != expected:
        raise FollowLineError(f"model {card.name}: the weights take input {shape} but the card "
                              f"says {expected}")
    names = list(model.output_names)
    if sorted(names) != sorted(card.outputs):
        raise FollowLineError(f"model {card.name}: the weights have outputs {names} but the "
                              f"card decodes {sorted(card.outputs)}")
    for out, name in zip(model.outputs, names, strict=True):
        units = out.shape[-1]
        want = card.output_units(name)
        if units != want:
            raise FollowLineError(f"model {card.name}: output {name!r} has {units} units but "
                                  f"the card expects {want}")


class Pilot:
    """A network that drives: preprocessing, frame buffer, compiled predictor, decoding.

    A sequence network whose graph splits (:mod:`streaming`) streams: each frame runs its
    front end once, the features go into a second frame buffer with the frames' offsets,
    and the temporal part runs on them. Anything else (and `streaming=False`) runs the whole
    window every frame through `predict`.
    """

    def __init__(self, card: ModelCard, model: keras.Model | Path | str, backend: str = "auto",
                 device: str = "auto", threads: int | None = None, streaming: bool = True):
        """`model`: a Keras model, or the path of an ONNX model (run by ONNX Runtime)."""
        self.card = card
        self.name = card.name
        self.buffer = FrameBuffer(card.frames.mode, card.frames.offsets, card.frames.max_gap_s)
        self.features: FrameBuffer | None = None
        if isinstance(model, str | Path):
            if backend not in ("auto", "onnxruntime") or device == "gpu":
                raise FollowLineError(f"{model} is an ONNX model: it runs on backend "
                                      f"'onnxruntime' (or 'auto') on the CPU, not {backend!r} "
                                      f"on {device!r}")
            self.predict, self.output_names = onnx_predictor(Path(model), card, threads)
            self.backend = "onnxruntime"
        else:
            check_model_matches_card(model, card)
            self.output_names = list(model.output_names)
            parts = None
            if streaming and card.frames.mode == "sequence":
                from follow_line.driving.streaming import split  # imports Keras

                parts = split(model)
            if parts is None:
                self.predict, self.backend = make_predictor(model, backend, device, threads)
            else:
                self._whole = functools.partial(make_predictor, model, backend, device, threads)
                self.front, front = make_predictor(parts.front, backend, device, threads)
                self.temporal, temporal = make_predictor(parts.temporal, backend, device,
                                                         threads)
                self.backend = front if front == temporal else f"{front}+{temporal}"
                self.features = FrameBuffer("sequence", card.frames.offsets,
                                            card.frames.max_gap_s)
                log.info("%s streams: the front end caches %s (%s)", self.name, parts.cached,
                         self.backend)
        self.faults = 0
        self.weights: str | None = None  # the weights file's digest, once loaded from one

    @property
    def streaming(self) -> bool:
        """Whether each frame runs only its front end plus the temporal part."""
        return self.features is not None

    @functools.cached_property
    def predict(self) -> Predictor:
        """The whole-window predictor (built on first use where the network streams)."""
        return self._whole()[0]

    def reset(self) -> None:
        """Forget the frames and the fault count of the previous run."""
        self.buffer.reset()
        if self.features is not None:
            self.features.reset()
        self.faults = 0

    def network_input(self, image: np.ndarray, t: float) -> np.ndarray:
        """Preprocess `image`, push it into the frame buffer and return the batch of one."""
        self.buffer.push(self.card.preprocessing.apply(image), t)
        return self.buffer.network_input()[None]

    def infer(self, frame: np.ndarray, t: float) -> list[np.ndarray]:
        """The network's outputs for the preprocessed `frame` taken at time `t`.

        Streamed: the frame's front end is pushed into the features buffer (which pads,
        resets and strides exactly as the frame buffer does) and the temporal part reads
        the window of features; otherwise the whole window of frames is predicted.
        """
        if self.features is None:
            self.buffer.push(frame, t)
            return self.predict(self.buffer.network_input()[None])
        self.features.push(self.front(frame[None])[0][0], t)
        return self.temporal(self.features.network_input()[None])

    def __call__(self, image: np.ndarray, t: float) -> tuple[float, float]:
        """(v, w) for the camera image taken at time `t`; (0, 0) if the network fails."""
        outputs = self.infer(self.card.preprocessing.apply(image), t)
        return self.decode(dict(zip(self.output_names, outputs, strict=True)))

    def decode(self, outputs: dict[str, np.ndarray]) -> tuple[float, float]:
        """Network outputs -> clamped (v, w); a non-finite output gives the stop command."""
        card = self.card
        if card.task == "regression":
            w = card.unscale("w", _first(outputs["w"]))
            v = card.constant_v if card.constant_v is not None \
                else card.unscale("v", _first(outputs["v"]))
        else:
            w = self._class_value(outputs["w_class"], card.outputs["w_class"]["values"])
            v = card.constant_v if card.constant_v is not None \
                else self._class_value(outputs["v_class"], card.outputs["v_class"]["values"])
        if not (math.isfinite(v) and math.isfinite(w)):
            self.faults += 1
            log.error("%s produced a non-finite command (v=%s, w=%s): stopping the car",
                      self.name, v, w)
            return 0.0, 0.0
        return (min(max(v, V_LIMITS[0]), V_LIMITS[1]), min(max(w, W_LIMITS[0]), W_LIMITS[1]))

    def _class_value(self, probabilities: np.ndarray, values: list[float]) -> float:
        p = np.asarray(probabilities, dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(p)):
            return math.nan
        if self.card.decode == "expectation":
            return float(p @ np.asarray(values) / max(p.sum(), 1e-12))
        return float(values[int(np.argmax(p))])


def _first(value: np.ndarray) -> float:
    return float(np.asarray(value).reshape(-1)[0])
