"""Trained networks out as ONNX: float32, float16 or int8 (calibrated on dataset frames).

`export_network` writes OUT/NAME[_fp16|_int8].onnx and its card, checks the ONNX outputs
against the Keras model's on frames of a dataset (float32 must agree within
`FP32_TOLERANCE`), and keeps in the card (`training.export`) the format, the source
weights, the largest output difference and the offline v/w MAE of both against the
dataset's labels. Quantised models are judged by driving them (`bench`), not only by
these numbers.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from follow_line.driving.card import ModelCard
from follow_line.driving.frames import FrameBuffer
from follow_line.driving.onnx_runtime import INSTALL, OPSET, keras_to_onnx, onnx_predictor
from follow_line.driving.pilot import Pilot
from follow_line.driving.zoo import load_model, weights_digest
from follow_line.errors import FollowLineError
from follow_line.files import write_text_atomic
from follow_line.learning.data import load_episodes
from follow_line.logs import native_stderr_silenced

QUANTIZATIONS = ("fp16", "int8")
FP32_TOLERANCE = 1e-4  # largest |ONNX - Keras| of a float32 export, in network units
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
    onnx_model = keras_to_onnx(model)
    if quantize == "fp16":
        onnx_model = _to_fp16(onnx_model)
    elif quantize == "int8":
        onnx_model = _to_int8(onnx_model, inputs)
    exported = replace(card, name=card.name + (f"_{quantize}" if quantize else ""))
    predict, names = onnx_predictor(onnx_model, exported)
    keras_pilot = Pilot(card, model, backend="keras")
    reference = [keras_pilot.predict(x[None]) for x in inputs]
    got = [predict(x[None]) for x in inputs]
    diff = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
               for ref, out_ in zip(reference, got, strict=True)
               for a, b in zip(ref, out_, strict=True))
    if quantize is None and diff > FP32_TOLERANCE:
        raise FollowLineError(f"the ONNX export of {card.name} differs from the Keras model by "
                              f"{diff:.2g} (more than {FP32_TOLERANCE:g}): not written")
    exported.training = {**card.training, "export": {
        "format": "onnx", "opset": OPSET, "quantize": quantize or "none",
        "from": {"name": card.name, "weights": weights_digest(name)},
        "checked_on": {"dataset": str(data), "inputs": len(inputs)},
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


def _to_int8(onnx_model: bytes, inputs: np.ndarray) -> bytes:
    """Static int8 quantization (QDQ, per-channel weights), calibrated on `inputs`."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    feed = onnx.load_from_string(onnx_model).graph.input[0].name

    class Frames(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter(inputs[:, None])

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self.batches, None)
            return None if batch is None else {feed: batch}

    with tempfile.TemporaryDirectory() as folder, native_stderr_silenced():
        source, prepared, target = (Path(folder) / n for n in ("a.onnx", "b.onnx", "c.onnx"))
        source.write_bytes(onnx_model)
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        quantize_static(str(prepared), str(target), Frames(), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                        per_channel=True)
        return target.read_bytes()
