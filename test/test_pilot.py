import logging
import math

import numpy as np
import pytest

from follow_line.driving.card import ModelCard
from follow_line.driving.inference import litert_cache_dir
from follow_line.driving.nets import known_networks
from follow_line.driving.pilot import Pilot, check_model_matches_card
from follow_line.driving.run import RunSpec, run_drive
from follow_line.driving.zoo import (
    build_untrained,
    default_card,
    load_model,
    load_pilot,
    save_model,
)
from follow_line.errors import FollowLineError
from follow_line.world.lap import LapRules
from follow_line.world.simulator import Simulator


@pytest.fixture(scope="module")
def tiny():
    return build_untrained("tinypilotnet")


@pytest.fixture(scope="module")
def classifier():
    return build_untrained("classification_7w_4v")


def test_regression_outputs_are_denormalised_by_the_card(tiny):
    model, card = tiny
    pilot = Pilot(card, model, backend="keras")
    v, w = pilot.decode({"v": np.array([[0.5]]), "w": np.array([[-0.2]])})
    assert v == pytest.approx(0.5 * card.outputs["v"]["scale"])
    assert w == pytest.approx(-0.2 * card.outputs["w"]["scale"])


def test_constant_v_variant_ignores_the_v_output(tiny):
    model, card = tiny
    const = ModelCard.from_dict({**card.to_dict(), "constant_v": 6.5})
    pilot = Pilot(const, model, backend="keras")
    assert pilot.decode({"v": np.array([[0.9]]), "w": np.array([[0.1]])})[0] == 6.5


def test_outputs_are_clamped_to_the_limits(tiny):
    model, card = tiny
    pilot = Pilot(card, model, backend="keras")
    assert pilot.decode({"v": np.array([[10.0]]), "w": np.array([[-10.0]])}) == (24.0, -7.1)
    assert pilot.decode({"v": np.array([[-1.0]]), "w": np.array([[0.0]])})[0] == 0.0


def test_non_finite_output_stops_the_car_and_logs(tiny, caplog):
    model, card = tiny
    pilot = Pilot(card, model, backend="keras")
    with caplog.at_level(logging.ERROR, logger="follow_line.driving.pilot"):
        assert pilot.decode({"v": np.array([[math.nan]]), "w": np.array([[0.1]])}) == (0.0, 0.0)
        assert pilot.decode({"v": np.array([[0.1]]), "w": np.array([[math.inf]])}) == (0.0, 0.0)
    assert pilot.faults == 2
    assert "non-finite" in caplog.text


def test_classes_decoded_by_argmax_and_expectation(classifier):
    model, card = classifier
    pilot = Pilot(card, model, backend="keras")
    w_p = np.array([[0.0, 0.0, 0.1, 0.2, 0.0, 0.7, 0.0]])
    v_p = np.array([[0.1, 0.6, 0.3, 0.0]])
    assert pilot.decode({"w_class": w_p, "v_class": v_p}) == (8.0, 0.75)
    expect = ModelCard.from_dict({**card.to_dict(), "decode": "expectation"})
    v, w = Pilot(expect, model, backend="keras").decode({"w_class": w_p, "v_class": v_p})
    assert w == pytest.approx(0.1 * -0.25 + 0.7 * 0.75)
    assert v == pytest.approx(0.1 * 5 + 0.6 * 8 + 0.3 * 10)


def test_seed_class_tables_in_default_cards():
    card = default_card("classification_7w_4v")
    assert card.outputs["w_class"]["values"] == [-1.9, -0.75, -0.25, 0.0, 0.25, 0.75, 1.9]
    assert card.outputs["v_class"]["values"] == [5.0, 8.0, 10.0, 13.0]
    one_v = default_card("classification_7w_1v")
    assert "v_class" not in one_v.outputs and one_v.constant_v is not None


def test_card_that_does_not_match_the_weights_is_refused(tiny, classifier):
    model, card = tiny
    wrong_size = ModelCard.from_dict({**card.to_dict(), "input_shape": [66, 200, 3],
                                      "preprocessing": {**card.preprocessing.to_dict(),
                                                        "input_size": [66, 200]}})
    with pytest.raises(FollowLineError, match=r"weights take input \(16, 32, 3\).*\(66, 200, 3\)"):
        check_model_matches_card(model, wrong_size)
    cmodel, ccard = classifier
    with pytest.raises(FollowLineError, match="outputs"):
        check_model_matches_card(cmodel, card.__class__.from_dict(
            {**ccard.to_dict(), "outputs": {"v": {"scale": 1}, "w": {"scale": 1}},
             "task": "regression"}))
    fewer = {**ccard.to_dict()}
    fewer["outputs"] = {"w_class": {"values": [-1, 0, 1]}, "v_class": {"values": [5, 8, 10, 13]}}
    with pytest.raises(FollowLineError, match="'w_class' has 7 units but the card expects 3"):
        check_model_matches_card(cmodel, ModelCard.from_dict(fewer))


