import numpy as np
import pytest

from follow_line.driving.expert import ExpertDriver
from follow_line.driving.frames import FrameBuffer
from follow_line.driving.nets import FRAME_MODES, NETWORKS, known_networks
from follow_line.driving.zoo import default_card, load_model
from follow_line.errors import FollowLineError
from follow_line.learning.balance import balanced_items, class_weighting, class_weights
from follow_line.learning.batches import EpisodeBatches, compose_inputs, flip_inputs, flip_targets
from follow_line.learning.data import Episode
from follow_line.learning.labels import w_class
from follow_line.learning.metrics import classification_metrics, evaluate, metrics_tables
from follow_line.learning.train import TrainConfig, split_episodes, train_network
from follow_line.world.simulator import Simulator, StartOffset


def record(circuit, name, frames=16, lateral=0.0):
    """A short raw episode driven by the expert."""
    sim = Simulator(circuit, "clockwise", start=StartOffset(lateral=lateral))
    expert = ExpertDriver(sim.camera)
    images, v, w, t = [], [], [], []
    for _ in range(frames):
        image = sim.frame()
        cmd = expert(image, sim.time)
        images.append(image)
        v.append(cmd[0])
        w.append(cmd[1])
        t.append(sim.time)
        sim.step(*cmd)
    return Episode(name=name, circuit=circuit.name, direction="clockwise", kind="lap",
                   t=np.array(t), v=np.array(v, np.float32), w=np.array(w, np.float32),
                   frames=np.stack(images))


@pytest.fixture(scope="module")
def raw_episodes(oval):
    return [record(oval, "a"), record(oval, "b", lateral=1.0), record(oval, "c", lateral=-1.0)]


def preprocess(episodes, card):
    return [Episode(e.name, e.circuit, e.direction, e.kind, e.t, e.v, e.w,
                    np.stack([card.preprocessing.apply(f) for f in e.frames]))
            for e in episodes]


@pytest.mark.parametrize("network", [next(n for n, info in NETWORKS.items() if info.frames == mode)
                                     for mode in FRAME_MODES])
def test_training_inputs_equal_what_the_frame_buffer_serves_when_driving(raw_episodes, network):
    card = default_card(network)
    ep = preprocess(raw_episodes[:1], card)[0]
    buffer = FrameBuffer(card.frames.mode, card.frames.offsets)
    composed = compose_inputs(ep.frames, np.arange(len(ep)), card)
    for k in range(len(ep)):
        buffer.push(ep.frames[k], ep.t[k])
        assert np.array_equal(buffer.network_input(), composed[k])


def test_flip_mirrors_images_and_negates_w():
    card = default_card("pilotnet")
    x = np.arange(2 * 3 * 4 * 1, dtype=np.float32).reshape(2, 3, 4, 1)
    assert np.array_equal(flip_inputs(x)[0, :, 0, 0], x[0, :, 3, 0])
    y = flip_targets({"v": np.array([[0.5]]), "w": np.array([[0.2]])}, card)
    assert y["v"][0, 0] == 0.5 and y["w"][0, 0] == -0.2
    c = flip_targets({"w_class": np.array([0, 3, 5])}, default_card("classification_7w_4v"))
    assert c["w_class"].tolist() == [6, 3, 1]


def test_validation_never_shares_an_episode(raw_episodes):
    train, val = split_episodes(raw_episodes, 0.34, (), seed=3)
    assert set(train).isdisjoint(val) and sorted(train + val) == [0, 1, 2] and len(val) == 1
    with pytest.raises(FollowLineError, match="circuits in the data: \\['oval'\\]"):
        split_episodes(raw_episodes, 0.2, ("oval",), seed=0)
    with pytest.raises(FollowLineError, match="at least two episodes"):
        split_episodes(raw_episodes[:1], 0.2, (), seed=0)


def test_class_weights_and_resampling(raw_episodes):
    weights = class_weights(np.array([3, 3, 3, 1]), 7)
    assert weights[3] == pytest.approx(4 / (2 * 3)) and weights[1] == pytest.approx(4 / 2)
    assert weights[0] == 0.0
    items = np.array([(e, k) for e in range(3) for k in range(len(raw_episodes[e]))])
    balanced = balanced_items(items, raw_episodes, seed=0)
    labels = [w_class(raw_episodes[e].w[k]) for e, k in balanced]
    counts = np.bincount(labels)
    assert len(set(counts[counts > 0])) == 1  # every present class equally often


