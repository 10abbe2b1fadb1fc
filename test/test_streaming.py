"""Streaming inference: every sequence network of the registry streams.

A streamed frame gives the whole window's outputs (within 1e-5) on Keras and on the
converted backends.
"""

import numpy as np
import pytest

from follow_line.driving.inference import onnx_ready
from follow_line.driving.nets import known_networks, network_info
from follow_line.driving.pilot import Pilot
from follow_line.driving.recurrence import Unrolled
from follow_line.driving.run import RunSpec, run_drive
from follow_line.driving.streaming import split
from follow_line.driving.zoo import build_untrained, load_model, shipped_models
from follow_line.world.circuits import load_circuit
from follow_line.world.lap import LapRules
from follow_line.world.simulator import Simulator

SEQUENCE = [n for n in known_networks() if network_info(n).frames == "sequence"]
TOLERANCE = 1e-5


def _model(name: str):
    """The shipped network of that name (the one users drive), else an untrained one."""
    return load_model(name) if name in shipped_models() else build_untrained(name)


@pytest.fixture(scope="module")
def images():
    """Camera frames of a short drive along simple clockwise."""
    sim = Simulator(load_circuit("simple"), "clockwise")
    frames = []
    for k in range(12):
        frames.append(sim.frame())
        sim.step(6.0, 0.4 * np.sin(k / 3))
    return frames


#: Frame times: a run, then a jump back in time (a new run: the buffers reset).
TIMES = [0.05 * k for k in range(8)] + [0.05 * k for k in range(4)]


def _worst_difference(model, card, images, backend: str) -> float:
    streamed = Pilot(card, model, backend=backend, threads=1)
    whole = Pilot(card, model, backend="keras", streaming=False)
    assert streamed.streaming and not whole.streaming
    worst = 0.0
    for image, t in zip(images, TIMES, strict=True):
        frame = card.preprocessing.apply(image)
        for a, b in zip(streamed.infer(frame, t), whole.infer(frame, t), strict=True):
            worst = max(worst, float(np.abs(np.asarray(a) - np.asarray(b)).max()))
    return worst


def test_the_registry_has_sequence_networks():
    assert {"lrcn", "convlstm", "lstm_tinypilotnet", "deepest_lstm_tinypilotnet"} <= set(SEQUENCE)


@pytest.mark.parametrize("name", SEQUENCE)
def test_every_sequence_network_splits_at_its_first_recurrent_layer(name):
    model, _ = build_untrained(name)
    parts = split(model)
    assert parts is not None, f"{name} does not stream"
    assert parts.cached.startswith("the input term of ")
    steps = model.inputs[0].shape[1]
    assert tuple(parts.temporal.inputs[0].shape[1:]) == (steps, *parts.front.outputs[0].shape[1:])
    assert any(isinstance(layer, Unrolled) and layer.cached for layer in parts.temporal.layers)
    assert split(model) is not None  # the model itself is left as it was


@pytest.mark.parametrize("name", SEQUENCE)
def test_streamed_outputs_equal_the_whole_window_on_keras(name, images):
    model, card = _model(name)
    assert _worst_difference(model, card, images, "keras") < TOLERANCE


@pytest.mark.skipif(not onnx_ready(), reason="needs onnx, onnxruntime and tf2onnx")
@pytest.mark.parametrize("name", SEQUENCE)
def test_streamed_outputs_equal_the_whole_window_on_onnx_runtime(name, images):
    model, card = _model(name)
    assert _worst_difference(model, card, images, "onnxruntime") < TOLERANCE


@pytest.mark.slow
@pytest.mark.parametrize("name", SEQUENCE)
@pytest.mark.parametrize("backend", ["litert", "auto"])
def test_streamed_outputs_equal_the_whole_window_on_litert_and_auto(name, backend, images):
    model, card = _model(name)
    assert _worst_difference(model, card, images, backend) < TOLERANCE


def test_single_frame_and_stacked_networks_run_whole_window():
    for name in ("pilotnet", "pilotnet_stacked", "cnn_lstm"):
        model, card = build_untrained(name)
        assert not Pilot(card, model, backend="keras").streaming


@pytest.mark.parametrize("seconds", [
    15.0, pytest.param(None, marks=pytest.mark.slow, id="lap")])
def test_a_streamed_drive_follows_the_whole_window_one(seconds):
    model, card = _model("lrcn")
    rules = LapRules(timeout_seconds=seconds) if seconds else LapRules()
    spec = RunSpec(load_circuit("simple"), "clockwise", rules)
    records = [run_drive(spec, Pilot(card, model, backend="keras", streaming=streaming))
               for streaming in (True, False)]
    streamed, whole = records
    assert streamed["completion_pct"] == pytest.approx(whole["completion_pct"], abs=0.1)
    assert streamed["stop_reason"] == whole["stop_reason"]
    a, b = streamed["trajectory"], whole["trajectory"]
    assert len(a["x"]) == len(b["x"])
    gap = np.hypot(np.subtract(a["x"], b["x"]), np.subtract(a["y"], b["y"]))
    assert gap.max() < 0.01


def test_perf_times_a_sequence_network_streamed_and_whole_window():
    from follow_line.bench.perf import perf_markdown, time_inference

    rows = time_inference(["deepest_lstm_tinypilotnet"], backends=("keras",), repeats=5)
    labels = [r["backend"] for r in rows if r["network"] == "deepest_lstm_tinypilotnet"]
    assert labels[:2] == ["keras", "keras, streamed"]
    render = {"render_ms_median": 1.0, "render_ms_p99": 2.0}
    table = perf_markdown({"machine": "m", "render": render,
                           "closed_loop_expert": [], "inference": rows})
    assert "| deepest_lstm_tinypilotnet | keras, streamed |" in table


def _tiny_sequence(skip: bool):
    import keras
    from keras import layers

    frames = keras.Input((3, 8, 8, 2))
    x = layers.TimeDistributed(layers.Conv2D(4, 3, activation="relu"))(frames)
    x = layers.TimeDistributed(layers.Flatten())(x)
    y = layers.GRU(5)(x)
    if skip:  # the raw frames read again after the split: nothing per frame to cache
        y = layers.Concatenate()([y, layers.Flatten()(frames)])
    return keras.Model(frames, layers.Dense(1)(y))


def test_a_network_without_an_lstm_streams_its_features_and_one_reading_frames_later_does_not():
    model = _tiny_sequence(skip=False)
    parts = split(model)
    assert parts.cached == "the features (144,)"  # 6 x 6 x 4
    window = np.random.default_rng(3).random((1, 3, 8, 8, 2), dtype=np.float32)
    features = np.stack([np.asarray(parts.front(f[None]))[0] for f in window[0]])[None]
    assert np.allclose(parts.temporal(features), model(window), atol=TOLERANCE)
    assert split(_tiny_sequence(skip=True)) is None
