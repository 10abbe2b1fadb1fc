"""Network builders and registry: names, input/output contract, seed architectures."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from follow_line.driving import nets  # noqa: E402
from follow_line.driving.nets import (  # noqa: E402
    FRAME_MODES,
    NETWORKS,
    TASKS,
    build_network,
    known_networks,
    network_info,
)

# Every test enumerates the registry: a new network is its module plus one registry entry.
NAMES = known_networks()
NETS_DIR = Path(nets.__file__).parent
NOT_BUILDERS = {"__init__", "registry", "table", "common"}  # the registry's own modules

# Seed 000, "Basic CNN+LSTM" summary at 39x53x3: params of every layer, in order.
CNN_LSTM_SEED_PARAMS = [
    896, 128, 0, 0, 18496, 256, 36928, 256, 0, 0, 73856, 512, 147584, 512, 0, 0, 0,
    1573888, 0, 4096, 0, 0, 480, 0, 840, 0, 55, 6,
]


def as_list(result):
    """Model outputs as a list (Keras returns a bare tensor for a one-output model)."""
    return list(result) if isinstance(result, (list, tuple)) else [result]


def params(layer) -> int:
    return int(sum(np.prod(w.shape) for w in layer.weights))


@pytest.fixture(scope="module")
def models():
    """Every registered network at its default shape, built once."""
    return {name: build_network(name) for name in NAMES}


@pytest.fixture(scope="module")
def seed_cnn_lstm():
    return build_network("cnn_lstm", (39, 53, 3), outputs=("w",))


@pytest.fixture(scope="module")
def seed_lrcn():
    return build_network("lrcn", (224, 224, 3), timesteps=7, outputs=("class",),
                         num_classes=3)


# --- registry -------------------------------------------------------------------------

def test_the_registry_names_each_network_once_by_its_own_name():
    assert list(NETWORKS) == NAMES and len(set(NAMES)) == len(NAMES)
    assert all(NETWORKS[name].name == name for name in NAMES)
    assert {"pilotnet", "tinypilotnet", "classification_7w_4v"} <= set(NAMES)  # the seed's


def test_every_builder_module_has_a_registry_entry():
    modules = {p.stem for p in NETS_DIR.glob("*.py")} - NOT_BUILDERS
    used = {getattr(info.build, "func", info.build).__module__.rpartition(".")[2]
            for info in NETWORKS.values()}
    assert modules == used


def test_the_docs_registry_table_is_the_registry():
    from follow_line.driving.nets.table import registry_table

    page = (Path(__file__).resolve().parents[1] / "docs" / "networks.md").read_text()
    section = re.search(r"<!-- BEGIN registry -->\n(.*?)<!-- END registry -->", page, re.DOTALL)
    assert section, "docs/networks.md has no registry section"
    assert section.group(1) == registry_table(), "docs/networks.md: run make docs-networks"
    assert all(f"| `{name}` |" in section.group(1) for name in NAMES)


def test_unknown_name_lists_all_known():
    for call in (lambda: network_info("resnet"), lambda: build_network("resnet")):
        with pytest.raises(ValueError) as err:
            call()
        message = str(err.value)
        assert "'resnet'" in message
        assert all(name in message for name in NAMES)


def test_infos_are_consistent():
    for name in NAMES:
        info = network_info(name)
        assert info.task in TASKS
        assert info.frames in FRAME_MODES
        assert len(info.input_shape) == 3 and all(d > 0 for d in info.input_shape)
        assert info.offsets[0] == 0
        assert list(info.offsets) == sorted(info.offsets, reverse=True)  # newest first
        assert len(set(info.offsets)) == len(info.offsets)
        assert info.description
        if info.frames == "single":
            assert info.offsets == (0,)
        elif info.frames in ("stack", "stack_diff"):
            assert info.offsets == (0, -10)
        if info.task == "regression":
            assert info.outputs == ("v", "w")
        with pytest.raises(dataclasses.FrozenInstanceError):
            info.name = "other"  # type: ignore[misc]


def test_frame_modes_of_the_zoo():
    frames = {name: network_info(name).frames for name in NAMES}
    assert frames["pilotnet_stacked"] == "stack"
    assert frames["pilotnet_stacked_diff"] == "stack_diff"
    assert {n for n, f in frames.items() if f == "sequence"} >= {
        "lstm_tinypilotnet", "deepest_lstm_tinypilotnet", "lrcn", "convlstm"}
    assert frames["cnn_lstm"] == "single"  # its LSTM reads the dense features, not frames


def test_package_reexports_registry():
    assert nets.build_network is build_network
    assert nets.network_info is network_info
    assert set(nets.__all__) >= {"NetworkInfo", "NETWORKS", "build_network",
                                 "known_networks", "network_info"}


# --- input / output contract ----------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_input_contract(models, name):
    info = network_info(name)
    model = models[name]
    assert len(model.inputs) == 1
    expected = info.model_input_shape()
    assert tuple(model.inputs[0].shape) == (None, *expected)
    assert model.inputs[0].name == info.input_name
    height, width, channels = info.input_shape
    if info.frames == "sequence":
        assert info.input_name == "frames"
        assert expected == (len(info.offsets), height, width, channels)
    else:
        assert info.input_name == "image"
        factor = 2 if info.frames in ("stack", "stack_diff") else 1
        assert expected == (height, width, channels * factor)


@pytest.mark.parametrize("name", NAMES)
def test_forward_pass_outputs(models, name):
    info = network_info(name)
    model = models[name]
    assert list(model.output_names) == list(info.outputs)
    batch = np.zeros((2, *info.model_input_shape()), dtype="float32")
    # Compiled inference (predict_on_batch): cnn_lstm's two LSTMs over 1024 steps take
    # seconds eagerly.
    outputs = [np.asarray(o) for o in as_list(model.predict_on_batch(batch))]
    assert len(outputs) == len(info.outputs)
    sizes = {"v": 1, "w": 1, "w_class": 7, "v_class": 4}
    for out_name, out in zip(info.outputs, outputs, strict=True):
        assert out.shape == (2, sizes[out_name]), out_name
        assert np.all(np.isfinite(out))
        if out_name.endswith("_class"):
            assert np.all(out >= 0)
            np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_model_names_are_registry_names(models):
    assert all(models[name].name == name for name in NAMES)


def test_stacked_variants_have_six_channels(models):
    for name in ("pilotnet_stacked", "pilotnet_stacked_diff"):
        assert tuple(models[name].inputs[0].shape) == (None, 66, 200, 6)
    # Same network as PilotNet but for the first layers, which see twice the channels.
    extra = 4 * 3 + 5 * 5 * 3 * 24  # input BatchNormalization (4 per channel) + conv1
    assert models["pilotnet_stacked"].count_params() == (
        models["pilotnet"].count_params() + extra)
    assert models["pilotnet_stacked_diff"].count_params() == (
        models["pilotnet_stacked"].count_params())


def test_custom_input_shape_and_timesteps():
    model = build_network("pilotnet_stacked", (66, 200, 1))
    assert tuple(model.inputs[0].shape) == (None, 66, 200, 2)
    info = network_info("lrcn")
    assert info.model_input_shape((20, 40, 1)) == (5, 20, 40, 1)
    # timesteps=1 is the seed's single-frame case.
    model = build_network("lstm_tinypilotnet", (33, 100, 3), timesteps=1)
    assert tuple(model.inputs[0].shape) == (None, 1, 33, 100, 3)
    out = as_list(model(np.zeros((1, 1, 33, 100, 3), "float32"), training=False))
    assert [tuple(o.shape) for o in out] == [(1, 1), (1, 1)]


def test_constant_v_variant_has_only_w_head():
    model = build_network("pilotnet", outputs=("w",))
    assert list(model.output_names) == ["w"]
    assert tuple(model.outputs[0].shape) == (None, 1)


@pytest.mark.parametrize("options", [
    {"outputs": ("v", "x")}, {"outputs": ()}, {"outputs": ("w", "w")},
])
def test_bad_outputs_rejected(options):
    with pytest.raises(ValueError, match="outputs"):
        build_network("tinypilotnet", **options)


def test_bad_input_shape_rejected():
    with pytest.raises(ValueError, match="input_shape"):
        build_network("pilotnet", (66, 200))
    with pytest.raises(ValueError, match="input_shape"):
        build_network("tinypilotnet", (0, 32, 3))
    with pytest.raises(ValueError, match="timesteps"):
        build_network("lrcn", timesteps=0)
    with pytest.raises(ValueError, match="num_classes"):
        build_network("lrcn", outputs=("class",))


# --- seed architectures ---------------------------------------------------------------

def test_pilotnet_structure(models):
    model = models["pilotnet"]
    first = model.layers[1]
    assert isinstance(first, keras.layers.BatchNormalization)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [(c.filters, c.kernel_size, c.strides) for c in convs] == [
        (24, (5, 5), (2, 2)), (36, (5, 5), (2, 2)), (48, (5, 5), (2, 2)),
        (64, (3, 3), (1, 1)), (64, (3, 3), (1, 1))]
    assert all(c.get_config()["activation"] == "relu" for c in convs)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [d.units for d in dense] == [1164, 100, 50, 10, 1, 1]
    assert [d.get_config()["activation"] for d in dense] == ["relu"] * 4 + ["linear"] * 2
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in model.layers)
    # 66x200 -> 31x98 -> 14x47 -> 5x22 -> 3x20 -> 1x18 (x64 = 1152 features).
    assert tuple(convs[-1].output.shape) == (None, 1, 18, 64)


def test_tinypilotnet_structure(models):
    model = models["tinypilotnet"]
    assert isinstance(model.layers[1], keras.layers.BatchNormalization)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [(c.filters, c.kernel_size, c.strides) for c in convs] == [
        (8, (3, 3), (2, 2)), (8, (3, 3), (2, 2))]
    dropout = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert [d.rate for d in dropout] == [0.5]
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [d.units for d in dense] == [50, 10, 1, 1]


def test_recurrent_tinypilotnets_use_convlstm(models):
    lstm = models["lstm_tinypilotnet"]
    cells = [layer for layer in lstm.layers if isinstance(layer, keras.layers.ConvLSTM2D)]
    assert [c.filters for c in cells] == [40]
    deepest = models["deepest_lstm_tinypilotnet"]
    cells = [layer for layer in deepest.layers if isinstance(layer, keras.layers.ConvLSTM2D)]
    assert [c.filters for c in cells] == [16, 16, 12]
    assert [c.return_sequences for c in cells] == [True, True, False]
    dense = [layer for layer in deepest.layers if isinstance(layer, keras.layers.Dense)]
    assert [d.units for d in dense] == [100, 50, 1, 1]


def test_convlstm_stack(models):
    model = models["convlstm"]
    cells = [layer for layer in model.layers if isinstance(layer, keras.layers.ConvLSTM2D)]
    assert len(cells) == 3
    assert all(c.filters == 40 and c.kernel_size == (3, 3) for c in cells)
    assert [c.return_sequences for c in cells] == [True, True, False]
    for cell in cells:  # every ConvLSTM2D is followed by a BatchNormalization
        index = model.layers.index(cell)
        norm = model.layers[index + 1]
        assert isinstance(norm, keras.layers.BatchNormalization)
        assert norm.momentum == 0.9  # its moving averages settle in ~25 batches
    raw = build_network("convlstm", (16, 32, 1), stem_filters=(), conv_lstm_layers=4)
    assert sum(isinstance(layer, keras.layers.ConvLSTM2D) for layer in raw.layers) == 4
    assert not any(isinstance(layer, keras.layers.TimeDistributed) for layer in raw.layers)


def test_classification_heads(models):
    one_v = models["classification_7w_1v"]
    four_v = models["classification_7w_4v"]
    assert list(one_v.output_names) == ["w_class"]
    assert list(four_v.output_names) == ["w_class", "v_class"]
    for model in (one_v, four_v):
        heads = [model.get_layer(n) for n in model.output_names]
        assert all(h.get_config()["activation"] == "softmax" for h in heads)
    assert [four_v.get_layer(n).units for n in ("w_class", "v_class")] == [7, 4]
    # One builder: the 7w_4v network is the 7w_1v network plus a v head on 1024 features.
    assert four_v.count_params() == one_v.count_params() + 1024 * 4 + 4


def test_cnn_lstm_matches_seed_exactly(seed_cnn_lstm):
    model = seed_cnn_lstm
    assert model.count_params() == 1_858_789
    non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    assert non_trainable == 2_880
    assert [params(layer) for layer in model.layers[1:]] == CNN_LSTM_SEED_PARAMS
    assert tuple(model.get_layer("flatten").output.shape) == (None, 1536)
    assert tuple(model.get_layer("to_sequence").output.shape) == (None, 1024, 1)
    assert list(model.output_names) == ["w"]


def test_cnn_lstm_default_adds_v_head(models):
    assert models["cnn_lstm"].count_params() == 1_858_789 + 6
    assert list(models["cnn_lstm"].output_names) == ["v", "w"]


def test_lrcn_matches_seed_custom_model(seed_lrcn):
    model = seed_lrcn
    counts = {layer.name: params(layer) for layer in model.layers}
    assert counts["conv1"] == 1792
    assert counts["conv2"] == 36928
    assert counts["fc1"] == 65792
    assert counts["fc2"] == 16448
    assert counts["class"] == 195  # 3 classes (the seed's summary shows 5: 325)
    # Keras LSTM: one bias per gate; the seed's CuDNNLSTM had two (329,728).
    assert counts["lstm"] == 4 * (256 * (64 + 256) + 256) == 328_704
    shapes = {layer.name: tuple(layer.output.shape) for layer in model.layers}
    assert shapes["conv1"] == (None, 7, 222, 222, 64)
    assert shapes["pool"] == (None, 7, 111, 111, 64)
    assert shapes["conv2"] == (None, 7, 109, 109, 64)
    assert shapes["gap"] == (None, 7, 64)
    assert model.get_layer("class").get_config()["activation"] == "softmax"
    five = build_network("lrcn", (224, 224, 3), timesteps=7, outputs=("class",),
                         num_classes=5)
    assert params(five.get_layer("class")) == 325


def test_lrcn_flatten_keeps_where_the_line_is_and_gap_does_not():
    """Global average pooling gives the same features for a line left or right of centre."""
    keras.utils.set_random_seed(0)
    gap = build_network("lrcn", outputs=("w",))
    flat = build_network("lrcn", outputs=("w",), pooling="flatten")
    assert tuple(flat.get_layer("flatten").output.shape) == (None, 5, 3 * 11 * 64)
    assert params(flat.get_layer("lstm")) == 4 * (256 * (3 * 11 * 64 + 256) + 256)
    frames = np.zeros((2, 5, 33, 100, 3), np.float32)
    frames[0, :, :, 30:36, 0] = 1.0  # a red stripe left of centre
    frames[1, :, :, 64:70, 0] = 1.0  # the same stripe right of centre

    def features(model, layer):
        probe = keras.Model(model.inputs, model.get_layer(layer).output)
        return keras.ops.convert_to_numpy(probe(frames))

    left, right = features(gap, "gap")
    np.testing.assert_allclose(left, right, atol=1e-6)
    left, right = features(flat, "flatten")
    assert np.abs(left - right).max() > 1e-2
    with pytest.raises(ValueError, match="pooling must be one of gap, flatten"):
        build_network("lrcn", pooling="max")


def test_cnn_lstm_reads_its_features_in_fewer_wider_steps_on_request():
    model = build_network("cnn_lstm", outputs=("w",), steps=32)
    assert tuple(model.get_layer("to_sequence").output.shape) == (None, 32, 32)
    assert params(model.get_layer("lstm1")) == 4 * (10 * (32 + 10) + 10)
    with pytest.raises(ValueError, match="steps must divide 1024"):
        build_network("cnn_lstm", steps=30)


def test_lstm_tinypilotnet_widens_its_last_convolution_on_request():
    seed = build_network("lstm_tinypilotnet")
    assert tuple(seed.get_layer("flatten").output.shape) == (None, 3 * 11)
    wide = build_network("lstm_tinypilotnet", conv4_filters=8)
    assert tuple(wide.get_layer("flatten").output.shape) == (None, 3 * 11 * 8)
    assert params(wide.get_layer("conv4")) == 8 * (3 * 3 * 40 + 1)
    with pytest.raises(ValueError, match="conv4_filters must be an integer >= 1"):
        build_network("lstm_tinypilotnet", conv4_filters=0)


@pytest.mark.parametrize("network", ["lrcn", "convlstm"])
def test_standardised_sequence_networks_see_a_darker_world_unchanged(network):
    keras.utils.set_random_seed(0)
    model = build_network(network, standardise=True)
    assert "standardise" not in {layer.name for layer in build_network(network).layers}
    frames = np.random.default_rng(0).uniform(0.0, 1.0, (2, 5, 33, 100, 3)).astype(np.float32)
    bright, dark = (model.predict(x, verbose=0) for x in (frames, frames * 0.55))
    for a, b in zip(bright, dark, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)
    assert params(model.get_layer("standardise")) == 0


def test_an_unknown_builder_option_names_the_options():
    from follow_line.errors import FollowLineError

    with pytest.raises(FollowLineError, match="network lrcn has no option depth; options: "
                                              ".*pooling"):
        build_network("lrcn", depth=3)


# --- backend independence -------------------------------------------------------------

def test_no_tensorflow_in_nets():
    package = Path(nets.__file__).parent
    sources = sorted(package.glob("*.py"))
    assert len(sources) >= 8
    pattern = re.compile(r"^\s*(import|from)\s+tensorflow|\btf\.", re.MULTILINE)
    offenders = [p.name for p in sources if pattern.search(p.read_text())]
    assert offenders == []
