"""ONNX out (export, quantised) and in (an ONNX model made elsewhere drives with its card)."""

import json
import re

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
pytest.importorskip("tf2onnx")

from follow_line.driving.card import ModelCard  # noqa: E402
from follow_line.driving.onnx_runtime import foreign_card, onnx_predictor  # noqa: E402
from follow_line.driving.pilot import Pilot  # noqa: E402
from follow_line.driving.run import RunSpec, run_drive  # noqa: E402
from follow_line.driving.zoo import load_model, load_pilot  # noqa: E402
from follow_line.errors import FollowLineError  # noqa: E402
from follow_line.learning.collect import collect  # noqa: E402
from follow_line.learning.export import FP32_TOLERANCE, export_network  # noqa: E402
from follow_line.world.circuits import load_circuit  # noqa: E402


@pytest.fixture(scope="module")
def frames(tmp_path_factory, oval_file):
    folder = tmp_path_factory.mktemp("data") / "oval"
    collect(folder, [str(oval_file)], ["clockwise"], laps=1, recovery=0, progress=False)
    return folder


def drive_simple(pilot):
    return run_drive(RunSpec(load_circuit("simple"), "clockwise"), pilot)


def test_exported_pilotnet_equals_keras_and_drives(tmp_path, frames):
    path = export_network("pilotnet", tmp_path, frames, progress=False)
    card = json.loads(path.with_suffix(".json").read_text())
    export = card["training"]["export"]
    assert export["max_abs_diff"] <= FP32_TOLERANCE and export["quantize"] == "none"
    assert export["mae"]["onnx"] == export["mae"]["keras"]
    pilot = load_pilot(str(path))
    assert pilot.backend == "onnxruntime"
    model, keras_card = load_model("pilotnet")
    x = np.random.default_rng(1).random((1, 66, 200, 3), dtype=np.float32)
    assert np.allclose(pilot.predict(x), Pilot(keras_card, model, backend="keras").predict(x),
                       atol=FP32_TOLERANCE)
    record = drive_simple(pilot)
    assert record["completion_pct"] == 100.0


def test_quantised_exports_are_smaller_and_say_how_far_they_are(tmp_path, frames):
    full = export_network("tinypilotnet", tmp_path, frames, progress=False)
    for quantize in ("fp16", "int8"):
        path = export_network("tinypilotnet", tmp_path, frames, quantize, progress=False)
        assert path.name == f"tinypilotnet_{quantize}.onnx"
        assert path.stat().st_size < 0.8 * full.stat().st_size  # tiny: headers weigh
        export = json.loads(path.with_suffix(".json").read_text())["training"]["export"]
        assert export["quantize"] == quantize and 0 < export["max_abs_diff"] < 0.2
    with pytest.raises(FollowLineError, match="unknown quantization 'int4'; known: fp16, int8"):
        export_network("tinypilotnet", tmp_path, frames, "int4", progress=False)


def test_int8_stays_near_float32_on_frames_it_was_not_calibrated_on(tmp_path, frames):
    """Calibrated on the oval's frames, checked on frames of another circuit (simple)."""
    from follow_line.driving.onnx_runtime import keras_to_onnx
    from follow_line.learning.export import (
        INT8_TOLERANCE,
        fold_input_normalisation,
        quantize_int8,
        sample_inputs,
    )
    from follow_line.world.simulator import Simulator

    model, card = load_model("tinypilotnet")
    calibration, _ = sample_inputs(frames, card, progress=False)
    int8 = quantize_int8(keras_to_onnx(fold_input_normalisation(model)), calibration)
    graph = onnx.load_from_string(int8)
    assert {"QuantizeLinear", "DequantizeLinear"} <= {n.op_type for n in graph.graph.node}
    predict, names = onnx_predictor(int8, card)
    keras = Pilot(card, model, backend="keras")
    sim = Simulator(load_circuit("simple"), "clockwise")
    diffs = []
    for k in range(40):
        sim.pose = sim.pose.__class__(*sim.line.pose_at(k * sim.line.length / 40))
        x = keras.network_input(sim.frame(), 0.05 * k)
        pairs = zip(predict(x), keras.predict(x), strict=True)
        diffs += [float(np.max(np.abs(a - b))) for a, b in pairs]
    assert 0 < max(diffs) <= INT8_TOLERANCE["regression"]
    path = export_network("tinypilotnet", tmp_path, frames, "int8", progress=False)
    export = json.loads(path.with_suffix(".json").read_text())["training"]["export"]
    checked = export["checked_on"]
    assert checked["calibrated_on_other_inputs"] in (checked["inputs"], checked["inputs"] + 1)
    assert 0 < export["max_abs_diff"] <= INT8_TOLERANCE["regression"]