def test_classification_metrics():
    truth = np.array([0, 1, 1, 2])
    probs = np.array([[0.8, 0.2, 0.0], [0.1, 0.6, 0.3], [0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    m = classification_metrics(truth, probs)
    assert m["accuracy"] == pytest.approx(0.75)
    assert m["top2_accuracy"] == pytest.approx(1.0)
    assert m["precision"] == pytest.approx((0.5 + 1 + 1) / 3)
    assert m["recall"] == pytest.approx((1 + 0.5 + 1) / 3)


# Training options of a network's step test (default: none) and the extra variants tried.
TRAIN_OPTIONS = {"tinypilotnet": {"constant_v": 6.0},
                 "classification_7w_4v": {"balance": "biased"},
                 "classification_7w_1v": {"balance": "imbalanced", "constant_v": 7.0},
                 "lrcn": {"balance": "tempered"}}
SLOW = {"cnn_lstm"}  # its LSTM walks 1024 steps
FAMILIES = [pytest.param(name, TRAIN_OPTIONS.get(name, {}), id=name,
                         marks=[pytest.mark.slow] if name in SLOW else [])
            for name in known_networks()] + [("classification_7w_4v", {"balance": "balanced"})]


@pytest.mark.parametrize("network,options", FAMILIES)
def test_each_family_trains_a_step_and_reloads(tmp_path, raw_episodes, network, options):
    config = TrainConfig(network=network, epochs=1, batch_size=8, flip=True,
                         val_fraction=0.34, **options)
    card = default_card(network, None, config.image_mode, config.constant_v)
    episodes = preprocess(raw_episodes, card)
    card = train_network(config, episodes, tmp_path, card=card, verbose=0)
    model, loaded = load_model(card.name, tmp_path)
    assert loaded.training["epochs_run"] == 1 and loaded.training["validation_episodes"]
    assert loaded.training["seconds"] > 0
    assert loaded.constant_v == options.get("constant_v", loaded.constant_v)
    metrics = evaluate(model, loaded, episodes)
    assert metrics["frames"]["count"] == sum(len(e) for e in episodes)
    for name in model.output_names:
        assert all(np.isfinite(v) for v in metrics[name].values())
    table = metrics_tables([{"model": card.name, "split": "train", "metrics": metrics}])
    assert f"| {card.name} | train |" in table


def test_stride_patience_and_dataset_are_recorded(tmp_path, raw_episodes):
    config = TrainConfig(network="tinypilotnet", epochs=1, batch_size=8, val_fraction=0.34,
                         stride=3, patience=2)
    card = default_card("tinypilotnet", None, config.image_mode, None)
    episodes = preprocess(raw_episodes, card)
    card = train_network(config, episodes, tmp_path, card=card, verbose=0, dataset="data/x")
    training = card.training
    assert (training["dataset"], training["stride"], training["patience"]) == ("data/x", 3, 2)
    assert training["dataset_appearance"] is None  # no dataset index there
    trained = [e for e in episodes if e.name in training["episodes"]]
    assert training["frames"] == sum(len(range(0, len(e), 3)) for e in trained)
    with pytest.raises(FollowLineError, match="stride must be >= 1"):
        train_network(TrainConfig(network="tinypilotnet", stride=0), episodes, tmp_path,
                      card=card, verbose=0)


def test_resampled_epochs_are_fresh_fractions_that_see_every_frame(raw_episodes):
    card = default_card("tinypilotnet", None, "cropped", None)
    episodes = preprocess(raw_episodes, card)
    items = np.array([(e, k) for e in range(len(episodes)) for k in range(len(episodes[e]))])
    batches = EpisodeBatches(episodes, card, items, batch_size=4, output_names=["v", "w"],
                             shuffle=True, per_epoch=12)
    assert len(batches) == 3
    seen = []
    for _ in range(4):
        epoch = np.concatenate([batches._epoch_items(i) for i in range(len(batches))])
        assert len(epoch) == 12 and len(np.unique(epoch, axis=0)) == 12
        seen.append({tuple(item) for item in epoch})
        batches.on_epoch_end()
    assert seen[0] != seen[1]
    assert set.union(*seen) == {tuple(item) for item in items}
    x, y = batches[2]
    assert x.shape[0] == 4 and y[0].shape == (4, 1)


def test_a_resampled_training_fits_a_fresh_share_each_epoch(tmp_path, raw_episodes, monkeypatch):
    from follow_line.learning import batches

    fitted = []  # the training items of each batch Keras asked for

    class Recorded(EpisodeBatches):
        def __getitem__(self, i):
            if self.shuffle:
                fitted.append({tuple(item) for item in self._epoch_items(i)})
            return super().__getitem__(i)

    monkeypatch.setattr(batches, "EpisodeBatches", Recorded)
    config = TrainConfig(network="tinypilotnet", epochs=4, batch_size=8, val_fraction=0.34,
                         stride=4, resample=True, patience=10)
    card = default_card("tinypilotnet", None, config.image_mode, None)
    card = train_network(config, preprocess(raw_episodes, card), tmp_path, card=card,
                         verbose=0)
    assert card.training["resample"] is True
    assert card.training["frames"] == 2 * len(range(0, 16, 4))
    epochs = fitted[:4]  # one batch of 8 frames an epoch (Keras may fetch one more at the end)
    assert all(len(e) == 8 for e in epochs)
    assert len(set.union(*epochs)) == 32  # four epochs: all 2 x 16 training frames


def test_the_card_says_how_the_training_world_looked(tmp_path, raw_episodes):
    from follow_line.learning.data import write_dataset_index

    look = {"randomised": {"texture": 0.3}, "change_every_s": 4.0}
    write_dataset_index(tmp_path / "ds", [], appearance=look)
    config = TrainConfig(network="tinypilotnet", epochs=1, batch_size=8, val_fraction=0.34)
    card = default_card("tinypilotnet", None, config.image_mode, None)
    card = train_network(config, preprocess(raw_episodes, card), tmp_path / "out", card=card,
                         verbose=0, dataset=str(tmp_path / "ds"))
    assert card.training["dataset_appearance"] == look


def test_appearance_augmentation_changes_each_sample_alike_across_its_frames():
    from follow_line.driving.vision import Preprocessing
    from follow_line.driving.zoo import default_card
    from follow_line.learning.augment import Photometric, augment_frames, check_preprocessing

    rng = np.random.default_rng(0)
    pre = Preprocessing()
    frames = rng.random((10, *pre.frame_shape), dtype=np.float32)  # "unit": 0-1
    params = Photometric(noise_std=0.0, blur_sigma=0.0).sample(rng, 3)
    out = augment_frames(frames[:3], params, pre)
    assert out.shape == (3, *pre.frame_shape) and 0.0 <= out.min() and out.max() <= 1.0
    k = 1  # brightness, gamma and cast of sample 1, by hand
    expect = np.clip(255.0 * np.clip(frames[k] * 255 * params["brightness"][k], 0, 255)
                     / 255.0, 0, 255)
    expect = 255.0 * (expect / 255.0) ** params["gamma"][k] * params["cast"][k]
    np.testing.assert_allclose(out[k], np.clip(expect, 0, 255) / 255.0, atol=1e-5)
    # A stacked sample: both of its frames get the same change (noise aside).
    card = default_card("pilotnet_stacked")
    assert card.frames.mode in ("stack", "stack_diff")
    index = np.array([5, 6, 7])
    x = compose_inputs(frames, index, card,
                       lambda images, number: augment_frames(images, params, pre, number))
    c = pre.channels
    before = frames[np.maximum(index + card.frames.offsets[1], 0)]
    np.testing.assert_allclose(x[..., c:], augment_frames(before, params, pre, 1), atol=1e-6)
    with pytest.raises(FollowLineError, match="colour in rgb, bgr, gray"):
        check_preprocessing(Preprocessing(colour="hsv"))


def test_augmented_training_records_its_ranges_in_the_card(tmp_path, raw_episodes):
    from follow_line.driving.card import ModelCard

    config = TrainConfig(network="tinypilotnet", epochs=1, batch_size=8, val_fraction=0.34,
                         augment=True)
    card = default_card("tinypilotnet", None, config.image_mode, None)
    card = train_network(config, preprocess(raw_episodes, card), tmp_path, card=card,
                         verbose=0)
    assert card.training["augmentation"]["gamma"] == [0.6, 2.0]
    saved = ModelCard.load(tmp_path / f"{card.name}.json")
    assert saved.training["augmentation"] == card.training["augmentation"]


def _turning_episode() -> Episode:
    """16 frames: 8 straight, 4 gentle left, 2 sharp left, 2 sharp right (4 w classes)."""
    w = np.array([0.0] * 8 + [0.3] * 4 + [1.5] * 2 + [-1.5] * 2, np.float32)
    return Episode("e", None, None, "recorded", np.arange(len(w)) * 0.05,
                   np.full(len(w), 10.0, np.float32), w, np.zeros((len(w), 16, 32, 3), np.float32))


def test_biased_regression_weighs_each_frame_by_its_w_class():
    from follow_line.driving.zoo import default_card

    episode = _turning_episode()
    card = default_card("tinypilotnet")
    items = np.array([(0, k) for k in range(len(episode))])
    weigh = class_weighting(card, items, [episode])
    scale = card.outputs["w"]["scale"]
    y = {"v": np.full((4, 1), 10.0 / 13.0, np.float32),
         "w": np.array([[0.0], [0.3], [1.5], [-1.5]], np.float32) / scale}
    weights = weigh(y)
    # 4 classes present in 16 frames: 16 / (4 * count)
    np.testing.assert_allclose(weights["w"], [16 / 32, 16 / 16, 16 / 8, 16 / 8])
    np.testing.assert_array_equal(weights["v"], weights["w"])  # the frame's weight, every output


def test_tempered_weights_are_the_square_root_of_biased_ones_with_mean_one():
    from follow_line.driving.zoo import default_card

    episode = _turning_episode()
    card = default_card("tinypilotnet")
    items = np.array([(0, k) for k in range(len(episode))])
    weigh = class_weighting(card, items, [episode], power=0.5)
    scale = card.outputs["w"]["scale"]
    weights = weigh({"v": episode.v[:, None] / 13.0, "w": episode.w[:, None] / scale})
    assert weights["w"].mean() == pytest.approx(1.0)  # the loss keeps its scale
    biased = np.array([16 / 32, 16 / 16, 16 / 8])  # straight, gentle, sharp (as above)
    np.testing.assert_allclose(weights["w"][[0, 8, 12]] / weights["w"][0],
                               np.sqrt(biased / biased[0]), rtol=1e-6)


def test_biased_classifier_weighs_both_outputs_by_the_frames_w_class():
    from follow_line.driving.zoo import default_card

    episode = _turning_episode()
    card = default_card("classification_7w_4v")
    weigh = class_weighting(card, np.array([(0, k) for k in range(len(episode))]), [episode])
    # w classes 3 (straight), 4, 6 and 0; v classes deliberately all the rare slowest one
    weights = weigh({"w_class": np.array([3, 4, 6, 0]), "v_class": np.array([0, 0, 0, 0])})
    np.testing.assert_allclose(weights["w_class"], [16 / 32, 16 / 16, 16 / 8, 16 / 8])
    np.testing.assert_array_equal(weights["v_class"], weights["w_class"])


# Tiny trainings as computed on main before train_network was split into steps (commit
# 1bf36c6, 2-core AMD EPYC, Keras 3 on TensorFlow-cpu): the batch sequences exactly (values
# rounded to 1e-4), the best validation loss and the trained weights' absolute sum to 1e-4.
BEFORE_THE_SPLIT = [
    ("tinypilotnet", {"balance": "biased", "stride": 2},
     "0e834d06c524540c", "033c8276adb5a356", 0.03109024092555046, 876.188232421875),
    ("tinypilotnet", {"balance": "tempered", "augment": True},
     "2ca51e3d7d164f87", "4759daca42199894", 0.03736095502972603, 876.2548828125),
    ("classification_7w_4v", {"balance": "balanced", "resample": True, "stride": 2},
     "8255959b2f51a0fa", "eb870ca23311a264", 3.1193594932556152, 58023.03125),
]


def _batches_digest(batches, epochs):
    """Digest of the batches a copy of `batches` serves over `epochs` epochs."""
    import copy
    import hashlib

    batches = copy.deepcopy(batches)
    digest = hashlib.sha256()
    for _ in range(epochs):
        for i in range(len(batches)):
            for part in batches[i]:
                for a in (part if isinstance(part, tuple) else (part,)):
                    digest.update(np.round(np.asarray(a, np.float64), 4).tobytes())
        batches.on_epoch_end()
    return digest.hexdigest()[:16]


@pytest.mark.parametrize("network,options,train_digest,val_digest,loss,weights",
                         BEFORE_THE_SPLIT)
def test_a_tiny_training_is_what_it_was_before_the_steps_were_split(
        tmp_path, raw_episodes, monkeypatch, network, options, train_digest, val_digest, loss,
        weights):
    import keras

    served = {}
    fit = keras.Model.fit

    def recording_fit(model, x, validation_data=None, epochs=1, **kwargs):
        served["train"] = _batches_digest(x, epochs)
        served["val"] = _batches_digest(validation_data, 1)
        return fit(model, x, validation_data=validation_data, epochs=epochs, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", recording_fit)
    config = TrainConfig(network=network, epochs=2, batch_size=8, val_fraction=0.34, **options)
    card = default_card(network, None, config.image_mode, config.constant_v)
    card = train_network(config, preprocess(raw_episodes, card), tmp_path, card=card,
                         verbose=0)
    model, _ = load_model(card.name, tmp_path)
    assert (served["train"], served["val"]) == (train_digest, val_digest)
    assert card.training["best_val_loss"] == pytest.approx(loss, rel=1e-4)
    assert sum(float(np.abs(w).sum()) for w in model.get_weights()) == pytest.approx(
        weights, rel=1e-4)
