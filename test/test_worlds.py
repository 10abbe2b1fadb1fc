"""Named worlds: the registry; circuits, camera, expert and networks of each command by world."""

import json
from pathlib import Path

import numpy as np
import pytest

from follow_line.bench.runner import BenchRun, plan
from follow_line.driving.card import ModelCard
from follow_line.driving.drivers import make_driver
from follow_line.driving.expert import REFERENCE_PARAMS, ExpertDriver, ExpertParams
from follow_line.driving.run import RunSpec, run_drive
from follow_line.driving.zoo import default_card, models_dir, shipped_models
from follow_line.errors import FollowLineError
from follow_line.gazebo import sdf
from follow_line.learning.collect import Disturbances, plan_episodes
from follow_line.learning.data import write_dataset_index
from follow_line.learning.regenerate import data_folder, read_spec
from follow_line.learning.train import check_dataset_world
from follow_line.world.camera import REFERENCE_CAMERA, CameraModel
from follow_line.world.circuits import CIRCUIT_DIR, DIRECTIONS
from follow_line.world.lap import LapRules
from follow_line.world.worlds import DEFAULT_WORLD, WORLDS, get_world, world_names

REFERENCE = get_world("reference")
REFERENCE_NETWORKS = shipped_models(models_dir("reference"))


def test_the_registry():
    assert DEFAULT_WORLD == "wide" and world_names() == ["wide", "reference"]
    assert get_world() is WORLDS["wide"] and get_world("reference") is WORLDS["reference"]
    with pytest.raises(FollowLineError, match="unknown world 'narrow'; known: reference, wide"):
        get_world("narrow")


def test_each_world_has_its_circuits_camera_and_networks():
    wide, reference = get_world("wide"), get_world("reference")
    assert wide.circuits() == ["simple", "monaco", "nurburgring"]
    assert wide.held_out() == ["hungaroring", "montreal"]
    assert reference.circuits() == ["simple", "monaco", "nurburgring", "montmelo", "montreal"]
    assert reference.held_out() == ["canyon", "lakeside"]
    assert wide.circuit_dir == CIRCUIT_DIR and reference.circuit_dir == CIRCUIT_DIR / "reference"
    assert wide.camera == CameraModel() and reference.camera == REFERENCE_CAMERA
    assert (wide.load("simple").road_width, reference.load("simple").road_width) == (8.0, 3.0)
    assert models_dir("reference") == models_dir() / "reference"
    with pytest.raises(FollowLineError, match="held out for testing.*montmelo"):
        reference.check_training("lakeside")
    with pytest.raises(FollowLineError, match="unknown circuit 'montmelo'"):
        wide.load("montmelo")


def test_the_expert_of_each_world():
    assert ExpertDriver.for_world().params == ExpertParams()
    driver = ExpertDriver.for_world("reference")
    assert driver.params == REFERENCE_PARAMS and driver.camera == REFERENCE_CAMERA
    assert REFERENCE_PARAMS.v_max == 10.0 and REFERENCE_PARAMS.near_m == 0.25
    assert make_driver("expert", world="reference").params == REFERENCE_PARAMS


def test_a_run_sees_its_world_through_its_camera():
    spec = RunSpec(get_world("reference").load("monaco"), "clockwise",
                   LapRules(timeout_seconds=1.0), world=get_world("reference"))
    record = run_drive(spec, make_driver("expert", world="reference"))
    assert record["world"] == "reference" and record["stop_reason"] == "timeout"
    assert record["frames_driven"] == 20 and record["completion_pct"] > 0
    assert run_drive(RunSpec(get_world().load("monaco"), "clockwise",
                             LapRules(timeout_seconds=0.1)), make_driver("expert"))["world"] \
        == "wide"


def test_collect_plans_the_world_s_circuits_and_scales_disturbances_to_its_road():
    plans = plan_episodes(["montmelo"], ["clockwise"], 1, 1, world="reference")
    assert [p.name for p in plans] == ["montmelo_clockwise_lap0", "montmelo_clockwise_recovery0"]
    with pytest.raises(FollowLineError, match="held out"):
        plan_episodes(["canyon"], ["clockwise"], 1, 0, world="reference")
    narrow = Disturbances().for_road(3.0)
    assert (narrow.start_lateral, narrow.max_cte) == (0.375, 0.75)
    assert Disturbances().for_road(8.0) == Disturbances()


def test_cards_record_their_world_and_refuse_another(tmp_path):
    card = default_card("tinypilotnet", world="reference")
    assert card.world == "reference" and card.to_dict()["world"] == "reference"
    card.save(tmp_path / "tiny.json")
    assert ModelCard.load(tmp_path / "tiny.json").world == "reference"
    card.check_world("reference")
    with pytest.raises(FollowLineError) as error:
        card.check_world("wide")
    assert str(error.value) == (
        "network tinypilotnet was trained for the reference world (camera 0.144 m high), not "
        "wide (camera 0.6 m high): pass --world reference, or a network trained for wide "
        "(models/)")
    legacy = card.to_dict()
    del legacy["world"]  # a card written before worlds: the wide world
    assert ModelCard.from_dict(legacy).world == "wide"
    with pytest.raises(FollowLineError, match="world 'moon' is not one of wide, reference"):
        ModelCard.from_dict({**legacy, "world": "moon"})


def test_a_shipped_network_drives_only_its_own_world():
    wide_card = models_dir() / "pilotnet.json"
    assert json.loads(wide_card.read_text()).get("world", "wide") == "wide"
    with pytest.raises(FollowLineError, match="trained for the wide world"):
        make_driver(str(wide_card), world="reference")
    with pytest.raises(FollowLineError, match="trained for the wide world"):
        plan([str(wide_card)], ["simple"], ["clockwise"], world="reference")


