"""Trained networks out as ONNX: float32, float16 or int8 (calibrated on dataset frames).

`export_network` writes OUT/NAME[_fp16|_int8].onnx and its card, checks the ONNX outputs
against the Keras model's on frames of a dataset (float32 must agree within
`FP32_TOLERANCE`, int8 within its task's `INT8_TOLERANCE` on frames it was not calibrated
on), and keeps in the card (`training.export`) the format, the source weights, the largest
output difference and the offline v/w MAE of both against the dataset's labels. Quantised
models are judged by driving them (`bench`), not only by these numbers.

`quantize_int8(onnx_model, calibration)` is the int8 form that is fast on ONNX Runtime's
CPU kernels (docs/deployment.md): uint8 activations and per-channel int8 weights in QDQ
form (fused by ONNX Runtime into QLinearConv / QGemm), a batch of one, and a
BatchNormalization on the input folded into the convolution after it beforehand
(`fold_input_normalisation`), since a quantised per-channel affine on the raw image costs
more than the whole rest of the network.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
from tqdm import tqdm

from follow_line.driving.frames import FrameBuffer
from follow_line.driving.onnx_runtime import (
    INSTALL,
    OPSET,
    QUANTIZATIONS,
    keras_to_onnx,
    onnx_predictor,
)
from follow_line.driving.pilot import Pilot
from follow_line.driving.zoo import load_model, weights_digest
from follow_line.errors import FollowLineError
from follow_line.files import write_text_atomic
from follow_line.learning.data import load_episodes
from follow_line.logs import native_stderr_silenced

FP32_TOLERANCE = 1e-4  # largest |ONNX - Keras| of a float32 export, in network units
#: Largest |int8 - Keras| on frames not calibrated on, per task: network units (v/13 m/s,
#: w/3 rad/s) of a regression, probabilities of a classifier.
INT8_TOLERANCE = {"regression": 0.15, "classification": 0.25}
CHECK_FRAMES = 200  # network inputs sampled from the dataset for the checks and calibration


def export_network(name: str, out: Path, data: Path, quantize: str | None = None,
                   progress: bool = True) -> Path:
    """Export a trained network (shipped name or .keras path) to ONNX; returns the file."""
    if quantize not in (None, *QUANTIZATIONS):
        raise FollowLineError(f"unknown quantization {quantize!r}; known: "
                              f"{', '.join(QUANTIZATIONS)}")
    import importlib.util

    missing = [m for m in ("onnx", "onnxruntime", "tf2onnx") if not importlib.util.find_spec(m)]
    if missing:
        raise FollowLineError(f"export needs {', '.join(missing)}: {INSTALL}")
    model, card = load_model(name)
    target = Path(out) / f"{card.name}{f'_{quantize}' if quantize else ''}"
    check_replaceable(target)
    inputs, labels = sample_inputs(data, card, progress)
    calibration = inputs[::2] if quantize == "int8" else inputs[:0]
    if quantize == "int8":  # calibrated on every other input, checked on the others
        if len(inputs) < 2:
            raise FollowLineError(f"{data} holds one frame: int8 needs two, one to calibrate "
                                  "and one to check")
        onnx_model = quantize_int8(keras_to_onnx(fold_input_normalisation(model)), calibration)
        inputs, labels = inputs[1::2], labels[1::2]
    else:
        onnx_model = keras_to_onnx(model)
    if quantize == "fp16":
        onnx_model = _to_fp16(onnx_model)
    exported = replace(card, name=card.name + (f"_{quantize}" if quantize else ""))
    predict, names = onnx_predictor(onnx_model, exported)
    keras_pilot = Pilot(card, model, backend="keras")
    reference = [keras_pilot.predict(x[None]) for x in inputs]
    got = [predict(x[None]) for x in inputs]
    diff = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
               for ref, out_ in zip(reference, got, strict=True)
               for a, b in zip(ref, out_, strict=True))
    tolerance = {None: FP32_TOLERANCE, "int8": INT8_TOLERANCE[card.task]}.get(quantize)
    if tolerance is not None and diff > tolerance:
        raise FollowLineError(f"the {quantize or 'float32'} ONNX export of {card.name} differs "
                              f"from the Keras model by {diff:.2g} (more than {tolerance:g}): "
                              "not written")
    exported.training = {**card.training, "export": {
        "format": "onnx", "opset": OPSET, "quantize": quantize or "none",
        "from": {"name": card.name, "weights": weights_digest(name)},
        "checked_on": {"dataset": str(data), "inputs": len(inputs),
                       "calibrated_on_other_inputs": len(calibration)},
        "max_abs_diff": diff,
        "mae": {"keras": _mae(keras_pilot, reference, labels, names),
                "onnx": _mae(keras_pilot, got, labels, names)}}}
    path = target.with_suffix(".onnx")
    write_text_atomic(path, onnx_model)
    exported.save(target.with_suffix(".json"))
    return path


def check_replaceable(target: Path) -> None:
    """Refuse to replace TARGET.onnx or TARGET.json unless an earlier export wrote them.

    An export's card records it (`training.export`); a user's own model and card (made with
    `follow-line card`, or by hand) are never replaced.
    """
    onnx_file, card_file = target.with_suffix(".onnx"), target.with_suffix(".json")
    if not (onnx_file.exists() or card_file.exists()):
        return
    try:
        written_by_export = "export" in json.loads(card_file.read_text())["training"]
    except (OSError, ValueError, KeyError, TypeError):
        written_by_export = False
    if not written_by_export:
        raise FollowLineError(f"{onnx_file} or {card_file} exists and was not written by "
                              "`follow-line export` (its card records no export): not "
                              "replaced; choose another --out folder")


def sample_inputs(data: Path, card, progress: bool = True
                  ) -> tuple[np.ndarray, np.ndarray]:
    """About CHECK_FRAMES network inputs of a dataset and their (v, w) labels.

    The inputs come through the frame buffer, as when driving.
    """
    episodes = load_episodes(data, card.preprocessing, progress=progress)
    total = sum(len(e) for e in episodes)
    step = max(1, total // CHECK_FRAMES)
    inputs, labels = [], []
    count = 0
    for episode in tqdm(episodes, desc="inputs", disable=not progress):
        buffer = FrameBuffer(card.frames.mode, card.frames.offsets, card.frames.max_gap_s)
        for k in range(len(episode)):
            buffer.push(episode.frames[k], float(episode.t[k]))
            if count % step == 0:
                inputs.append(buffer.network_input().copy())  # a view of the ring
                labels.append((episode.v[k], episode.w[k]))
            count += 1
    if not inputs:
        raise FollowLineError(f"{data} holds no frames to check the export on")
    return np.stack(inputs).astype(np.float32), np.asarray(labels, dtype=np.float64)


def _mae(pilot: Pilot, outputs: list, labels: np.ndarray, names: list[str]) -> dict:
    """Offline mean absolute error of the decoded (v, w) against the labels."""
    commands = np.array([pilot.decode(dict(zip(names, out, strict=True))) for out in outputs])
    error = np.abs(commands - labels).mean(axis=0)
    return {"v": round(float(error[0]), 4), "w": round(float(error[1]), 4)}


def _to_fp16(onnx_model: bytes) -> bytes:
    """Weights and arithmetic in float16; the input and outputs stay float32."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    converted = convert_float_to_float16(onnx.load_from_string(onnx_model), keep_io_types=True)
    return converted.SerializeToString()


