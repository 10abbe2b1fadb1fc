"""Trained networks out as ONNX: float32, float16 or int8 (calibrated on camera frames).

`export_network` writes OUT/NAME[_fp16|_int8].onnx and its card, checks the ONNX outputs
against the Keras model's on frames of a dataset, or without one on frames the built-in
simulator renders in memory while the explicit driver drives a lap of every training
circuit both ways (float32 must agree within `FP32_TOLERANCE`, int8 within its task's
`INT8_TOLERANCE` on frames it was not calibrated on), and keeps in the card
(`training.export`) the format, the source weights, what it was checked on, the largest
output difference and the offline v/w MAE of both against the labels. Quantised models are
judged by driving them (`bench`), not only by these numbers.

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
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
from tqdm import tqdm

from follow_line.driving.card import ModelCard
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
from follow_line.learning.collect import (
    EpisodePlan,
    ExpertEpisode,
    frames_estimate,
    plan_episodes,
)
from follow_line.learning.data import load_episodes
from follow_line.logs import native_stderr_silenced
from follow_line.world.circuits import DIRECTIONS, builtin_circuits

FP32_TOLERANCE = 1e-4  # largest |ONNX - Keras| of a float32 export, in network units
#: Largest |int8 - Keras| on frames not calibrated on, per task: network units (v/13 m/s,
#: w/3 rad/s) of a regression, probabilities of a classifier.
INT8_TOLERANCE = {"regression": 0.15, "classification": 0.25}
CHECK_FRAMES = 200  # network inputs sampled for the checks and calibration
#: Labelled frames (frame, t, v, w) of one episode, the frame preprocessed for the network.
Frames = Iterable[tuple[np.ndarray, float, float, float]]


def export_network(name: str, out: Path, data: Path | None = None,
                   quantize: str | None = None, progress: bool = True) -> Path:
    """Export a trained network (shipped name or .keras path) to ONNX; returns the file.

    Checked (and int8 calibrated) on the frames of the dataset `data`, or with none on
    frames the simulator renders along the training circuits (`simulator_inputs`).
    """
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
    if data is None:
        inputs, labels = simulator_inputs(card, progress)
        checked_on = {"simulator": sorted(builtin_circuits()), "driver": "expert"}
    else:
        inputs, labels = sample_inputs(data, card, progress)
        checked_on = {"dataset": str(data)}
    calibration = inputs[::2] if quantize == "int8" else inputs[:0]
    if quantize == "int8":  # calibrated on every other input, checked on the others
        if len(inputs) < 2:
            raise FollowLineError(f"{data or 'the simulator'} gave one frame: int8 needs two, "
                                  "one to calibrate and one to check")
        onnx_model = quantize_int8(keras_to_onnx(fold_input_normalisation(model)), calibration)
        inputs, labels = inputs[1::2], labels[1::2]
    else:
        onnx_model = keras_to_onnx(model)
    if quantize == "fp16":
        onnx_model = _to_fp16(onnx_model)
    exported = replace(card, name=card.name + (f"_{quantize}" if quantize else ""))
    predict, names = onnx_predictor(onnx_model, exported)
    keras_pilot = Pilot(card, model, backend="keras", streaming=False)  # the ONNX: whole window
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
        "checked_on": {**checked_on, "inputs": len(inputs),
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


def sample_inputs(data: Path, card: ModelCard, progress: bool = True
                  ) -> tuple[np.ndarray, np.ndarray]:
    """About CHECK_FRAMES network inputs of a dataset and their (v, w) labels."""
    episodes = load_episodes(data, card.preprocessing, progress=progress)
    return every_nth_input((zip(e.frames, e.t, e.v, e.w, strict=True) for e in episodes),
                           sum(len(e) for e in episodes), card, str(data), progress)


def simulator_inputs(card: ModelCard, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """About CHECK_FRAMES network inputs along the training circuits, and their labels.

    The explicit driver drives one clean lap of every training circuit each way, as
    `collect` records it, but in memory: no file is written, no dataset is needed.
    """
    plans = plan_episodes(builtin_circuits(), list(DIRECTIONS), laps=1, recovery=0)

    def frames(plan: EpisodePlan) -> Iterator[tuple[np.ndarray, float, float, float]]:
        for s in ExpertEpisode(plan, np.random.default_rng(0)):
            yield card.preprocessing.apply(s.image), s.t, s.v, s.w

    return every_nth_input((frames(p) for p in plans), sum(frames_estimate(p) for p in plans),
                           card, "the simulator", progress)


def every_nth_input(episodes: Iterable[Frames], total: int, card: ModelCard, source: str,
                    progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The network inputs of about CHECK_FRAMES of `total` frames (of `source`), evenly spread.

    Each episode's frames go through the frame buffer, as when driving, so a network of
    several frames sees the ones it drives with.
    """
    step = max(1, total // CHECK_FRAMES)
    inputs, labels = [], []
    count = 0
    with tqdm(total=total, desc="inputs", unit="frame", disable=not progress) as bar:
        for episode in episodes:
            buffer = FrameBuffer(card.frames.mode, card.frames.offsets, card.frames.max_gap_s)
            for frame, t, v, w in episode:
                buffer.push(frame, float(t))
                if count % step == 0:
                    inputs.append(buffer.network_input().copy())  # a view of the ring
                    labels.append((v, w))
                count += 1
                bar.update(1)
    if not inputs:
        raise FollowLineError(f"{source} holds no frames to check the export on")
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

    def call(self, inputs: object, mask: object = None, training: object = None) -> object:
        return inputs


def _input_norms(model: keras.Model) -> dict[str, str]:
    """Map each BatchNormalization on a model input read only by a "valid" Conv2D to it.

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


def fold_input_normalisation(model: keras.Model) -> keras.Model:
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
        def __init__(self) -> None:
            self.batches = iter(np.asarray(calibration, dtype=np.float32)[:, None])

        def get_next(self) -> dict[str, np.ndarray] | None:
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
