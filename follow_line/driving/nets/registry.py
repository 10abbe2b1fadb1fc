"""Registry of the network builders, by name (donkeycar style).

Every network is described by a :class:`NetworkInfo`: its task, how the frames are fed,
its default per-frame input, the frame offsets it needs, its output names and a builder.
The pilot, the trainer and the model cards read these; no network constant lives
elsewhere.

Input contract: "single", "stack" and "stack_diff" networks take one input ``"image"``
of shape (H, W, C) for "single" and (H, W, 2C) for the stacks (built outside by the frame
buffer). "sequence" networks take ``"frames"`` of shape (T, H, W, C), T = len(offsets),
ordered OLDEST FIRST (``offsets`` lists them newest first). Output contract: regression
networks emit Dense(1) heads ``"v"`` then ``"w"`` on normalised targets; classifiers emit
softmax heads ``"w_class"`` (7) and, with variable v, ``"v_class"`` (4).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass

import keras

from follow_line.driving.nets import (
    classification,
    cnn_lstm,
    convlstm,
    lrcn,
    pilotnet,
    tinypilotnet,
)
from follow_line.driving.nets.common import DEFAULT_TIMESTEPS, FrameShape
from follow_line.errors import FollowLineError

#: Tasks and frame-feeding modes a network can declare.
TASKS: tuple[str, ...] = ("regression", "classification")
FRAME_MODES: tuple[str, ...] = ("single", "stack", "stack_diff", "sequence")

#: Offsets of the stacked networks: frame t and frame t-10 (seed 000).
STACK_OFFSETS: tuple[int, ...] = (0, -10)

#: Offsets of the sequence networks: the last five frames, newest first.
SEQUENCE_OFFSETS: tuple[int, ...] = tuple(-k for k in range(DEFAULT_TIMESTEPS))


@dataclass(frozen=True)
class NetworkInfo:
    """What the rest of the system needs to know about one registered network."""

    name: str
    task: str
    frames: str
    input_shape: FrameShape
    offsets: tuple[int, ...]
    outputs: tuple[str, ...]
    description: str
    build: Callable[..., keras.Model]

    @property
    def input_name(self) -> str:
        """Name of the network's input: ``"frames"`` for sequences, else ``"image"``."""
        return "frames" if self.frames == "sequence" else "image"

    def model_input_shape(self, input_shape: FrameShape | None = None) -> tuple[int, ...]:
        """Shape of the network input (no batch axis) for a per-frame (H, W, C) shape."""
        height, width, channels = self.input_shape if input_shape is None else input_shape
        if self.frames == "sequence":
            return (len(self.offsets), height, width, channels)
        if self.frames in ("stack", "stack_diff"):
            return (height, width, channels * len(self.offsets))
        return (height, width, channels)


def _sequence_builder(builder: Callable[..., keras.Model],
                      name: str) -> Callable[..., keras.Model]:
    """``builder`` with the registry name and as many timesteps as sequence offsets."""
    return functools.partial(builder, timesteps=len(SEQUENCE_OFFSETS), name=name)


_REGRESSION = ("v", "w")