def test_folding_the_input_normalisation_keeps_what_the_network_computes():
    import keras

    from follow_line.learning.export import fold_input_normalisation

    model, _ = load_model("pilotnet")
    folded = fold_input_normalisation(model)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in folded.layers)
    x = np.random.default_rng(3).random((2, 66, 200, 3), dtype=np.float32)
    for a, b in zip(model(x), folded(x), strict=True):
        assert np.allclose(a, b, atol=1e-5)
    inputs = keras.Input((8, 8, 3))  # a "same" convolution pads the normalised image
    norm = keras.layers.BatchNormalization()(inputs)
    same = keras.Model(inputs, keras.layers.Conv2D(4, 3, padding="same")(norm))
    assert fold_input_normalisation(same) is same


def test_auto_backend_never_picks_int8_unasked(tmp_path, frames):
    """int8 is a model of its own: only naming its file (--model NAME_int8.onnx) drives it."""
    from follow_line.driving.inference import BACKENDS

    export_network("tinypilotnet", tmp_path, frames, "int8", progress=False)
    assert not any("int8" in backend for backend in BACKENDS)
    model, card = load_model("tinypilotnet")
    auto = Pilot(card, model)
    keras = Pilot(card, model, backend="keras")
    assert auto.backend in ("keras", "litert", "onnxruntime")
    x = np.random.default_rng(4).random((1, *card.input_shape), dtype=np.float32)
    assert np.allclose(auto.predict(x), keras.predict(x), atol=FP32_TOLERANCE)
    asked = load_pilot(str(tmp_path / "tinypilotnet_int8.onnx"))
    assert asked.name == "tinypilotnet_int8" and asked.backend == "onnxruntime"


def nchw_pilotnet(path, output_names=("speed", "steer")):
    """An NCHW PilotNet written node by node with onnx.helper, from the shipped weights."""
    from onnx import TensorProto, helper, numpy_helper

    model, _ = load_model("pilotnet")
    nodes, weights = [], []

    def const(name, value):
        weights.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    norm = model.get_layer("input_norm")
    gamma, beta, mean, var = (np.asarray(w) for w in norm.weights)
    nodes.append(helper.make_node("BatchNormalization", ["pixels", const("g", gamma),
                                  const("b", beta), const("m", mean), const("var", var)],
                                  ["x0"], epsilon=norm.epsilon))
    x = "x0"
    for i in range(1, 6):
        conv = model.get_layer(f"conv{i}")
        kernel, bias = (np.asarray(w) for w in conv.weights)
        nodes.append(helper.make_node(
            "Conv", [x, const(f"k{i}", kernel.transpose(3, 2, 0, 1)), const(f"c{i}", bias)],
            [f"conv{i}"], strides=list(conv.strides)))
        nodes.append(helper.make_node("Relu", [f"conv{i}"], [f"r{i}"]))
        x = f"r{i}"
    nodes.append(helper.make_node("Transpose", [x], ["nhwc"], perm=[0, 2, 3, 1]))
    nodes.append(helper.make_node("Flatten", ["nhwc"], ["flat"]))
    x = "flat"
    for i in range(1, 5):
        kernel, bias = (np.asarray(w) for w in model.get_layer(f"fc{i}").weights)
        nodes.append(helper.make_node("Gemm", [x, const(f"W{i}", kernel), const(f"B{i}", bias)],
                                      [f"g{i}"]))
        nodes.append(helper.make_node("Relu", [f"g{i}"], [f"fc{i}"]))
        x = f"fc{i}"
    for head, name in zip(("v", "w"), output_names, strict=True):
        kernel, bias = (np.asarray(w) for w in model.get_layer(head).weights)
        nodes.append(helper.make_node("Gemm", [x, const(f"W{head}", kernel),
                                               const(f"B{head}", bias)], [name]))
    graph = helper.make_graph(
        nodes, "foreign_pilotnet",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["N", 3, 66, 200])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", 1]) for n in output_names],
        weights)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_a_foreign_nchw_onnx_model_drives_with_a_card_of_a_few_options(tmp_path):
    path = nchw_pilotnet(tmp_path / "theirs.onnx")
    _, shipped = load_model("pilotnet")
    card = foreign_card(path, "cropped", (66, 200), "NCHW", shipped.outputs["v"]["scale"],
                        shipped.outputs["w"]["scale"], output_names={"v": "speed", "w": "steer"})
    card.save(path.with_suffix(".json"))
    assert ModelCard.load(path.with_suffix(".json")).network == "external"
    record = drive_simple(load_pilot(str(path)))
    assert record["completion_pct"] == 100.0 and record["driver"] == "theirs"


