import json

import numpy as np
import pytest

from follow_line.cli import main
from follow_line.driving.expert import ExpertDriver
from follow_line.driving.zoo import build_untrained, load_card, save_model
from follow_line.errors import FollowLineError
from follow_line.learning.data import Episode, write_folder_dataset
from follow_line.learning.evaluate import card_metrics, evaluate_models
from follow_line.world.simulator import Simulator


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, oval):
    """A 12-frame data.csv dataset of the expert on the test oval."""
    sim = Simulator(oval, "clockwise")
    expert = ExpertDriver(sim.camera)
    frames, v, w, t = [], [], [], []
    for _ in range(12):
        image = sim.frame()
        cmd = expert(image, sim.time)
        frames.append(image), v.append(cmd[0]), w.append(cmd[1]), t.append(sim.time)
        sim.step(*cmd)
    folder = tmp_path_factory.mktemp("data")
    write_folder_dataset(folder, [Episode("oval_lap0", "oval", "clockwise", "lap", np.array(t),
                                          np.array(v, np.float32), np.array(w, np.float32),
                                          np.stack(frames))])
    return folder


def test_metrics_from_data_are_stored_in_the_card_and_read_back(tmp_path, dataset):
    model, card = build_untrained("tinypilotnet")
    save_model(model, card, tmp_path / "models")
    rows = evaluate_models(["tinypilotnet"], {"train": dataset, "test": dataset},
                           tmp_path / "a", folder=tmp_path / "models", update_cards=True,
                           progress=False)
    assert [r["split"] for r in rows] == ["train", "test"]
    assert rows[0]["metrics"]["frames"]["count"] == 12
    stored = load_card("tinypilotnet", tmp_path / "models").metrics
    assert set(stored) == {"train", "test"} and stored["test"]["w"]["mae"] >= 0
    card_metrics(["tinypilotnet"], tmp_path / "b", folder=tmp_path / "models")
    for name in ("metrics.md", "metrics.json"):
        assert (tmp_path / "a" / name).exists()
    assert (tmp_path / "a" / "metrics.md").read_text() == \
        (tmp_path / "b" / "metrics.md").read_text()
    assert len(json.loads((tmp_path / "b" / "metrics.json").read_text())["rows"]) == 2


def test_cards_without_metrics_and_missing_data_are_errors(tmp_path, capsys):
    model, card = build_untrained("tinypilotnet")
    save_model(model, card, tmp_path)
    with pytest.raises(FollowLineError, match="holds no metrics"):
        card_metrics(["tinypilotnet"], tmp_path / "out", folder=tmp_path)
    assert main(["evaluate", "--models", "tinypilotnet", "--out", str(tmp_path / "o"),
                 "--models-dir", str(tmp_path)]) == 2
    assert "--train-data and --test-data, or --from-cards" in capsys.readouterr().err


def test_networks_sharing_a_preprocessing_share_each_dataset_load(tmp_path, dataset,
                                                                  monkeypatch):
    from follow_line.learning import data

    for name in ("tiny_a", "tiny_b"):
        model, card = build_untrained("tinypilotnet")
        card.name = name
        save_model(model, card, tmp_path)
    loads = []
    real = data.load_episodes
    monkeypatch.setattr(data, "load_episodes", lambda *a, **k: loads.append(a) or real(*a, **k))
    rows = evaluate_models(["tiny_a", "tiny_b"], {"train": dataset, "test": dataset},
                           tmp_path / "out", folder=tmp_path, progress=False)
    assert [(r["model"], r["split"]) for r in rows] == [
        ("tiny_a", "train"), ("tiny_a", "test"), ("tiny_b", "train"), ("tiny_b", "test")]
    assert len(loads) == 2


def test_nan_outputs_on_the_data_are_an_error_not_nan_metrics():
    import numpy as np
    import pytest

    from follow_line.driving.zoo import build_untrained
    from follow_line.errors import FollowLineError
    from follow_line.learning.data import Episode
    from follow_line.learning.metrics import evaluate

    model, card = build_untrained("tinypilotnet")
    h, w, c = card.preprocessing.frame_shape
    frames = np.zeros((3, h, w, c), np.float32)
    frames[1] = np.inf  # a frame the network turns into NaN
    episode = Episode("e", None, None, "recorded", np.array([0.0, 0.05, 0.1]),
                      np.ones(3, np.float32), np.zeros(3, np.float32), frames)
    with pytest.raises(FollowLineError, match="NaN or infinite for .* values on this data"):
        evaluate(model, card, [episode])
