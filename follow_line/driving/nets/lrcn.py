"""LRCN: a per-frame CNN (TimeDistributed) read by an LSTM (seed 004, "Customer" model).

Layers as the seed's custom model: TimeDistributed Conv2D 64 3x3 relu, TimeDistributed
MaxPooling2D 2x2, TimeDistributed Conv2D 64 3x3 (no activation, as in the seed),
TimeDistributed GlobalAveragePooling2D, LSTM 256 (last state only), Dense 256 relu,
Dropout 0.5, Dense 64 relu, Dropout 0.5, then the heads. The seed classified 7-frame
224x224 clips; here the default is 5 frames of our small road image with v/w regression
heads, and ``outputs=("class",), num_classes=N`` gives back the seed's softmax head.

``pooling="flatten"`` replaces the global average pooling (which keeps what the frame
shows but not where: a line left of centre and one right of it give the same features) by
a 4x4 max pooling and a Flatten, the alternative seed 004 itself names.
``standardise=True`` first scales each frame to zero mean and unit variance (not in the
seed), so that a darker or paler world reaches the convolutions unchanged.

Parameter counts match the seed's summary for every conv and dense layer. The LSTM does
not: the seed used CuDNNLSTM, which has two bias vectors per gate,
4 * (256 * (64 + 256) + 2 * 256) = 329,728, where a Keras LSTM has one,
4 * (256 * (64 + 256) + 256) = 328,704.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from follow_line.driving.nets.common import (
    DEFAULT_TIMESTEPS,
    REGRESSION_OUTPUTS,
    FrameShape,
    check_positive,
    frame_shape,
    frames_input,
    regression_heads,
    standardised_frames,
)

#: Default per-frame input: the cropped road at 33x100 (the seed used 224x224 clips).
DEFAULT_INPUT: FrameShape = (33, 100, 3)

#: How each frame's feature map becomes a vector: the seed's global average, or flattened.
POOLINGS: tuple[str, ...] = ("gap", "flatten")

#: Name of the softmax head of the seed's clip classifier.
CLASS_OUTPUT = "class"


def build_lrcn(input_shape: Sequence[int] | None = None, *,
               timesteps: int = DEFAULT_TIMESTEPS,
               outputs: Sequence[str] = REGRESSION_OUTPUTS,
               num_classes: int | None = None, lstm_units: int = 256,
               pooling: str = "gap", standardise: bool = False,
               name: str = "lrcn") -> keras.Model:
    """LRCN on ``"frames"`` (T, H, W, C), default 5 x 33x100x3, oldest first.

    ``outputs`` is a subset of ("v", "w") (Dense(1) heads), or ``("class",)`` for a
    ``Dense(num_classes)`` softmax head named ``"class"`` as in the seed.
    """
    inputs = frames_input(timesteps, frame_shape(input_shape, DEFAULT_INPUT))
    x = standardised_frames(inputs) if standardise else inputs
    x = layers.TimeDistributed(layers.Conv2D(64, 3, activation="relu"), name="conv1")(x)
    x = layers.TimeDistributed(layers.MaxPooling2D(pool_size=2, strides=2), name="pool")(x)
    x = layers.TimeDistributed(layers.Conv2D(64, 3), name="conv2")(x)
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
    if pooling == "gap":
        x = layers.TimeDistributed(layers.GlobalAveragePooling2D(), name="gap")(x)
    else:
        x = layers.TimeDistributed(layers.MaxPooling2D(pool_size=4), name="pool2")(x)
        x = layers.TimeDistributed(layers.Flatten(), name="flatten")(x)
    x = layers.LSTM(check_positive("lstm_units", lstm_units), return_sequences=False,
                    name="lstm")(x)
    x = layers.Dense(256, activation="relu", name="fc1")(x)
    x = layers.Dropout(0.5, name="fc1_dropout")(x)
    x = layers.Dense(64, activation="relu", name="fc2")(x)
    x = layers.Dropout(0.5, name="fc2_dropout")(x)
    names = (outputs,) if isinstance(outputs, str) else tuple(outputs)
    if CLASS_OUTPUT not in names:
        return keras.Model(inputs, regression_heads(x, names), name=name)
    if names != (CLASS_OUTPUT,):
        raise ValueError(f"outputs must be ('class',) or a subset of {REGRESSION_OUTPUTS}, "
                         f"got {names!r}")
    if num_classes is None:
        raise ValueError("outputs=('class',) needs num_classes")
    head = layers.Dense(check_positive("num_classes", num_classes), activation="softmax",
                        name=CLASS_OUTPUT)(x)
    return keras.Model(inputs, [head], name=name)