def test_a_wrong_layout_or_output_is_a_clear_error(tmp_path):
    path = nchw_pilotnet(tmp_path / "theirs.onnx")
    with pytest.raises(FollowLineError, match=r"input 'pixels' has shape \[batch, 3, 66, 200\] "
                                              r"but the card says \[66, 200, 3\] \(layout NHWC\)"
                                              r"; .*is its layout NCHW\?"):
        foreign_card(path, layout="NHWC", output_names={"v": "speed", "w": "steer"})
    with pytest.raises(FollowLineError, match="no output 'w', 'v'; its outputs: speed, steer"):
        foreign_card(path, layout="NCHW")
    with pytest.raises(FollowLineError, match=r"\[66, 100, 3\]"):
        foreign_card(path, size=(66, 100), layout="NHWC")


def test_onnxruntime_backend_for_a_keras_network(frames):
    model, card = load_model("tinypilotnet")
    fast = Pilot(card, model, backend="onnxruntime")
    slow = Pilot(card, model, backend="keras")
    x = np.random.default_rng(2).random((1, *card.input_shape), dtype=np.float32)
    assert fast.backend == "onnxruntime"
    assert np.allclose(fast.predict(x), slow.predict(x), atol=1e-4)
    with pytest.raises(FollowLineError, match="ONNX model: it runs on backend 'onnxruntime'"):
        Pilot(card, "model.onnx", backend="litert")


def test_onnx_predictor_takes_bytes_too(tmp_path):
    path = nchw_pilotnet(tmp_path / "theirs.onnx")
    card = foreign_card(path, layout="NCHW", output_names={"v": "speed", "w": "steer"})
    predict, names = onnx_predictor(path.read_bytes(), card)
    assert names == ["w", "v"] and len(predict(np.zeros((1, 66, 200, 3), np.float32))) == 2


