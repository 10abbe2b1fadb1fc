"""PilotNet (NVIDIA, "End to End Learning for Self-Driving Cars", arXiv:1604.07316).

As used in the seed study (Vanessa Fernandez, TFM 2018, JdeRobot): BatchNormalization on
the input, five convolutions, four fully connected layers, then the v and w heads. The
stacked variants are the same network on two frames concatenated on the channel axis
(frame t with frame t-10, or frame t with the difference t - (t-10)); the stacking is
done outside, by the frame buffer, so here it is only a wider input (``stack=2``).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from follow_line.driving.nets.common import (
    REGRESSION_OUTPUTS,
    FrameShape,
    check_positive,
    frame_shape,
    image_input,
    regression_heads,
)

#: Default per-frame input: the NVIDIA paper's 66x200 YUV/RGB image.
DEFAULT_INPUT: FrameShape = (66, 200, 3)

#: (filters, kernel, stride) of the five convolutions.
CONV_LAYERS: tuple[tuple[int, int, int], ...] = (
    (24, 5, 2), (36, 5, 2), (48, 5, 2), (64, 3, 1), (64, 3, 1))

#: Units of the fully connected layers before the heads.
DENSE_UNITS: tuple[int, ...] = (1164, 100, 50, 10)


def build_pilotnet(input_shape: Sequence[int] | None = None, *, stack: int = 1,
                   outputs: Sequence[str] = REGRESSION_OUTPUTS,
                   name: str = "pilotnet") -> keras.Model:
    """Build the PilotNet regression network.

    ``input_shape`` is one frame (H, W, C), default 66x200x3; the network input
    ``"image"`` is (H, W, stack * C): ``stack=2`` gives the stacked variants.
    ``outputs`` names the Dense(1) heads, ("v", "w") by default.
    """
    height, width, channels = frame_shape(input_shape, DEFAULT_INPUT)
    stack = check_positive("stack", stack)
    inputs = image_input((height, width, channels * stack))
    x = layers.BatchNormalization(epsilon=0.001, name="input_norm")(inputs)
    for i, (filters, kernel, stride) in enumerate(CONV_LAYERS, start=1):
        x = layers.Conv2D(filters, kernel, strides=stride, activation="relu",
                          name=f"conv{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    for i, units in enumerate(DENSE_UNITS, start=1):
        x = layers.Dense(units, activation="relu", name=f"fc{i}")(x)
    return keras.Model(inputs, regression_heads(x, outputs), name=name)
