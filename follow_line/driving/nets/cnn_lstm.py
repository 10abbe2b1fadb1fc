"""The seed study's "Basic CNN+LSTM" (seed 000, week 23).

A SmallerVGGNet feature extractor (see :mod:`follow_line.driving.nets.classification`) whose
1024 dense features are reshaped to a sequence of 1024 scalars, read by two LSTM(10)
layers, then Dense 5 relu and the heads. It takes a single image: its "time" axis is the
feature vector, not frames. With ``outputs=("w",)`` at 39x53x3 it is the seed's network
exactly: 1,858,789 parameters (2,880 of them non-trainable).

``steps`` reads the same 1024 features as a shorter sequence of wider vectors: the seed's
1024 steps of one scalar (``steps=1024``) leave the LSTMs a 1024-step gradient path, which
did not learn to steer here; ``steps=32`` reads 32 steps of 32 features.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from follow_line.driving.nets.classification import smaller_vgg_features
from follow_line.driving.nets.common import (
    REGRESSION_OUTPUTS,
    FrameShape,
    frame_shape,
    image_input,
    regression_heads,
)

#: Default input: the seed's 39x53x3 image.
DEFAULT_INPUT: FrameShape = (39, 53, 3)

#: Units of the dense layer whose output the LSTMs read as a sequence.
FEATURES = 1024


def build_cnn_lstm(input_shape: Sequence[int] | None = None, *,
                   outputs: Sequence[str] = REGRESSION_OUTPUTS,
                   steps: int = FEATURES, name: str = "cnn_lstm") -> keras.Model:
    """Seed CNN+LSTM regression network on ``"image"`` (default 39x53x3)."""
    if steps < 1 or FEATURES % steps:
        raise ValueError(f"steps must divide {FEATURES}, got {steps!r}")
    inputs = image_input(frame_shape(input_shape, DEFAULT_INPUT))
    x = smaller_vgg_features(inputs, dense_units=FEATURES)
    x = layers.Reshape((steps, FEATURES // steps), name="to_sequence")(x)
    x = layers.LSTM(10, return_sequences=True, name="lstm1")(x)
    x = layers.Dropout(0.2, name="lstm1_dropout")(x)
    x = layers.LSTM(10, name="lstm2")(x)
    x = layers.Dropout(0.2, name="lstm2_dropout")(x)
    x = layers.Dense(5, activation="relu", name="fc_out")(x)
    return keras.Model(inputs, regression_heads(x, outputs), name=name)
