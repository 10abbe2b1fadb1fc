import numpy as np
import pytest
import yaml

from follow_line.driving.expert import ExpertDriver
from follow_line.driving.vision import Preprocessing
from follow_line.errors import FollowLineError
from follow_line.learning.collect import collect, plan_episodes
from follow_line.learning.data import load_episodes, read_dataset_index


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


def test_episodes_are_mcap_by_default_and_read_by_the_mcap_ros2_reader(tmp_path, oval_file):
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    [meta] = collect(tmp_path / "ds", [str(oval_file)], ["clockwise"], laps=1, recovery=0,
                     progress=False)
    bag = tmp_path / "ds" / meta["bag"]
    metadata = yaml.safe_load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert metadata["storage_identifier"] == "mcap"
    [mcap_file] = bag.glob("*.mcap")
    images, commands = [], []
    with mcap_file.open("rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        for _, channel, _, msg in reader.iter_decoded_messages(
                topics=["/cam_f1_left/image_raw", "/cmd_vel"], log_time_order=True):
            if channel.topic == "/cmd_vel":
                commands.append((msg.linear.x, msg.angular.z))
            else:
                images.append(msg)
    assert len(images) == len(commands) == meta["frames"]
    assert (images[0].encoding, images[0].height, images[0].width) == ("rgb8", 480, 640)
    [episode] = load_episodes(tmp_path / "ds", None, progress=False)
    assert np.array_equal(np.frombuffer(images[5].data, np.uint8).reshape(480, 640, 3),
                          episode.frames[5])
    assert np.allclose(commands, np.stack([episode.v, episode.w], axis=1))


def test_sqlite3_storage_on_request_reads_back_the_same(tmp_path, oval_file):
    kwargs = dict(laps=1, recovery=0, progress=False)
    collect(tmp_path / "mcap", [str(oval_file)], ["clockwise"], **kwargs)
    [meta] = collect(tmp_path / "sqlite", [str(oval_file)], ["clockwise"], storage="sqlite3",
                     **kwargs)
    bag = tmp_path / "sqlite" / meta["bag"]
    assert list(bag.glob("*.db3"))
    [a] = load_episodes(tmp_path / "mcap", Preprocessing(), progress=False)
    [b] = load_episodes(tmp_path / "sqlite", Preprocessing(), progress=False)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.w, b.w)
    with pytest.raises(FollowLineError, match="unknown storage 'hdf5'; known: mcap, sqlite3"):
        collect(tmp_path / "other", [str(oval_file)], ["clockwise"], storage="hdf5", **kwargs)


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


def test_never_deletes_what_it_did_not_write(tmp_path, oval_file):
    user = tmp_path / "mine"  # a user's own data.csv dataset: no dataset.yaml
    (user / "images").mkdir(parents=True)
    (user / "data.csv").write_text("image,v,w\nimages/0.png,1,0\n")
    (user / "images" / "0.png").write_bytes(b"png")
    for overwrite in (False, True):
        with pytest.raises(FollowLineError, match="holds no follow_line dataset"):
            collect(user, [str(oval_file)], ["clockwise"], recovery=0, overwrite=overwrite,
                    progress=False)
    assert (user / "images" / "0.png").read_bytes() == b"png"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no leftovers either
    ds = tmp_path / "ds"
    collect(ds, [str(oval_file)], ["clockwise"], recovery=0, progress=False)
    (ds / "notes.txt").write_text("mine")
    with pytest.raises(FollowLineError, match="notes.txt, which the dataset did not write"):
        collect(ds, [str(oval_file)], ["clockwise"], recovery=0, overwrite=True,
                progress=False)
    assert (ds / "notes.txt").read_text() == "mine"
    with pytest.raises(FollowLineError, match="is a file"):
        collect(ds / "notes.txt", [str(oval_file)], ["clockwise"], progress=False)


def test_an_interrupted_overwrite_leaves_the_previous_dataset(tmp_path, oval_file,
                                                              monkeypatch):
    import follow_line.learning.collect as collect_module

    ds = tmp_path / "ds"
    collect(ds, [str(oval_file)], ["clockwise"], recovery=0, progress=False)
    before = read_dataset_index(ds)
    real = collect_module.record_episode

    def fail_on_the_second(plan, *args, **kwargs):
        if plan.kind == "recovery":
            raise KeyboardInterrupt
        return real(plan, *args, **kwargs)

    monkeypatch.setattr(collect_module, "record_episode", fail_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        collect(ds, [str(oval_file)], ["anticlockwise"], recovery=1, overwrite=True,
                progress=False)
    assert read_dataset_index(ds) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]
    monkeypatch.undo()
    collect(ds, [str(oval_file)], ["anticlockwise"], recovery=0, overwrite=True,
            progress=False)
    assert [e["direction"] for e in read_dataset_index(ds)["episodes"]] == ["anticlockwise"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_kill_9_during_an_overwrite_leaves_the_previous_dataset_usable(tmp_path, oval_file):
    import signal
    import subprocess
    import sys
    import time

    ds = tmp_path / "ds"
    collect(ds, [str(oval_file)], ["clockwise"], recovery=0, progress=False)
    before = read_dataset_index(ds)
    proc = subprocess.Popen([sys.executable, "-m", "follow_line", "collect", "--out", str(ds),
                             "--circuits", str(oval_file), "--directions", "anticlockwise",
                             "--recovery", "1", "--overwrite", "--quiet"])
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".ds.collecting-*/*/metadata.yaml")):  # one episode done
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert read_dataset_index(ds) == before
    assert len(load_episodes(ds, None, progress=False)) == 1


def test_a_randomised_dataset_has_random_looks_and_the_nominal_labels(tmp_path, oval_file):
    from follow_line.world.appearance import Randomisation

    kwargs = {"laps": 1, "recovery": 0, "progress": False}
    collect(tmp_path / "plain", [str(oval_file)], ["clockwise"], **kwargs)
    metas = collect(tmp_path / "random", [str(oval_file)], ["clockwise"],
                    randomisation=Randomisation(), **kwargs)
    plain, random = (load_episodes(tmp_path / name, None, progress=False)[0]
                     for name in ("plain", "random"))
    # the expert drove from the nominal camera: the same drive, the same labels
    assert len(plain) == len(random) and np.allclose(plain.w, random.w)
    assert metas[0]["looks"] > 5  # a new look every LOOK_EVERY_S
    difference = np.abs(plain.frames.astype(int) - random.frames.astype(int)).mean(axis=(1, 2, 3))
    assert 0.4 < (difference > 3.0).mean() < 1.0  # random looks ...
    assert (difference == 0).any()  # ... and the nominal world among them
    means = random.frames.mean(axis=(1, 2, 3))
    assert np.ptp(means) > 20  # light and colours change along the lap
    index = read_dataset_index(tmp_path / "random")
    assert index["appearance"]["randomised"]["camera_pitch"] == Randomisation().camera_pitch
    assert read_dataset_index(tmp_path / "plain")["appearance"] == {"nominal": True}


def test_held_out_circuits_are_never_recorded(tmp_path):
    with pytest.raises(FollowLineError, match="montreal is held out for testing"):
        collect(tmp_path / "ds", ["montreal"], ["clockwise"], progress=False)
    assert not (tmp_path / "ds").exists()