@pytest.mark.parametrize("edit,message", [
    (lambda d: d.pop("outputs"), "missing field"),
    (lambda d: d.update(version=99), "version 99"),
    (lambda d: d.update(task="dreaming"), "task 'dreaming'"),
    (lambda d: d["frames"].update(mode="movie"), "frames.mode 'movie'"),
    (lambda d: d.update(decode="vote"), "decode 'vote'"),
    (lambda d: d["outputs"].pop("w"), "regression output 'w'"),
    (lambda d: d.update(network="skynet"), "network 'skynet' is not in the registry"),
    (lambda d: d["outputs"]["w"].update(scale="3"), r"outputs.w.scale is '3'; allowed: a fin"),
    (lambda d: d["outputs"]["w"].update(scale=float("nan")), "outputs.w.scale is nan"),
    (lambda d: d["outputs"]["v"].update(offset=float("inf")), "outputs.v.offset is inf"),
    (lambda d: d.update(constant_v="fast"), "constant_v is 'fast'; allowed: a finite number > 0"),
    (lambda d: d.update(constant_v=-1.0), "constant_v is -1.0"),
    (lambda d: d["frames"].update(max_gap_s=float("nan")), "frames.max_gap_s is nan"),
])
def test_bad_cards_name_the_problem(tiny, edit, message):
    data = tiny[1].to_dict()
    edit(data)
    with pytest.raises(FollowLineError, match=message):
        ModelCard.from_dict(data, source="x.json")


def test_corrupt_weights_and_card_files(tmp_path, tiny):
    model, card = tiny
    path = save_model(model, card, tmp_path)
    path.write_bytes(b"not a zip file")
    with pytest.raises(FollowLineError, match=r"\(14 bytes\) is not a .keras file"):
        load_model(path)
    path.with_suffix(".json").write_text("{\n  'bad json'")
    with pytest.raises(FollowLineError, match=r"tinypilotnet.json:2: model card is not valid"):
        load_model(path)
    with pytest.raises(FollowLineError, match="unknown model 'nope'.*networks: pilotnet"):
        load_pilot("nope", folder=tmp_path)


def test_litert_predictor_matches_keras(oval):
    model, card = build_untrained("pilotnet")
    fast = Pilot(card, model, backend="litert")
    slow = Pilot(card, model, backend="keras")
    assert fast.backend == "litert" and slow.backend == "keras"
    frame = Simulator(oval, "clockwise").frame()
    x = fast.network_input(frame, 0.0)
    for a, b in zip(fast.predict(x), slow.predict(x), strict=True):
        assert np.allclose(a, b, rtol=1e-3, atol=1e-4)


def test_litert_conversions_are_cached_and_a_damaged_entry_is_replaced(
        oval, tmp_path, monkeypatch):
    monkeypatch.setenv("FOLLOW_LINE_CACHE", str(tmp_path))  # no entries of other tests
    model, card = build_untrained("tinypilotnet")
    Pilot(card, model, backend="litert")
    entries = list(litert_cache_dir().glob("tinypilotnet-*.tflite"))
    assert len(entries) == 1
    entries[0].write_bytes(b"damaged")
    pilot = Pilot(card, model, backend="litert")
    assert pilot.backend == "litert" and entries[0].stat().st_size > 1000
    frame = Simulator(oval, "clockwise").frame()
    x = pilot.network_input(frame, 0.0)
    assert np.allclose(pilot.predict(x)[0], model(x, training=False)[0], atol=1e-4)


