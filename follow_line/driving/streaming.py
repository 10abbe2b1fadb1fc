"""Streaming inference: a sequence network split, from its Keras graph, into two parts.

A sequence network reads a window of T frames. Its first layers may work on each frame
alone (TimeDistributed layers, inference-time identities such as Dropout, a per-frame
LayerNormalization): that *front end* needs computing once per frame, not T times per
window. If the next layer is an LSTM or ConvLSTM (:mod:`recurrence`), its input term
``W_x * x_t + b`` depends on the frame only too, so the front end computes it as well.
:func:`split` finds that point in the graph and returns

* ``front``: one frame (H, W, C) -> its features (or input term);
* ``temporal``: the window of T features -> the network's outputs, with every LSTM and
  ConvLSTM unrolled step by step (:class:`recurrence.Unrolled`).

The pilot keeps the front end's outputs in a second frame buffer (same offsets) and runs
``temporal`` on them each frame. A graph that does not allow it (no per-frame layer and no
recurrent layer first, a layer before the split read after it, shared layers) gives
``None``: the network then runs whole-window.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import keras
from keras import layers

from follow_line.driving.recurrence import InputTerm, Unrolled, unrollable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamSplit:
    """The two parts of a streamed sequence network and what the front end caches."""

    front: keras.Model
    temporal: keras.Model
    cached: str


def _per_frame(layer: keras.layers.Layer, rank: int) -> bool:
    """Whether `layer`, on a (batch, T, ...) input of `rank` axes, treats each frame alone."""
    if isinstance(layer, layers.TimeDistributed | layers.Dropout | layers.Activation
                  | layers.ReLU):
        return True
    if isinstance(layer, layers.LayerNormalization):
        axes = layer.axis if isinstance(layer.axis, list | tuple) else [layer.axis]
        return all(a % rank >= 2 for a in axes)
    return False


def _front_chain(model: keras.Model) -> tuple[list, Any]:
    """The per-frame layers from the input on, and the tensor they end on."""
    tensor = model.inputs[0]
    rank = len(tensor.shape)
    chain = []
    for layer in model.layers:
        if isinstance(layer, layers.InputLayer):
            continue
        if layer.input is not tensor or not _per_frame(layer, rank):
            break
        chain.append(layer)
        tensor = layer.output
    return chain, tensor


def _copy(model: keras.Model) -> keras.Model:
    """A fresh copy of `model` (same weights) whose layers the split may call again."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def split(model: keras.Model) -> StreamSplit | None:
    """The streaming split of the sequence network `model`, or None (see the module)."""
    if len(model.inputs) != 1 or len(model.inputs[0].shape) < 3:
        return None
    try:
        model = _copy(model)
        chain, tensor = _front_chain(model)
        after = [layer for layer in model.layers if layer not in chain
                 and not isinstance(layer, layers.InputLayer)]
        first = after[0] if after and after[0].input is tensor else None
        recurrent = first if first is not None and unrollable(first) else None
        if not chain and recurrent is None:
            return None
        front = _front(model, chain, recurrent)
        temporal = _temporal(model, after, tensor, recurrent, front.outputs[0].shape[1:])
    except Exception as exc:  # noqa: BLE001 (shared layers, odd wiring, layers clone refuses)
        log.info("%s does not stream (it runs whole-window): %s", model.name, exc)
        return None
    cached = (f"the input term of {recurrent.name}" if recurrent
              else f"the features {tuple(tensor.shape[2:])}")
    return StreamSplit(front, temporal, cached)


def _front(model: keras.Model, chain: list, recurrent: keras.layers.Layer | None) -> keras.Model:
    """One frame -> the chain's features or `recurrent`'s input term.

    TimeDistributed layers run their inner layer on the frame; the other per-frame layers
    (written for a sequence) see it as a sequence of one.
    """
    inputs = keras.Input(shape=tuple(model.inputs[0].shape[2:]), name="frame")
    x = inputs
    for layer in chain:
        if isinstance(layer, layers.TimeDistributed):
            x = layer.layer(x)
        else:
            x = layers.Reshape(tuple(x.shape[1:]))(layer(layers.Reshape((1, *x.shape[1:]))(x)))
    if recurrent:
        x = InputTerm(recurrent, name=f"{recurrent.name}_input_term")(x)
    return keras.Model(inputs, x, name=f"{model.name}_front")


def _temporal(model: keras.Model, after: list, tensor: Any,
              recurrent: keras.layers.Layer | None, feature_shape: tuple) -> keras.Model:
    """The window of T front-end outputs -> `model`'s outputs, recurrent layers unrolled."""
    steps = model.inputs[0].shape[1]
    inputs = keras.Input(shape=(steps, *feature_shape), name="features")
    values = {id(tensor): inputs}
    for layer in after:
        if recurrent is not None and layer is recurrent:
            op = Unrolled(layer, cached=True, name=f"{layer.name}_unrolled")
        elif unrollable(layer):
            op = Unrolled(layer, name=f"{layer.name}_unrolled")
        else:
            op = layer
        args = keras.tree.map_structure(lambda t: values[id(t)], layer.input)
        out = op(args)
        for old, new in zip(keras.tree.flatten(layer.output), keras.tree.flatten(out),
                            strict=True):
            values[id(old)] = new
    outputs = [values[id(t)] for t in model.outputs]
    return keras.Model(inputs, outputs, name=f"{model.name}_temporal")
