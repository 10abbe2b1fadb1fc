import numpy as np
import pytest

from follow_line.collect import collect, plan_episodes
from follow_line.data import load_episodes, read_dataset_index
from follow_line.errors import FollowLineError
from follow_line.expert import ExpertDriver
from follow_line.vision import Preprocessing


def test_collect_writes_a_rosbag2_dataset_that_trains(tmp_path, oval_file):
    metas = collect(tmp_path / "ds", [str(oval_file)], ["clockwise"], laps=1, recovery=1,
                    seed=0, progress=False)
    assert [m["kind"] for m in metas] == ["lap", "recovery"]
    assert all(m["stop_reason"] == "lap_completed" for m in metas)
    index = read_dataset_index(tmp_path / "ds")
    assert [e["name"] for e in index["episodes"]] == ["oval_clockwise_lap0",
                                                      "oval_clockwise_recovery0"]
    episodes = load_episodes(tmp_path / "ds", Preprocessing(), progress=False)
    assert [len(e) for e in episodes] == [m["frames"] for m in metas]
    lap, recovery = episodes
    assert lap.circuit == "oval" and lap.kind == "lap"
    assert np.allclose(np.diff(lap.t), 0.05, atol=1e-6)
    assert lap.frames.shape[1:] == (66, 200, 3)
    # the recovery lap starts off the line: the expert's first command steers back
    assert abs(recovery.w[:10]).max() > abs(lap.w[:10]).max()


def test_labels_are_the_experts_commands_for_the_recorded_frames(tmp_path, oval_file):
    collect(tmp_path / "ds", [str(oval_file)], ["anticlockwise"], laps=1, recovery=0,
            progress=False)
    raw = load_episodes(tmp_path / "ds", None, progress=False)[0]
    expert = ExpertDriver()
    replay = [expert(raw.frames[k], raw.t[k]) for k in range(40)]
    assert np.allclose([c[0] for c in replay], raw.v[:40], atol=1e-4)
    assert np.allclose([c[1] for c in replay], raw.w[:40], atol=1e-4)


def test_refuses_to_overwrite_and_bad_names(tmp_path, oval_file):
    collect(tmp_path / "ds", [str(oval_file)], ["clockwise"], laps=1, recovery=0,
            progress=False)
    with pytest.raises(FollowLineError, match="already holds a dataset"):
        collect(tmp_path / "ds", [str(oval_file)], ["clockwise"], progress=False)
    with pytest.raises(FollowLineError, match="unknown direction"):
        plan_episodes([str(oval_file)], ["up"], 1, 1)