class _Folded(keras.layers.Layer):
    """Where a folded BatchNormalization was: passes its input through."""

    def call(self, inputs, mask=None, training=None):
        return inputs


def _input_norms(model) -> dict[str, str]:
    """BatchNormalization layers on a model input read only by a "valid" Conv2D: BN -> conv.

    Only there is folding exact (a "same" convolution would pad the normalised image with
    zeros, not the raw one).
    """
    pairs = {}
    for conv in model.layers:
        if not isinstance(conv, keras.layers.Conv2D) or conv.padding != "valid":
            continue
        norm = conv.input._keras_history.operation
        if (isinstance(norm, keras.layers.BatchNormalization) and norm.axis in (-1, 3)
                and len(norm._outbound_nodes) == 1
                and isinstance(norm.input._keras_history.operation, keras.layers.InputLayer)):
            pairs[norm.name] = conv.name
    return pairs


def fold_input_normalisation(model):
    """`model` with each BatchNormalization on its input folded into the Conv2D after it.

    The same function (to float rounding): conv(a * x + b) = conv'(x) with the kernel
    scaled by a per input channel and b carried into the bias. A model without such a
    layer is returned as it is.
    """
    pairs = _input_norms(model)
    if not pairs:
        return model
    folded = keras.models.clone_model(
        model, clone_function=lambda layer: _Folded(name=layer.name) if layer.name in pairs
        else layer.__class__.from_config(layer.get_config()))
    for layer in model.layers:
        if layer.weights and layer.name not in pairs:
            folded.get_layer(layer.name).set_weights(layer.get_weights())
    for norm_name, conv_name in pairs.items():
        norm, conv = model.get_layer(norm_name), model.get_layer(conv_name)
        gamma, beta, mean, variance = (np.asarray(w) for w in norm.get_weights())
        scale = gamma / np.sqrt(variance + norm.epsilon)
        kernel, *bias = conv.get_weights()
        shift = np.einsum("hwio,i->o", kernel, beta - mean * scale)
        weights = [kernel * scale[None, None, :, None]]
        if bias:
            weights.append(bias[0] + shift)
        elif np.any(shift):
            raise FollowLineError(f"cannot fold {norm_name} into {conv_name}: it has no bias")
        folded.get_layer(conv_name).set_weights(weights)
    return folded


def quantize_int8(onnx_model: bytes, calibration: np.ndarray) -> bytes:
    """Static int8 quantisation of an ONNX model, calibrated on the network inputs given.

    `calibration` holds network inputs (N, ...), as the frame buffer makes them. Output:
    QDQ form with uint8 activations and per-channel symmetric int8 weights, batch of one,
    the form ONNX Runtime fuses into QLinearConv / QGemm on x86 (docs/deployment.md).
    """
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    graph = onnx.load_from_string(onnx_model)
    for value in (*graph.graph.input, *graph.graph.output):  # shapes then fold to constants
        value.type.tensor_type.shape.dim[0].dim_value = 1
    feed = graph.graph.input[0].name

    class Frames(CalibrationDataReader):
        def __init__(self):
            self.batches = iter(np.asarray(calibration, dtype=np.float32)[:, None])

        def get_next(self):
            batch = next(self.batches, None)
            return None if batch is None else {feed: batch}

    with tempfile.TemporaryDirectory() as folder, native_stderr_silenced():
        source, prepared, target = (Path(folder) / n for n in ("a.onnx", "b.onnx", "c.onnx"))
        onnx.save(graph, str(source))
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        quantize_static(str(prepared), str(target), Frames(), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        per_channel=True)
        return target.read_bytes()
