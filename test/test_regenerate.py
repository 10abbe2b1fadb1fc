from pathlib import Path

import pytest

from follow_line.driving.nets import known_networks
from follow_line.driving.zoo import shipped_models
from follow_line.errors import FollowLineError
from follow_line.learning.regenerate import read_spec, record_datasets

MODELS = Path(__file__).resolve().parents[1] / "models"


def test_the_zoo_specification_names_every_network():
    spec = read_spec()
    entries = spec["networks"]
    assert {e["network"] for e in entries} == set(known_networks())
    assert len({e["name"] for e in entries}) == len(entries)
    assert {e["name"] for e in entries} == set(shipped_models(MODELS))  # what models/ ships
    assert {"epochs", "stride", "patience"} <= set(spec["defaults"])


def test_a_bad_entry_is_named(tmp_path):
    path = tmp_path / "zoo.yaml"
    path.write_text("datasets: {}\nnetworks:\n  - {name: a, network: pilotnet, speed: 3}\n")
    with pytest.raises(FollowLineError, match="network entry 0 needs name and network"):
        read_spec(path)
    path.write_text("datasets: {}\nnetworks:\n  - {name: a, network: alexnet}\n")
    with pytest.raises(FollowLineError, match="unknown network 'alexnet'; known: pilotnet"):
        read_spec(path)


def test_recording_names_an_unknown_dataset_and_keeps_a_recorded_one(tmp_path):
    with pytest.raises(FollowLineError, match="unknown dataset validation; .* has train, test"):
        record_datasets(tmp_path, ["validation"])
    recorded = tmp_path / "test" / "dataset.yaml"
    recorded.parent.mkdir()
    recorded.write_text("kept: true\n")
    assert record_datasets(tmp_path, ["test"], progress=False) == {"test": tmp_path / "test"}
    assert recorded.read_text() == "kept: true\n"