def test_training_refuses_another_world_s_dataset(tmp_path):
    write_dataset_index(tmp_path, [], world="reference")
    check_dataset_world(tmp_path, "reference")
    with pytest.raises(FollowLineError, match="in the reference world.*--world reference"):
        check_dataset_world(tmp_path, "wide")
    write_dataset_index(tmp_path, [])  # no world: recorded before worlds, in the wide one
    check_dataset_world(tmp_path, "wide")


def test_bench_runs_of_each_world_resolve_and_keep_apart():
    runs = plan(["expert"], ["simple"], ["clockwise"], world="reference")
    assert runs == [BenchRun("expert", "simple", "clockwise", world="reference")]
    assert runs[0].load_circuit().road_width == 3.0
    wide = BenchRun("expert", "simple", "clockwise")
    assert wide.key != runs[0].key and wide.world == "wide"
    path = str(CIRCUIT_DIR / "reference" / "simple.yaml")  # one file, two cameras
    assert BenchRun("expert", path, "clockwise").key != \
        BenchRun("expert", path, "clockwise", world="reference").key


def test_the_zoo_recipe_and_data_of_each_world(tmp_path):
    reference = read_spec(world="reference")
    assert [e["name"] for e in reference["networks"]] == ["pilotnet", "tinypilotnet"]
    assert reference["datasets"]["train"]["randomise"] is True
    assert [e["name"] for e in read_spec()["networks"]][:2] == ["pilotnet", "pilotnet_whole"]
    assert data_folder(tmp_path) == tmp_path
    assert data_folder(tmp_path, "reference") == tmp_path / "reference"


def test_gazebo_files_of_each_world():
    assert sdf.world_file("monaco", "gz", "reference") == "worlds/gz/reference/monaco.sdf"
    assert sdf.world_file("monaco", "classic", "reference") == "worlds/reference/monaco.world"
    assert sdf.world_file("monaco") == "worlds/monaco.world"
    assert sdf.car_model_dir("gz", "reference") == "models/reference/f1_car_gz"
    import xml.etree.ElementTree as ET

    car = ET.fromstring(sdf.car_model_sdf("gz", "reference"))
    pose = car.find(".//sensor/pose").text.split()
    assert [float(v) for v in pose[:3]] == pytest.approx([0.38, 0, 0.144])
    fronts = [float(v.find("pose").text.split()[0]) + float(v.find(".//size").text.split()[0]) / 2
              for v in car.iter("visual") if v.find(".//box") is not None]
    assert max(fronts) < 0.38  # the body stays behind the camera
    assert np.isclose(float(car.find(".//clip/near").text), 0.25 * 0.58 / 3.2, atol=1e-6)
    root = Path(__file__).resolve().parents[1]
    for name in REFERENCE.circuits() + REFERENCE.held_out():  # generated, current: test_gazebo
        length = REFERENCE.load(name).length
        for flavour in sdf.FLAVOURS:  # about 1.8 kB per metre of line (Montreal: 2.6 MB)
            assert (root / sdf.world_file(name, flavour, "reference")).stat().st_size \
                < 2_000 * length


@pytest.mark.slow
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("circuit", REFERENCE.circuits() + REFERENCE.held_out())
@pytest.mark.parametrize("network", REFERENCE_NETWORKS)
def test_every_reference_network_laps_every_reference_circuit(network, circuit, direction):
    spec = RunSpec(REFERENCE.load(circuit), direction, world=REFERENCE)
    record = run_drive(spec, make_driver(network, world="reference"))
    assert record["stop_reason"] == "lap_completed", (record["stop_reason"],
                                                      record["completion_pct"])


def test_every_node_of_a_ros_graph_gets_the_world(tmp_path):
    from follow_line.ros.bringup import GraphSpec, node_commands

    commands = node_commands(GraphSpec(model="expert", circuit="montmelo", world="reference"),
                             tmp_path / "run.json")
    assert set(commands) == {"sim_node", "drive_node", "lap_monitor_node"}
    for command in commands.values():
        assert 'world:="reference"' in command
    default = node_commands(GraphSpec(model="expert"), tmp_path / "run.json")
    assert all(f'world:="{DEFAULT_WORLD}"' in command for command in default.values())


def test_the_cli_lists_the_world_s_circuits(capsys):
    from follow_line.cli import main

    assert main(["circuits", "--world", "reference"]) == 0
    listed = capsys.readouterr().out
    assert "montmelo" in listed and "lakeside" in listed and "hungaroring" not in listed


def test_the_cli_takes_world_and_refuses_another_world_s_network(capsys, tmp_path):
    from follow_line.cli import main

    frame = tmp_path / "view.png"
    assert main(["frame", "--world", "reference", "--circuit", "montmelo", "--at", "30",
                 "--out", str(frame)]) == 0
    import cv2

    image = cv2.imread(str(frame))[..., ::-1]
    assert len(make_driver("expert", world="reference").line_points(image)) >= 10
    capsys.readouterr()
    wide_card = str(models_dir() / "pilotnet.json")
    assert main(["drive", "--world", "reference", "--model", wide_card, "--quiet"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "trained for the wide world" in error
    with pytest.raises(SystemExit):
        main(["bench", "--world", "narrow", "--out", str(tmp_path)])
    assert "invalid choice: 'narrow' (choose from 'wide', 'reference')" in capsys.readouterr().err