@pytest.mark.parametrize("network", known_networks())
def test_every_network_saves_reloads_and_drives(tmp_path, oval, network):
    model, card = build_untrained(network)
    save_model(model, card, tmp_path)
    pilot = load_pilot(card.name, backend="keras", folder=tmp_path)
    assert pilot.card.to_dict() == card.to_dict()
    frame = Simulator(oval, "clockwise").frame()
    x = pilot.network_input(frame, 0.0)
    reference = model(x, training=False)
    reference = reference if isinstance(reference, list) else [reference]
    for got, want in zip(pilot.predict(x), reference, strict=True):
        assert np.allclose(got, np.asarray(want), atol=1e-5)
    record = run_drive(RunSpec(oval, "clockwise", LapRules(timeout_seconds=0.5)), pilot)
    assert record["driver"] == network and record["stop_reason"] in ("timeout", "off_track")
    assert record["control_rate_hz"] == pytest.approx(20.0)
    assert record["latency_ms_mean"] > 0


def test_gpu_device_without_a_gpu_is_a_clear_error(tiny):
    from follow_line.driving.inference import gpu_available, make_predictor

    if gpu_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(FollowLineError, match="device 'gpu' was asked for"):
        make_predictor(tiny[0], backend="keras", device="gpu")
    with pytest.raises(FollowLineError, match="unknown inference backend 'onnx'"):
        make_predictor(tiny[0], backend="onnx")


def test_non_finite_weights_are_refused_at_save_and_at_load(tmp_path, tiny):
    model, card = build_untrained("tinypilotnet")
    variable = model.weights[0]
    values = np.asarray(variable).copy()
    values.flat[0] = np.nan
    variable.assign(values)
    with pytest.raises(FollowLineError, match="non-finite value.*train it again"):
        save_model(model, card, tmp_path)
    assert not list(tmp_path.iterdir())
    model.save(tmp_path / "tinypilotnet.keras")  # written behind follow_line's back
    card.save(tmp_path / "tinypilotnet.json")
    with pytest.raises(FollowLineError, match=rf"weights {variable.path} hold 1 non-finite"):
        load_model(tmp_path / "tinypilotnet.keras")


def test_a_network_computing_nan_is_not_blamed_on_the_litert_cache(tmp_path, monkeypatch):
    import keras

    from follow_line.driving.inference import make_predictor

    monkeypatch.setenv("FOLLOW_LINE_CACHE", str(tmp_path))
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: keras.ops.log(x - 2.0))(inputs))
    with pytest.raises(FollowLineError, match="own .Keras. outputs are NaN or infinite"):
        make_predictor(model, "litert")


def test_builder_options_are_kept_by_the_card(tmp_path):
    from follow_line.driving.nets import build_network

    card = default_card("cnn_lstm")
    card.architecture = {"steps": 32}
    save_model(build_network("cnn_lstm", steps=32), card, tmp_path)
    model, loaded = load_model(str(tmp_path / "cnn_lstm.keras"))
    assert loaded.architecture == {"steps": 32}
    assert tuple(model.get_layer("to_sequence").output.shape) == (None, 32, 32)
    assert ModelCard.from_dict(default_card("lrcn").to_dict()).architecture == {}


@pytest.mark.parametrize("network", ["pilotnet", "lstm_tinypilotnet"])
def test_a_card_naming_another_network_is_refused_before_driving(tmp_path, capsys, network):
    import json
    import shutil

    from follow_line.cli import main
    from follow_line.driving.zoo import models_dir

    shutil.copy(models_dir() / "tinypilotnet.keras", tmp_path / "mine.keras")
    card = json.loads((models_dir() / "tinypilotnet.json").read_text())
    (tmp_path / "mine.json").write_text(json.dumps({**card, "network": network}))
    assert main(["drive", "--model", str(tmp_path / "mine.keras"), "--timeout", "1"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1  # one line, nothing driven
    assert (f"mine.keras: the card says network '{network}' but the weights are a "
            "tinypilotnet (") in captured.err and "give the weights their own card" in captured.err


def test_the_weights_digest_is_in_every_record_of_a_network(oval):
    from follow_line.driving.zoo import models_dir, weights_digest

    pilot = load_pilot("tinypilotnet", backend="keras")
    assert pilot.weights == weights_digest(models_dir() / "tinypilotnet.keras")
    record = run_drive(RunSpec(oval, "clockwise", LapRules(timeout_seconds=0.2)), pilot)
    assert record["weights"] == pilot.weights and len(record["weights"]) == 16
    untrained = Pilot(*reversed(build_untrained("tinypilotnet")))
    assert run_drive(RunSpec(oval, "clockwise", LapRules(timeout_seconds=0.2)),
                     untrained)["weights"] is None  # no weights file: nothing to digest
