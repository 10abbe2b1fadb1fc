"""Pieces shared by the network builders: input shapes, inputs and output heads."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

FrameShape = tuple[int, int, int]

#: Regression output names, in the order the networks emit them.
REGRESSION_OUTPUTS: tuple[str, ...] = ("v", "w")


def frame_shape(input_shape: Sequence[int] | None, default: FrameShape) -> FrameShape:
    """Validated per-frame (height, width, channels); ``None`` gives ``default``."""
    if input_shape is None:
        return default
    shape = tuple(int(d) for d in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"input_shape must be a per-frame (height, width, channels) of "
                         f"positive sizes, got {tuple(input_shape)!r}")
    return shape


def check_positive(name: str, value: int) -> int:
    """``value`` as an int, or ValueError if it is not >= 1."""
    if int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def image_input(shape: FrameShape) -> keras.KerasTensor:
    """The single-image input, named ``"image"``: (height, width, channels)."""
    return keras.Input(shape=shape, name="image")


#: Default sequence length of the sequence networks (frames t-4 .. t), oldest first.
DEFAULT_TIMESTEPS = 5


def frames_input(timesteps: int, shape: FrameShape) -> keras.KerasTensor:
    """The frame-sequence input, named ``"frames"``: (T, height, width, channels), oldest first."""
    timesteps = check_positive("timesteps", timesteps)
    return keras.Input(shape=(timesteps, *shape), name="frames")


def standardised_frames(frames: keras.KerasTensor) -> keras.KerasTensor:
    """Each frame of (T, H, W, C) shifted and scaled to zero mean and unit variance.

    A darker, paler or lower-contrast world then gives the network the same numbers.
    """
    return layers.LayerNormalization(axis=(2, 3, 4), epsilon=1e-5, center=False,
                                     scale=False, name="standardise")(frames)


def check_regression_outputs(outputs: Sequence[str]) -> tuple[str, ...]:
    """``outputs`` as a tuple, or ValueError unless it is a non-empty subset of ("v", "w")."""
    names = (outputs,) if isinstance(outputs, str) else tuple(outputs)
    if (not names or len(set(names)) != len(names)
            or any(n not in REGRESSION_OUTPUTS for n in names)):
        raise ValueError(f"outputs must be a non-empty subset of {REGRESSION_OUTPUTS}, "
                         f"got {names!r}")
    return names


def regression_heads(x: keras.KerasTensor,
                     outputs: Sequence[str] = REGRESSION_OUTPUTS) -> list[keras.KerasTensor]:
    """One linear ``Dense(1)`` per name in ``outputs`` (``"v"``, ``"w"``), named after it.

    The targets are normalised outside the network, so there is no scaling layer here.
    ``outputs=("w",)`` is the seed's "constant v" variant: only w is predicted.
    """
    return [layers.Dense(1, name=name)(x) for name in check_regression_outputs(outputs)]
