import logging
import math

import cv2
import numpy as np
import pytest
from rosbags.rosbag2 import Reader, Writer
from rosbags.typesys import Stores, get_typestore

from follow_line.driving.vision import Preprocessing
from follow_line.errors import FollowLineError
from follow_line.learning.data import (
    TOPICS,
    EpisodeWriter,
    episode_summary,
    load_episodes,
    read_dataset_index,
    write_dataset_index,
    write_folder_dataset,
)

TS = get_typestore(Stores.ROS2_HUMBLE)
T = TS.types
FRAME_BYTES = 480 * 640 * 3
PRE = Preprocessing(image_mode="cropped", input_size=(66, 200))


def frame(i: int) -> np.ndarray:
    """Flat sky and road with a red stripe whose column encodes `i`."""
    img = np.empty((480, 640, 3), np.uint8)
    img[:240] = (110, 160, 230)
    img[240:] = (80, 80, 80)
    img[:, 15 * i:15 * i + 10] = (230, 20, 20)
    return img


def record(folder, n, seed, topics=TOPICS, compress=True):
    """An episode of `n` frames at 20 Hz; returns (t, frames, v, w, poses)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) * 0.05
    v = rng.uniform(3, 12, n).astype(np.float32)
    w = rng.uniform(-2, 2, n).astype(np.float32)
    poses = [(float(x), float(y), float(th)) for x, y, th in rng.uniform(-3, 3, (n, 3))]
    frames = [frame(i) for i in range(n)]
    with EpisodeWriter(folder, topics=topics, compress=compress) as writer:
        for i in range(n):
            writer.write(t[i], frames[i], v[i], w[i], poses[i])
    assert writer.frames == n
    return t, np.stack(frames), v, w, poses


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("dataset")
    truth, entries = {}, []
    for name, n, circuit, direction, kind in (
            ("simple_clockwise_lap0", 6, "simple", "clockwise", "lap"),
            ("monaco_anticlockwise_recovery0", 9, "monaco", "anticlockwise", "recovery")):
        truth[name] = record(root / "bags" / name, n, seed=n)
        entries.append({"name": name, "bag": f"bags/{name}", "circuit": circuit,
                        "direction": direction, "kind": kind, "frames": n})
    write_dataset_index(root, entries)
    return root, truth


def write_bag(folder, images, commands, image_type="sensor_msgs/msg/Image",
              commands_first=False):
    """A foreign bag: images = [(ns, message)], commands = [(ns, v, w)].

    Messages with equal stamps are written images first, or commands first.
    """
    with Writer(folder, version=8) as bag:
        img = bag.add_connection(TOPICS["image"], image_type, typestore=TS)
        cmd = bag.add_connection(TOPICS["cmd_vel"], "geometry_msgs/msg/Twist", typestore=TS)
        vec = T["geometry_msgs/msg/Vector3"]
        msgs = [(ns, img, m) for ns, m in images] + [
            (ns, cmd, T["geometry_msgs/msg/Twist"](linear=vec(x=v, y=0.0, z=0.0),
                                                   angular=vec(x=0.0, y=0.0, z=w)))
            for ns, v, w in commands]
        for ns, conn, msg in sorted(msgs, key=lambda m: (m[0], (m[1] is img) == commands_first)):
            bag.write(conn, ns, TS.serialize_cdr(msg, conn.msgtype))


def header():
    return T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](sec=0, nanosec=0),
                                    frame_id="camera")


def image_msg(pixels, encoding, step=None):
    h, w = pixels.shape[:2]
    step = step or pixels[0].size
    rows = np.zeros((h, step), np.uint8)
    rows[:, :pixels[0].size] = pixels.reshape(h, -1)
    return T["sensor_msgs/msg/Image"](header=header(), height=h, width=w, encoding=encoding,
                                      is_bigendian=0, step=step, data=rows.reshape(-1))


def test_round_trip_raw_with_metadata_from_the_index(dataset):
    root, truth = dataset
    episodes = load_episodes(root, progress=False)
    assert [e.name for e in episodes] == list(truth)
    assert [(e.circuit, e.direction, e.kind) for e in episodes] == [
        ("simple", "clockwise", "lap"), ("monaco", "anticlockwise", "recovery")]
    for ep, (t, frames, v, w, _) in zip(episodes, truth.values(), strict=True):
        assert len(ep) == len(t)
        assert ep.v.dtype == np.float32 and ep.w.dtype == np.float32
        assert np.array_equal(ep.v, v) and np.array_equal(ep.w, w)
        assert np.allclose(ep.t, t, atol=1e-9) and ep.t.dtype == np.float64
        assert ep.frames.dtype == np.uint8 and np.array_equal(ep.frames, frames)


def test_round_trip_preprocessed_equals_preprocessing_the_originals(dataset):
    root, truth = dataset
    episodes = load_episodes(root, preprocessing=PRE, progress=False)
    for ep, (_, frames, v, _, _) in zip(episodes, truth.values(), strict=True):
        assert ep.frames.shape == (len(frames), 66, 200, 3) and ep.frames.dtype == np.float32
        assert np.array_equal(ep.frames, np.stack([PRE.apply(f) for f in frames]))
        assert np.array_equal(ep.v, v)


def test_index_is_checked(dataset, tmp_path):
    root, _ = dataset
    index = read_dataset_index(root)
    assert index["format"] == "follow_line-dataset" and index["topics"] == TOPICS
    assert [e["frames"] for e in index["episodes"]] == [6, 9]
    with pytest.raises(FollowLineError, match="kind 'race' is not one of lap, recovery"):
        write_dataset_index(tmp_path, [{"name": "a", "bag": "a", "circuit": None,
                                        "direction": None, "kind": "race", "frames": 1}])
    (tmp_path / "dataset.yaml").write_text("format: follow_line-dataset\nversion: 7\n")
    with pytest.raises(FollowLineError, match="version 7 is not supported; supported: 1"):
        load_episodes(tmp_path, progress=False)


def test_single_bag_and_folder_of_bags_load_as_recorded_episodes(dataset, tmp_path):
    root, truth = dataset
    bag = root / "bags" / "simple_clockwise_lap0"
    [single] = load_episodes(bag, progress=False)
    assert (single.name, single.kind, single.circuit, single.direction) == (
        "simple_clockwise_lap0", "recorded", None, None)
    assert np.array_equal(single.frames, truth["simple_clockwise_lap0"][1])
    both = load_episodes(root / "bags", progress=False)
    assert [e.name for e in both] == sorted(truth)
    assert [len(e) for e in both] == [len(truth[n][0]) for n in sorted(truth)]
    assert all(e.kind == "recorded" for e in both)


def test_bags_hold_real_ros2_messages_readable_by_a_generic_reader(dataset):
    root, truth = dataset
    _, _, v, w, poses = truth["simple_clockwise_lap0"]
    with Reader(root / "bags" / "simple_clockwise_lap0") as reader:
        assert {c.topic: c.msgtype for c in reader.connections} == {
            TOPICS["image"]: "sensor_msgs/msg/Image", TOPICS["cmd_vel"]: "geometry_msgs/msg/Twist",
            TOPICS["odom"]: "nav_msgs/msg/Odometry"}
        assert reader.compression_mode == ""  # MCAP compresses its chunks itself
        [mcap_file] = (root / "bags" / "simple_clockwise_lap0").glob("*.mcap")
        assert b"zstd" in mcap_file.read_bytes()[-4096:]  # the chunk index names it
        msgs = {}
        for conn, ns, raw in reader.messages():
            msgs.setdefault(conn.topic, []).append((ns, TS.deserialize_cdr(raw, conn.msgtype)))
    images, cmds, odoms = (msgs[TOPICS[k]] for k in ("image", "cmd_vel", "odom"))
    ns, img = images[3]
    assert ns == 150_000_000 and (img.header.stamp.sec, img.header.stamp.nanosec) == (0, ns)
    assert (img.encoding, img.header.frame_id, img.height, img.width, img.step) == (
        "rgb8", "camera_link", 480, 640, 1920)
    twist = cmds[3][1]
    assert (twist.linear.x, twist.angular.z) == pytest.approx((v[3], w[3]))
    for (_, odom), (x, y, theta), vi, wi in zip(odoms, poses, v, w, strict=True):
        assert (odom.header.frame_id, odom.child_frame_id) == ("odom", "base_link")
        p, q = odom.pose.pose.position, odom.pose.pose.orientation
        assert (p.x, p.y) == pytest.approx((x, y))
        yaw = math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y ** 2 + q.z ** 2))
        assert yaw == pytest.approx(math.remainder(theta, math.tau))
        assert odom.twist.twist.linear.x == pytest.approx(vi)  # speed defaults to the labels
        assert odom.twist.twist.angular.z == pytest.approx(wi)


def test_executed_speed_goes_to_odometry_not_to_the_labels(tmp_path):
    with EpisodeWriter(tmp_path / "ep") as writer:
        writer.write(0.0, frame(0), 5.0, 1.0, (1.0, 2.0, 0.5), speed=(4.0, 0.8))
    [ep] = load_episodes(tmp_path / "ep", progress=False)
    assert (ep.v[0], ep.w[0]) == (5.0, 1.0)
    with Reader(tmp_path / "ep") as reader:
        [(conn, _, raw)] = [m for m in reader.messages() if m[0].topic == TOPICS["odom"]]
        twist = TS.deserialize_cdr(raw, conn.msgtype).twist.twist
    assert (twist.linear.x, twist.angular.z) == pytest.approx((4.0, 0.8))


def test_compressed_bag_is_much_smaller_than_raw(tmp_path):
    n = 10
    record(tmp_path / "zstd", n, seed=1)
    record(tmp_path / "raw", n, seed=1, compress=False)
    size = {k: sum(f.stat().st_size for f in (tmp_path / k).iterdir()) for k in ("zstd", "raw")}
    assert size["zstd"] < n * FRAME_BYTES / 5
    assert size["raw"] > n * FRAME_BYTES
    a, b = (load_episodes(tmp_path / k, progress=False)[0] for k in ("zstd", "raw"))
    assert np.array_equal(a.frames, b.frames)


def test_writer_refuses_an_existing_folder_and_removes_an_aborted_episode(tmp_path):
    (tmp_path / "there").mkdir()
    with pytest.raises(FollowLineError, match="exists already"):
        EpisodeWriter(tmp_path / "there")
    with pytest.raises(RuntimeError), EpisodeWriter(tmp_path / "ep") as writer:
        writer.write(0.0, frame(0), 1.0, 0.0, (0.0, 0.0, 0.0))
        raise RuntimeError("simulator crashed")
    assert not (tmp_path / "ep").exists()
    with EpisodeWriter(tmp_path / "ep2") as writer, \
            pytest.raises(FollowLineError, match=r"uint8 array of shape \(height, width, 3\)"):
        writer.write(0.0, frame(0).astype(np.float32), 1.0, 0.0, (0.0, 0.0, 0.0))


def test_bgr8_mono8_and_compressed_images_decode_to_rgb(tmp_path):
    rgb = frame(5)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    ok, png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    write_bag(tmp_path / "colour", [(0, image_msg(rgb[..., ::-1], "bgr8")),
                                    (50_000_000, image_msg(gray, "mono8", step=700))],
              [(0, 1.0, 0.0), (50_000_000, 2.0, 0.0)])
    write_bag(tmp_path / "compressed",
              [(0, T["sensor_msgs/msg/CompressedImage"](header=header(), format="png",
                                                        data=png.reshape(-1)))],
              [(0, 1.0, 0.0)], image_type="sensor_msgs/msg/CompressedImage")
    [colour] = load_episodes(tmp_path / "colour", progress=False)
    assert np.array_equal(colour.frames[0], rgb)
    assert np.array_equal(colour.frames[1], np.repeat(gray[..., None], 3, axis=2))
    [compressed] = load_episodes(tmp_path / "compressed", progress=False)
    assert np.array_equal(compressed.frames[0], rgb)


def test_unsupported_encoding_is_named(tmp_path):
    depth = np.zeros((480, 640 * 4), np.uint8)
    write_bag(tmp_path / "depth", [(0, image_msg(depth, "32FC1", step=640 * 4))],
              [(0, 1.0, 0.0)])
    with pytest.raises(FollowLineError, match=r"encoding '32FC1'.*supported: rgb8, bgr8, mono8"):
        load_episodes(tmp_path / "depth", progress=False)


def test_pairing_prefers_the_command_after_and_drops_images_without_one(tmp_path, caplog):
    ms = 1_000_000
    images = [(t * ms, image_msg(frame(i), "rgb8"))
              for i, t in enumerate((1000, 1050, 1300, 1500, 1800))]
    commands = [(1020 * ms, 1.0, 0.1), (1120 * ms, 2.0, 0.2), (1450 * ms, 3.0, 0.3)]
    write_bag(tmp_path / "bag", images, commands)
    with caplog.at_level(logging.WARNING, logger="follow_line.learning.data"):
        [ep] = load_episodes(tmp_path / "bag", progress=False)
    # 1.000 -> command at 1.020; 1.050 -> 1.120 (after, preferred over 1.020 before);
    # 1.300: next at 1.450 and last at 1.120 both > 0.1 s away: dropped;
    # 1.500 -> 1.450 (latest before); 1.800: nothing within 0.1 s: dropped
    assert np.array_equal(ep.v, np.float32([1.0, 2.0, 3.0]))
    assert np.allclose(ep.t, [0.0, 0.05, 0.5])
    assert np.array_equal(ep.frames, np.stack([frame(0), frame(1), frame(3)]))
    assert "dropped 2 of 5 images" in caplog.text


@pytest.mark.parametrize("commands_first", [False, True])
def test_a_command_at_the_image_stamp_wins_over_a_later_one(tmp_path, commands_first):
    write_bag(tmp_path / "bag", [(0, image_msg(frame(0), "rgb8"))],
              [(0, 1.0, 0.0), (50_000_000, 2.0, 0.0)], commands_first=commands_first)
    [ep] = load_episodes(tmp_path / "bag", progress=False)
    assert ep.v.tolist() == [1.0]


def test_remapped_topics_and_a_missing_topic(tmp_path):
    topics = {**TOPICS, "cmd_vel": "/f1/cmd_vel"}
    t, _, v, _, _ = record(tmp_path / "bag", 3, seed=3, topics=topics)
    [ep] = load_episodes(tmp_path / "bag", topics=topics, progress=False)
    assert np.array_equal(ep.v, v)
    with pytest.raises(FollowLineError) as err:
        load_episodes(tmp_path / "bag", progress=False)
    assert "no cmd_vel topic '/cmd_vel'" in str(err.value)
    for present in ("/cam_f1_left/image_raw", "/f1/cmd_vel", "/odom"):
        assert present in str(err.value)


@pytest.mark.parametrize("damage,storage,needle", [
    ("metadata", "mcap", "Could not load YAML"),
    ("truncate", "mcap", "File end magic is invalid"),
    ("truncate", "sqlite3", "malformed"),
])
def test_corrupt_bags_are_reported_with_their_path(tmp_path, damage, storage, needle):
    bag = tmp_path / "bag"
    with EpisodeWriter(bag, storage=storage) as writer:
        for k in range(20):
            writer.write(k * 0.05, frame(k), 5.0, 0.1, (0.0, 0.0, 0.0))
    if damage == "metadata":
        (bag / "metadata.yaml").write_text("rosbag2_bagfile_information: {version: [\n")
    else:
        [data] = [p for p in bag.iterdir() if p.name != "metadata.yaml"]
        data.write_bytes(data.read_bytes()[:data.stat().st_size // 2])
    with pytest.raises(FollowLineError, match=f"cannot read rosbag2 {bag}.*{needle}"):
        load_episodes(bag, progress=False)


def test_missing_path_and_unknown_folder(tmp_path):
    with pytest.raises(FollowLineError, match=f"{tmp_path / 'nope'} does not exist"):
        load_episodes(tmp_path / "nope", progress=False)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(FollowLineError, match="is not a dataset: expected a dataset folder "
                                              "with dataset.yaml, a rosbag2 folder"):
        load_episodes(tmp_path, progress=False)


def test_a_bag_without_any_labelled_image_is_an_empty_episode(tmp_path):
    write_bag(tmp_path / "bag", [(0, image_msg(frame(0), "rgb8"))], [(500_000_000, 1.0, 0.0)])
    with pytest.raises(FollowLineError, match="is empty"):
        load_episodes(tmp_path / "bag", progress=False)


def test_folder_layout_round_trip_grouped_by_episode(dataset, tmp_path):
    episodes = load_episodes(dataset[0], progress=False)
    write_folder_dataset(tmp_path, episodes)
    header_line = (tmp_path / "data.csv").read_text().splitlines()[0]
    assert header_line == "image,v,w,t,episode"
    back = load_episodes(tmp_path, progress=False)
    assert [e.name for e in back] == [e.name for e in episodes]
    for a, b in zip(episodes, back, strict=True):
        assert b.kind == "recorded"
        assert np.array_equal(a.frames, b.frames)
        assert np.array_equal(a.v, b.v) and np.array_equal(a.w, b.w)
        assert np.array_equal(a.t, b.t)
    pre = load_episodes(tmp_path / "data.csv", preprocessing=PRE, progress=False)
    assert np.array_equal(pre[1].frames, np.stack([PRE.apply(f) for f in episodes[1].frames]))
    with pytest.raises(FollowLineError, match="preprocessing=None"):
        write_folder_dataset(tmp_path / "again", pre)


def test_csv_without_episode_or_t_columns_is_one_episode_at_the_camera_rate(tmp_path):
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), frame(i)[..., ::-1])
    (tmp_path / "data.csv").write_text("image,v,w\n0.png,1,0\n1.png,2,0.5\n2.png,3,-0.5\n")
    [ep] = load_episodes(tmp_path, progress=False)
    assert ep.name == tmp_path.name and len(ep) == 3
    assert np.allclose(ep.t, [0.0, 0.05, 0.1]) and np.array_equal(ep.w, [0.0, 0.5, -0.5])
    assert np.array_equal(ep.frames[2], frame(2))


def test_csv_errors_name_the_problem(tmp_path):
    cv2.imwrite(str(tmp_path / "0.png"), frame(0))
    csv_path = tmp_path / "data.csv"
    csv_path.write_text("image,v\n0.png,1\n")
    with pytest.raises(FollowLineError, match="lacks column.s. w; needs image,v,w"):
        load_episodes(tmp_path, progress=False)
    csv_path.write_text("image,v,w\n0.png,1,0\nmissing.png,1,0\n")
    with pytest.raises(FollowLineError, match=r"line 3: image 'missing.png' not found"):
        load_episodes(tmp_path, progress=False)
    cv2.imwrite(str(tmp_path / "small.png"), np.zeros((240, 320, 3), np.uint8))
    csv_path.write_text("image,v,w\nsmall.png,1,0\n")
    with pytest.raises(FollowLineError, match=r"line 2: image 'small.png'.*640x480"):
        load_episodes(tmp_path, progress=False)


def test_episode_summary(dataset):
    episodes = load_episodes(dataset[0], progress=False)
    summary = episode_summary(episodes)
    assert summary["frames"] == 15
    assert [e["frames"] for e in summary["episodes"]] == [6, 9]
    assert summary["episodes"][1]["duration_s"] == pytest.approx(0.4)
    all_v = np.concatenate([e.v for e in episodes])
    assert summary["v"]["mean"] == pytest.approx(float(all_v.mean()))
    assert (summary["v"]["min"], summary["v"]["max"]) == pytest.approx(
        (float(all_v.min()), float(all_v.max())))
    assert episode_summary([])["v"] is None


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_labels_are_refused_naming_the_episode_and_frame(tmp_path, value):
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), frame(i)[..., ::-1])
    (tmp_path / "data.csv").write_text(f"image,v,w\n0.png,1,0\n1.png,2,{value}\n2.png,3,0\n")
    with pytest.raises(FollowLineError, match=rf"w of frame 1 is {value.lstrip('-')}|"
                                              rf"w of frame 1 is -inf"):
        load_episodes(tmp_path, progress=False)
