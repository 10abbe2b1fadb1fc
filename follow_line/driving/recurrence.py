"""LSTM and ConvLSTM layers run step by step with their own weights, in Keras ops.

A step of an LSTM (or ConvLSTM) adds two terms before its gates: the input term
``W_x * x_t + b``, which depends on that step's input alone, and the recurrent term
``W_h * h_{t-1}``. :class:`InputTerm` computes the first for one input (a frame's features);
:class:`Unrolled` runs the layer over a sequence, either of inputs or of input terms already
computed (``cached``), unrolled into plain convolutions and matrix products (no loop op, so
every converter delegates them). The first step's state is zero, so its recurrent term is
left out (exactly zero). Gate order, activations and the carry update are Keras' own
(``LSTMCell``, ``ConvLSTMCell``); only the order of the additions differs, so outputs agree
within float rounding, not bit for bit.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers, ops

#: A backend tensor (or array) inside a Keras layer.
Tensor = Any

#: The recurrent layers these steps reproduce.
RECURRENT = (layers.LSTM, layers.ConvLSTM1D, layers.ConvLSTM2D, layers.ConvLSTM3D)


def unrollable(layer: keras.layers.Layer) -> bool:
    """Whether `layer` is an LSTM or ConvLSTM that :class:`Unrolled` reproduces exactly."""
    if not isinstance(layer, RECURRENT):
        return False
    cell = layer.cell
    return not (layer.go_backwards or layer.stateful or layer.return_state
                or getattr(cell, "data_format", "channels_last") != "channels_last")


def input_term(recurrent: keras.layers.Layer, x: Tensor) -> Tensor:
    """``W_x * x + b`` of `recurrent` for one step's input `x` (batch first)."""
    cell = recurrent.cell
    if isinstance(recurrent, layers.LSTM):
        z = ops.matmul(x, cell.kernel)
    else:
        z = ops.conv(x, cell.kernel, strides=cell.strides, padding=cell.padding,
                     data_format="channels_last", dilation_rate=cell.dilation_rate)
    return z + cell.bias if cell.use_bias else z


def _recurrent_term(recurrent: keras.layers.Layer, h: Tensor) -> Tensor:
    """``W_h * h`` of `recurrent` for the previous output `h`."""
    cell = recurrent.cell
    if isinstance(recurrent, layers.LSTM):
        return ops.matmul(h, cell.recurrent_kernel)
    return ops.conv(h, cell.recurrent_kernel, strides=1, padding="same",
                    data_format="channels_last")


class _Wrapper(keras.layers.Layer):
    """A layer computing with another (built) recurrent layer's weights."""

    def __init__(self, recurrent: keras.layers.Layer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.recurrent = recurrent

    def get_config(self) -> dict:
        return {**super().get_config(),
                "recurrent": keras.saving.serialize_keras_object(self.recurrent)}

    @classmethod
    def from_config(cls, config: dict) -> _Wrapper:
        config = dict(config)
        config["recurrent"] = keras.saving.deserialize_keras_object(config["recurrent"])
        return cls(**config)


@keras.saving.register_keras_serializable(package="follow_line")
class InputTerm(_Wrapper):
    """The input term of `recurrent` for one step's (batch-first) input."""

    def call(self, x: Tensor) -> Tensor:
        return input_term(self.recurrent, x)


@keras.saving.register_keras_serializable(package="follow_line")
class Unrolled(_Wrapper):
    """`recurrent` over a (batch, T, ...) sequence, step by step; `cached`: of input terms."""

    def __init__(self, recurrent: keras.layers.Layer, cached: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(recurrent, **kwargs)
        self.cached = cached

    def get_config(self) -> dict:
        return {**super().get_config(), "cached": self.cached}

    def call(self, x: Tensor) -> Tensor:
        cell = self.recurrent.cell
        steps = x.shape[1]
        if not self.cached:  # every step's input term in one call, steps folded into the batch
            terms = input_term(self.recurrent, ops.reshape(x, (-1, *x.shape[2:])))
            x = ops.reshape(terms, (-1, steps, *terms.shape[1:]))
        h = c = None
        outputs = []
        for t in range(steps):
            z = x[:, t]
            if h is not None:
                z = z + _recurrent_term(self.recurrent, h)
            gate_i, gate_f, gate_c, gate_o = ops.split(z, 4, axis=-1)
            i = cell.recurrent_activation(gate_i)
            candidate = i * cell.activation(gate_c)
            c = candidate if c is None else cell.recurrent_activation(gate_f) * c + candidate
            h = cell.recurrent_activation(gate_o) * cell.activation(c)
            outputs.append(h)
        return ops.stack(outputs, axis=1) if self.recurrent.return_sequences else h