_INFOS: tuple[NetworkInfo, ...] = (
    NetworkInfo(
        "pilotnet", "regression", "single", pilotnet.DEFAULT_INPUT, (0,), _REGRESSION,
        "PilotNet (NVIDIA): BN, conv 24/36/48 5x5 s2 + 64/64 3x3, FC 1164/100/50/10; "
        "66x200x3 image.",
        functools.partial(pilotnet.build_pilotnet, name="pilotnet")),
    NetworkInfo(
        "tinypilotnet", "regression", "single", tinypilotnet.TINY_INPUT, (0,), _REGRESSION,
        "TinyPilotNet (seed TFM): BN, conv 8/8 3x3 s2, dropout 0.5, FC 50/10; 16x32x3 image.",
        functools.partial(tinypilotnet.build_tinypilotnet, name="tinypilotnet")),
    NetworkInfo(
        "pilotnet_stacked", "regression", "stack", pilotnet.DEFAULT_INPUT, STACK_OFFSETS,
        _REGRESSION,
        "PilotNet on frames t and t-10 stacked on the channel axis; 66x200x6 input.",
        functools.partial(pilotnet.build_pilotnet, stack=2, name="pilotnet_stacked")),
    NetworkInfo(
        "pilotnet_stacked_diff", "regression", "stack_diff", pilotnet.DEFAULT_INPUT,
        STACK_OFFSETS, _REGRESSION,
        "PilotNet on frame t stacked with the difference t - (t-10); 66x200x6 input.",
        functools.partial(pilotnet.build_pilotnet, stack=2, name="pilotnet_stacked_diff")),
    NetworkInfo(
        "lstm_tinypilotnet", "regression", "sequence", tinypilotnet.RECURRENT_INPUT,
        SEQUENCE_OFFSETS, _REGRESSION,
        "LSTM-TinyPilotNet (seed TFM): per-frame conv 8/16/32 3x3 s2, ConvLSTM2D 40 3x3, "
        "conv 1 3x3 s2; 5 frames of 66x200x3, oldest first.",
        _sequence_builder(tinypilotnet.build_lstm_tinypilotnet, "lstm_tinypilotnet")),
    NetworkInfo(
        "deepest_lstm_tinypilotnet", "regression", "sequence", tinypilotnet.RECURRENT_INPUT,
        SEQUENCE_OFFSETS, _REGRESSION,
        "DeepestLSTM-TinyPilotNet (seed TFM): per-frame conv 8/8/8 3x3 s2, dropout 0.2, "
        "ConvLSTM2D 16/16/12 3x3, FC 100/50; 5 frames of 66x200x3, oldest first.",
        _sequence_builder(tinypilotnet.build_deepest_lstm_tinypilotnet,
                          "deepest_lstm_tinypilotnet")),
    NetworkInfo(
        "classification_7w_1v", "classification", "single", classification.DEFAULT_INPUT,
        (0,), ("w_class",),
        "SmallerVGGNet classifier (seed TFM): w in 7 classes, v constant (given by the "
        "card); 33x100x3 image.",
        functools.partial(classification.build_classification, v_head=False,
                          name="classification_7w_1v")),
    NetworkInfo(
        "classification_7w_4v", "classification", "single", classification.DEFAULT_INPUT,
        (0,), ("w_class", "v_class"),
        "SmallerVGGNet classifier (seed TFM): w in 7 classes and v in 4 classes; "
        "33x100x3 image.",
        functools.partial(classification.build_classification, v_head=True,
                          name="classification_7w_4v")),
    NetworkInfo(
        "cnn_lstm", "regression", "single", cnn_lstm.DEFAULT_INPUT, (0,), _REGRESSION,
        "Seed basic CNN+LSTM: SmallerVGGNet features, 1024 dense features read as a "
        "sequence by LSTM 10 + LSTM 10, FC 5; 39x53x3 image (1,858,789 params with w only).",
        functools.partial(cnn_lstm.build_cnn_lstm, name="cnn_lstm")),
    NetworkInfo(
        "lrcn", "regression", "sequence", lrcn.DEFAULT_INPUT, SEQUENCE_OFFSETS, _REGRESSION,
        "LRCN (seed 004 custom): per-frame conv 64 3x3, maxpool, conv 64 3x3, global "
        "average pool, LSTM 256, FC 256/64 + dropout 0.5; 5 frames of 33x100x3, oldest first.",
        _sequence_builder(lrcn.build_lrcn, "lrcn")),
    NetworkInfo(
        "convlstm", "regression", "sequence", convlstm.DEFAULT_INPUT, SEQUENCE_OFFSETS,
        _REGRESSION,
        "ConvLSTM2D stack (seeds 002/003): per-frame conv 24/36 5x5 s2 stem, 3 x "
        "[ConvLSTM2D 40 3x3 + BN], FC 50/10; 5 frames of 33x100x3, oldest first.",
        _sequence_builder(convlstm.build_convlstm, "convlstm")),
)

#: All registered networks by name, in the order of the design's model-zoo table.
NETWORKS: dict[str, NetworkInfo] = {info.name: info for info in _INFOS}


def known_networks() -> list[str]:
    """Names of all registered networks, in registry order."""
    return list(NETWORKS)


def network_info(name: str) -> NetworkInfo:
    """The :class:`NetworkInfo` of ``name``; an error naming all known networks if unknown."""
    try:
        return NETWORKS[name]
    except (KeyError, TypeError):
        raise FollowLineError(f"unknown network {name!r}; known: "
                              f"{', '.join(known_networks())}") from None


def build_network(name: str, input_shape: FrameShape | None = None,
                  **options: object) -> keras.Model:
    """Build network ``name`` for a per-frame (H, W, C) ``input_shape`` (None: its default).

    ``options`` go to the family's builder (e.g. ``outputs=("w",)``, ``timesteps=...``);
    an unknown option or value is an error naming the builder's options.
    """
    info = network_info(name)
    allowed = [p for p in inspect.signature(info.build).parameters
               if p not in ("input_shape", "name")]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise FollowLineError(f"network {name} has no option {', '.join(unknown)}; "
                              f"options: {', '.join(allowed)}")
    try:
        return info.build(input_shape, **options)
    except ValueError as exc:
        raise FollowLineError(f"network {name}: {exc}") from None
