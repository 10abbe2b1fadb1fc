"""TinyPilotNet and its recurrent variants, from the seed study's own code.

Source: Vanessa Fernandez, TFM 2018 (JdeRobot, RoboticsLabURJC/2017-tfm-vanessa-fernandez,
``Follow Line/dl-driver/Net/Keras/models/model_nvidia.py``):

* TinyPilotNet: BatchNormalization, Conv2D 8 3x3 stride 2 relu (x2), Dropout 0.5,
  Flatten, Dense 50 relu, Dense 10 relu, head. Its input there is a tiny image (16x32).
* LSTM-TinyPilotNet: Conv2D 8/16/32 3x3 stride 2 relu, ConvLSTM2D 40 3x3 "same",
  Conv2D 1 3x3 stride 2 relu, Flatten, head. Despite the name its recurrent layer is a
  ConvLSTM2D, not an LSTM.
* DeepestLSTM-TinyPilotNet: Conv2D 8 3x3 stride 2 relu (x3), Dropout 0.2, ConvLSTM2D
  16/16/12 3x3 "same", Flatten, Dense 100 relu, Dense 50 relu, head.

The seed reshaped each single image to a sequence of length 1, so its recurrent layers
never saw more than one frame. Here the convolutions run per frame (TimeDistributed) over
a real sequence ``"frames"`` (T, H, W, C), oldest first, and the last ConvLSTM2D returns
only its final state; ``timesteps=1`` gives back the seed's single-frame behaviour.
LSTM-TinyPilotNet's last convolution has the seed's one filter unless ``conv4_filters``
says more: one filter leaves the heads 33 features (a 3x11 map).
The seed trained one network per output (v or w); here one network has both heads.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from follow_line.driving.nets.common import (
    DEFAULT_TIMESTEPS,
    REGRESSION_OUTPUTS,
    FrameShape,
    frame_shape,
    frames_input,
    image_input,
    regression_heads,
)

#: TinyPilotNet default input: the 16x32 image of the original TinyPilotNet.
TINY_INPUT: FrameShape = (16, 32, 3)

#: Default per-frame input of the recurrent variants: PilotNet's 66x200. Their three
#: stride-2 convolutions bring it to a 7x24 grid for the ConvLSTM2D, close to the seed's
#: 7x19 (cropped 160-wide image); at 33x100 LSTM-TinyPilotNet would end on 5 features.
RECURRENT_INPUT: FrameShape = (66, 200, 3)


def build_tinypilotnet(input_shape: Sequence[int] | None = None, *,
                       outputs: Sequence[str] = REGRESSION_OUTPUTS,
                       name: str = "tinypilotnet") -> keras.Model:
    """Build the TinyPilotNet regression network on ``"image"`` (default 16x32x3)."""
    inputs = image_input(frame_shape(input_shape, TINY_INPUT))
    x = layers.BatchNormalization(epsilon=0.001, name="input_norm")(inputs)
    x = layers.Conv2D(8, 3, strides=2, activation="relu", name="conv1")(x)
    x = layers.Conv2D(8, 3, strides=2, activation="relu", name="conv2")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(50, activation="relu", name="fc1")(x)
    x = layers.Dense(10, activation="relu", name="fc2")(x)
    return keras.Model(inputs, regression_heads(x, outputs), name=name)


def _frame_convs(x: keras.KerasTensor, filters: Sequence[int]) -> keras.KerasTensor:
    """Conv2D 3x3 stride 2 relu per frame, one per entry of ``filters``."""
    for i, n in enumerate(filters, start=1):
        x = layers.TimeDistributed(layers.Conv2D(n, 3, strides=2, activation="relu"),
                                   name=f"conv{i}")(x)
    return x


def build_lstm_tinypilotnet(input_shape: Sequence[int] | None = None, *,
                            timesteps: int = DEFAULT_TIMESTEPS,
                            outputs: Sequence[str] = REGRESSION_OUTPUTS,
                            conv4_filters: int = 1,
                            name: str = "lstm_tinypilotnet") -> keras.Model:
    """LSTM-TinyPilotNet on ``"frames"`` (T, H, W, C), default 5 x 66x200x3, oldest first."""
    if not (isinstance(conv4_filters, int) and conv4_filters >= 1):
        raise ValueError(f"conv4_filters must be an integer >= 1, got {conv4_filters!r}")
    inputs = frames_input(timesteps, frame_shape(input_shape, RECURRENT_INPUT))
    x = _frame_convs(inputs, (8, 16, 32))
    x = layers.ConvLSTM2D(40, 3, padding="same", return_sequences=False, name="conv_lstm")(x)
    x = layers.Conv2D(conv4_filters, 3, strides=2, activation="relu", name="conv4")(x)
    x = layers.Flatten(name="flatten")(x)
    return keras.Model(inputs, regression_heads(x, outputs), name=name)


def build_deepest_lstm_tinypilotnet(input_shape: Sequence[int] | None = None, *,
                                    timesteps: int = DEFAULT_TIMESTEPS,
                                    outputs: Sequence[str] = REGRESSION_OUTPUTS,
                                    name: str = "deepest_lstm_tinypilotnet") -> keras.Model:
    """DeepestLSTM-TinyPilotNet on ``"frames"`` (T, H, W, C), default 5 x 66x200x3."""
    inputs = frames_input(timesteps, frame_shape(input_shape, RECURRENT_INPUT))
    x = _frame_convs(inputs, (8, 8, 8))
    x = layers.Dropout(0.2, name="dropout")(x)
    conv_lstm_filters = (16, 16, 12)
    for i, n in enumerate(conv_lstm_filters, start=1):
        x = layers.ConvLSTM2D(n, 3, padding="same",
                              return_sequences=i < len(conv_lstm_filters),
                              name=f"conv_lstm{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(100, activation="relu", name="fc1")(x)
    x = layers.Dense(50, activation="relu", name="fc2")(x)
    return keras.Model(inputs, regression_heads(x, outputs), name=name)
