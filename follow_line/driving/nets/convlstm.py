"""ConvLSTM2D sequence network (seeds 001-003).

Seeds 002/003 (the Keras "next-frame prediction" example) stack ConvLSTM2D(40 filters,
3x3, "same", return_sequences) + BatchNormalization four times and finish with a Conv3D
that predicts the next frame. Here the stack reads our frame sequence and a small dense
head predicts v and w: the last ConvLSTM2D returns only its final state, which is
flattened and fed to Dense 50 relu, Dense 10 relu and the heads (TinyPilotNet's head).

ConvLSTM2D is costly: every step convolves the input and the state for four gates, about
115k multiply-adds per pixel per 40-filter layer. To keep inference cheap each frame is
first shrunk by a per-frame stem, PilotNet's first two convolutions (Conv2D 24 and 36,
5x5, stride 2, relu; 33x100 -> 6x22), so the ConvLSTM2D stack runs on 132 positions
instead of 3,300. ``stem_filters=()`` removes the stem (the seeds' stack on raw frames).

The stack trains on few steps (every eighth frame: ~25 batches an epoch), too few for the
BatchNormalization moving averages at Keras' default momentum 0.99 to leave their start
(0.99^75 = 0.47 of the initial variance 1 remained after 75 steps, and the network did not
drive). The normalisations here use momentum 0.9 (``norm_momentum``).
``standardise=True`` first scales each frame to zero mean and unit variance (not in the
seeds), so that a darker or paler world reaches the stem unchanged.
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

#: Default per-frame input: the cropped road at 33x100, as LRCN and the classifiers.
DEFAULT_INPUT: FrameShape = (33, 100, 3)

#: Filters of the per-frame stem convolutions (5x5, stride 2, relu): PilotNet's first two.
STEM_FILTERS: tuple[int, ...] = (24, 36)


def build_convlstm(input_shape: Sequence[int] | None = None, *,
                   timesteps: int = DEFAULT_TIMESTEPS, filters: int = 40,
                   conv_lstm_layers: int = 3,
                   stem_filters: Sequence[int] = STEM_FILTERS,
                   norm_momentum: float = 0.9, standardise: bool = False,
                   outputs: Sequence[str] = REGRESSION_OUTPUTS,
                   name: str = "convlstm") -> keras.Model:
    """ConvLSTM2D stack on ``"frames"`` (T, H, W, C), default 5 x 33x100x3, oldest first.

    Per-frame stem (``stem_filters``, 5x5 stride 2 relu convs), then ``conv_lstm_layers``
    x [ConvLSTM2D(``filters``, 3x3, "same") + BatchNormalization], the last returning
    only its final state, then Flatten, Dense 50 relu, Dense 10 relu and the heads.
    """
    inputs = frames_input(timesteps, frame_shape(input_shape, DEFAULT_INPUT))
    filters = check_positive("filters", filters)
    count = check_positive("conv_lstm_layers", conv_lstm_layers)
    x = standardised_frames(inputs) if standardise else inputs
    for i, n in enumerate(stem_filters, start=1):
        x = layers.TimeDistributed(
            layers.Conv2D(check_positive("stem_filters", n), 5, strides=2, activation="relu"),
            name=f"stem{i}")(x)
    for i in range(1, count + 1):
        x = layers.ConvLSTM2D(filters, 3, padding="same", return_sequences=i < count,
                              name=f"conv_lstm{i}")(x)
        x = layers.BatchNormalization(momentum=norm_momentum, name=f"conv_lstm{i}_norm")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(50, activation="relu", name="fc1")(x)
    x = layers.Dense(10, activation="relu", name="fc2")(x)
    return keras.Model(inputs, regression_heads(x, outputs), name=name)