def test_card_and_export_from_the_command_line(tmp_path, frames, capsys):
    from follow_line.cli import main

    path = nchw_pilotnet(tmp_path / "theirs.onnx")
    args = ["card", "--model", str(path), "--layout", "NCHW", "--v-scale", "13", "--w-scale",
            "3", "--output", "v=speed", "--output", "w=steer"]
    assert main(args) == 0
    assert main(args) == 2  # the card exists: never overwritten unasked
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert main(["drive", "--model", str(path), "--circuit", "simple", "--timeout", "2",
                 "--quiet"]) == 1  # a 2 s timeout: drove, lap not completed
    assert json.loads(capsys.readouterr().out)["driver"] == "theirs"
    assert main(["card", "--model", str(path), "--layout", "NHWC", "--overwrite"]) == 2
    assert "is its layout NCHW?" in capsys.readouterr().err
    assert main(["export", "--model", "tinypilotnet", "--quantize", "int8", "--data",
                 str(frames), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert "tinypilotnet_int8.onnx" in capsys.readouterr().out


def test_perf_times_onnxruntime_and_exported_models_beside_litert_and_keras(tmp_path, frames):
    from follow_line.bench.perf import time_inference

    path = export_network("tinypilotnet", tmp_path, frames, "int8", progress=False)
    rows = time_inference(["tinypilotnet"], repeats=20, onnx_files=[path])
    labels = [(r["network"], r["backend"]) for r in rows]
    for backend in ("keras", "litert", "litert (1 thread)", "onnxruntime",
                    "onnxruntime (1 thread)", "keras predict()"):
        assert ("tinypilotnet", backend) in labels
    assert ("tinypilotnet_int8.onnx", "onnxruntime (1 thread)") in labels
    assert all(r["median_ms"] > 0 for r in rows)


def test_quantisation_table_compares_each_variant_with_keras(tmp_path, frames):
    from follow_line.bench.deployment import quantization_grid

    files = [export_network("tinypilotnet", tmp_path, frames, q, progress=False)
             for q in (None, "int8")]

    def run(driver, circuit, lap):
        return {"driver": driver, "circuit": circuit, "direction": "clockwise",
                "stop_reason": "lap_completed" if lap else "off_track",
                "lap_times_s": [lap] if lap else [], "completion_pct": 100.0 if lap else 50.0}

    records = [run("tinypilotnet", "simple", 40.0), run("tinypilotnet", "monaco", 50.0),
               run("tinypilotnet.onnx", "simple", 40.0), run("tinypilotnet.onnx", "monaco", 50.0),
               run("tinypilotnet_int8.onnx", "simple", 44.0),
               run("tinypilotnet_int8.onnx", "monaco", None)]
    inference = [{"network": "tinypilotnet", "backend": "litert", "median_ms": 0.2},
                 {"network": "tinypilotnet_int8.onnx", "backend": "onnxruntime (1 thread)",
                  "median_ms": 0.1}]
    perturbed = [{**run(driver, "simple", lap), "perturbation": name}
                 for driver, name, lap in (("tinypilotnet", "dark", 40.0),
                                           ("tinypilotnet", "noise", 50.0),
                                           ("tinypilotnet_int8.onnx", "dark", 40.4),
                                           ("tinypilotnet_int8.onnx", "noise", 49.0))]
    table = quantization_grid("tinypilotnet", records, inference, files, perturbed)
    keras, fp32, int8 = table.rows
    assert keras[0] == "tinypilotnet.keras (float32, LiteRT)" and keras[2] == "0.20 / -"
    assert keras[5:] == ["100 % (2/2)", "1.000", "100 % (2/2)", "1.000 (1.000)"]
    assert fp32[5:] == ["100 % (2/2)", "1.000", "-", "-"]
    assert int8[0] == "tinypilotnet_int8.onnx (int8, ONNX Runtime)" and int8[2] == "- / 0.10"
    assert int8[5:] == ["75 % (1/2)", "1.100", "100 % (2/2)", "0.995 (0.980)"]
    assert float(int8[1]) < float(fp32[1])


def test_export_never_replaces_a_users_own_model_and_card(tmp_path, frames):
    from follow_line.cli import main

    theirs = nchw_pilotnet(tmp_path / "tinypilotnet.onnx")
    assert main(["card", "--model", str(theirs), "--layout", "NCHW", "--output", "v=speed",
                 "--output", "w=steer"]) == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(FollowLineError, match="was not written by `follow-line export`"):
        export_network("tinypilotnet", tmp_path, frames, progress=False)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    (tmp_path / "tinypilotnet.json").unlink()  # an ONNX file without a card: not ours either
    with pytest.raises(FollowLineError, match="not replaced"):
        export_network("tinypilotnet", tmp_path, frames, progress=False)
    assert (tmp_path / "tinypilotnet.onnx").read_bytes() == before["tinypilotnet.onnx"]
    ours = tmp_path / "exports"
    first = export_network("tinypilotnet", ours, frames, progress=False)
    assert export_network("tinypilotnet", ours, frames, progress=False) == first  # re-export


def tiny_onnx(path, v_units=1, v_bias=0.1):
    """A 16x32 RGB regression model of two Gemm heads, built with onnx.helper."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(3)
    weights = [numpy_helper.from_array(a.astype(np.float32), n) for n, a in (
        ("Wv", rng.normal(0, 1e-3, (16 * 32 * 3, v_units))), ("Bv", np.full(v_units, v_bias)),
        ("Ww", rng.normal(0, 1e-3, (16 * 32 * 3, 1))), ("Bw", np.zeros(1)))]
    nodes = [helper.make_node("Flatten", ["image"], ["flat"]),
             helper.make_node("Gemm", ["flat", "Wv", "Bv"], ["v"]),
             helper.make_node("Gemm", ["flat", "Ww", "Bw"], ["w"])]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                                      ["N", 16, 32, 3])],
        [helper.make_tensor_value_info("v", TensorProto.FLOAT, ["N", v_units]),
         helper.make_tensor_value_info("w", TensorProto.FLOAT, ["N", 1])], weights)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


@pytest.mark.parametrize("fault, message", [
    ({"v_units": 3}, r"output 'v' \(v\) has shape \[batch, 3\] but the card expects 1 value "
                     r"per frame \(\[batch, 1\]\)"),
    ({"v_bias": np.nan}, r"weights 'Bv' hold 1 non-finite value\(s\) \(NaN or infinity\)")])
def test_an_onnx_model_is_checked_before_its_card_is_written_and_before_it_drives(
        tmp_path, capsys, fault, message):
    from follow_line.cli import main

    path = tiny_onnx(tmp_path / "tiny.onnx")
    card = ["card", "--model", str(path), "--size", "16x32"]
    assert main(card) == 0
    capsys.readouterr()
    tiny_onnx(path, **fault)  # the model changes under its card
    assert main([*card, "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err) and err.count("\n") == 1, err
    assert main(["drive", "--model", str(path), "--timeout", "2", "--quiet"]) == 2
    out, err = capsys.readouterr()
    assert re.search(message, err) and err.count("\n") == 1 and out == "", err  # not driven
    (tmp_path / "tiny.json").unlink()
    assert main(card) == 2 and not (tmp_path / "tiny.json").exists()


def test_without_data_the_export_is_checked_on_frames_the_simulator_renders(tmp_path,
                                                                            oval_file,
                                                                            monkeypatch):
    import follow_line.learning.export as export_module

    monkeypatch.setattr(export_module, "builtin_circuits", lambda: [str(oval_file)])
    path = export_network("tinypilotnet", tmp_path / "out", None, "int8", progress=False)
    export = json.loads(path.with_suffix(".json").read_text())["training"]["export"]
    assert export["checked_on"]["simulator"] == [str(oval_file)]
    assert export["checked_on"]["driver"] == "expert"
    checked = export["checked_on"]  # int8: calibrated on every other input, checked on the rest
    assert 150 <= checked["inputs"] + checked["calibrated_on_other_inputs"] <= 2 * \
        export_module.CHECK_FRAMES
    assert 0 < export["max_abs_diff"] < 0.2 and export["mae"]["onnx"]["w"] < 0.5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no dataset written


@pytest.mark.slow
def test_export_works_from_an_empty_folder_and_the_export_drives(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    command = [sys.executable, "-m", "follow_line", "export", "--model", "pilotnet",
               "--format", "onnx", "--out", "X", "--quiet"]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("no --data: checking the export on frames the simulator "
                                    "renders as the explicit driver drives simple, ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X"]  # no data/ made either
    assert drive_simple(load_pilot(str(tmp_path / "X" / "pilotnet.onnx")))[
        "completion_pct"] == 100.0


def test_onnx_runtime_threads_sleep_instead_of_spinning(tmp_path):
    from follow_line.driving.onnx_runtime import _session

    session = _session(nchw_pilotnet(tmp_path / "theirs.onnx").read_bytes(), "theirs", 1)
    assert session.get_session_options().get_session_config_entry(
        "session.intra_op.allow_spinning") == "0"
