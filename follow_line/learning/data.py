"""Datasets: the expert's drives recorded as rosbag2 episodes, and loading them for training.

A recorded dataset is a folder holding `dataset.yaml` (the index: one entry per episode with
its circuit, direction and kind) and one rosbag2 folder per episode. Each bag holds real ROS 2
messages (`sensor_msgs/msg/Image` rgb8 on the camera topic, `geometry_msgs/msg/Twist` labels
on `cmd_vel`, `nav_msgs/msg/Odometry` on `odom`), written with `rosbags` (no ROS install),
rosbag2 format version 8. Storage is MCAP by default (ROS 2's default since Iron; read by
Foxglove and `ros2 bag` on Jazzy and later) with zstd-compressed chunks, or sqlite3 with
per-message zstd compression (`ros2 bag record --storage sqlite3 --compression-mode message
--compression-format zstd` writes the same). Both kinds are read back.

`load_episodes` also reads a single rosbag2 folder (a user's own Gazebo recording), a folder
of rosbag2 folders, and the common `data.csv` + image files layout.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import shutil
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import cv2
import numpy as np
import yaml
from rosbags.rosbag2 import (
    CompressionFormat,
    CompressionMode,
    Reader,
    StoragePlugin,
    Writer,
    WriterError,
)
from rosbags.typesys import Stores, get_typestore
from tqdm import tqdm

from follow_line.driving.vision import Preprocessing
from follow_line.errors import FollowLineError
from follow_line.files import write_text_atomic
from follow_line.interface import (
    BASE_FRAME,
    CAMERA,
    CAMERA_FRAME,
    CMD_VEL,
    CMD_VEL_STAMPED_TYPE,
    ODOM,
    ODOM_FRAME,
    RECORDED,
)

log = logging.getLogger(__name__)

IMAGE, COMMAND, ODOMETRY = RECORDED  # the roles of an episode's topics
TOPICS = {role: topic.graph for role, topic in RECORDED.items()}
KINDS = ("lap", "recovery", "recorded")
ENCODINGS = ("rgb8", "bgr8", "mono8")
IMAGE_TYPES = (CAMERA.type, "sensor_msgs/msg/CompressedImage")
COMMAND_TYPES = (CMD_VEL.type, CMD_VEL_STAMPED_TYPE)
INDEX_FILE = "dataset.yaml"
INDEX_FORMAT = "follow_line-dataset"
INDEX_VERSION = 1
CSV_FILE = "data.csv"
CSV_COLUMNS = ("image", "v", "w", "t", "episode")
CSV_RATE_HZ = 20.0  # frame rate assumed for a data.csv without a t column (the camera's)
MAX_GAP_S = 0.1  # an image is labelled with a command at most this far from it in time
LAYOUTS = (f"a dataset folder with {INDEX_FILE}, a rosbag2 folder (metadata.yaml), "
           f"a folder of rosbag2 folders, or a folder with {CSV_FILE} "
           f"(columns image,v,w and optionally t,episode)")

_TYPESTORE = get_typestore(Stores.ROS2_HUMBLE)
_T = _TYPESTORE.types
_INDEX_KEYS = ("name", "bag", "circuit", "direction", "kind", "frames")


@dataclass
class Episode:
    """One continuous drive: frames and the expert's labels, time-ordered."""

    name: str
    circuit: str | None
    direction: str | None
    kind: str  # "lap", "recovery", or "recorded" (foreign data without metadata)
    t: np.ndarray  # (N,) float64 seconds since the episode's first frame
    v: np.ndarray  # (N,) float32 label m/s
    w: np.ndarray  # (N,) float32 label rad/s
    frames: np.ndarray  # (N, h, w, c) preprocessed float32, or raw uint8 RGB (N, 480, 640, 3)

    def __post_init__(self) -> None:
        for field_name in ("t", "v", "w"):
            values = getattr(self, field_name)
            bad = np.flatnonzero(~np.isfinite(values))
            if bad.size:
                raise FollowLineError(
                    f"episode {self.name!r}: {field_name} of frame {bad[0]} is "
                    f"{values[bad[0]]} ({bad.size} non-finite value(s)); labels and times "
                    "must be finite numbers")

    def __len__(self) -> int:
        """Number of frames."""
        return len(self.t)


#: rosbag2 storage -> (rosbags plugin, how zstd compresses it: MCAP chunks or sqlite3 rows).
STORAGE = {"mcap": (StoragePlugin.MCAP, CompressionMode.STORAGE),
           "sqlite3": (StoragePlugin.SQLITE3, CompressionMode.MESSAGE)}
DEFAULT_STORAGE = "mcap"


class EpisodeWriter:
    """Writes one episode as a rosbag2 folder (context manager).

    `frames` counts the frames written. On an exception inside the `with` block the partial
    bag is removed.
    """

    def __init__(self, folder: Path | str, topics: dict = TOPICS, compress: bool = True,
                 storage: str = DEFAULT_STORAGE):
        self.folder = Path(folder)
        self.frames = 0
        _check_topics(topics, tuple(RECORDED))
        if storage not in STORAGE:
            raise FollowLineError(f"unknown storage {storage!r}; known: {', '.join(STORAGE)}")
        plugin, compression = STORAGE[storage]
        try:
            self._writer = Writer(self.folder, version=8, storage_plugin=plugin)
            if compress:
                self._writer.set_compression(compression, CompressionFormat.ZSTD)
            self._writer.open()
        except WriterError as err:
            raise FollowLineError(f"cannot write episode {self.folder}: {err}") from err
        self._connections = {
            role: self._writer.add_connection(topics[role], topic.type, typestore=_TYPESTORE)
            for role, topic in RECORDED.items()}
        self._open = True

    def write(self, t: float, image: np.ndarray, v: float, w: float,
              pose: tuple[float, float, float], speed: tuple[float, float] | None = None) -> None:
        """Record one camera frame at `t` s with its labels (v, w) and the odometry.

        `pose` is (x, y, theta) in the odom frame, `speed` the (v, w) actually executed
        (default: the labels).
        """
        if not self._open:
            raise FollowLineError(f"episode {self.folder} is closed")
        if not (isinstance(image, np.ndarray) and image.dtype == np.uint8
                and image.ndim == 3 and image.shape[2] == 3):
            got = (f"{image.dtype} array of shape {image.shape}"
                   if isinstance(image, np.ndarray) else type(image).__name__)
            raise FollowLineError(f"expected an rgb8 camera image (uint8 array of shape "
                                  f"(height, width, 3)), got a {got}")
        if not t >= 0.0:
            raise FollowLineError(f"time {t} must be >= 0 s (seconds since the episode start)")
        ns = round(t * 1e9)
        stamp = _T["builtin_interfaces/msg/Time"](sec=ns // 10**9, nanosec=ns % 10**9)
        height, width = image.shape[:2]
        img = _T[CAMERA.type](
            header=_header(stamp, CAMERA_FRAME), height=height, width=width, encoding="rgb8",
            is_bigendian=0, step=width * 3, data=np.ascontiguousarray(image).reshape(-1))
        x, y, theta = pose
        sv, sw = (v, w) if speed is None else speed
        odom_pose = _T["geometry_msgs/msg/Pose"](
            position=_T["geometry_msgs/msg/Point"](x=float(x), y=float(y), z=0.0),
            orientation=_T["geometry_msgs/msg/Quaternion"](
                x=0.0, y=0.0, z=math.sin(theta / 2), w=math.cos(theta / 2)))
        odom = _T[ODOM.type](
            header=_header(stamp, ODOM_FRAME), child_frame_id=BASE_FRAME,
            pose=_T["geometry_msgs/msg/PoseWithCovariance"](
                pose=odom_pose, covariance=np.zeros(36)),
            twist=_T["geometry_msgs/msg/TwistWithCovariance"](
                twist=_twist(sv, sw), covariance=np.zeros(36)))
        for role, msg in ((IMAGE, img), (COMMAND, _twist(v, w)), (ODOMETRY, odom)):
            conn = self._connections[role]
            self._writer.write(conn, ns, _TYPESTORE.serialize_cdr(msg, conn.msgtype))
        self.frames += 1

    def close(self) -> None:
        """Finish the bag (writes metadata.yaml); closing twice is harmless."""
        if self._open:
            self._open = False
            self._writer.close()

    def abort(self) -> None:
        """Drop the unfinished bag and its folder."""
        if self._open:
            self._open = False
            self._writer.abort()
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> EpisodeWriter:
        """The writer itself."""
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Close, or abort when the block raised."""
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _header(stamp: Any, frame_id: str) -> Any:
    return _T["std_msgs/msg/Header"](stamp=stamp, frame_id=frame_id)


def _twist(v: float, w: float) -> Any:
    vec = _T["geometry_msgs/msg/Vector3"]
    return _T[CMD_VEL.type](linear=vec(x=float(v), y=0.0, z=0.0),
                            angular=vec(x=0.0, y=0.0, z=float(w)))


def write_dataset_index(folder: Path, episodes: list[dict], topics: dict = TOPICS,
                        appearance: dict | None = None, world: str | None = None) -> None:
    """Write folder/dataset.yaml atomically: one entry per episode bag, in order.

    Each entry has name, bag (folder relative to `folder`), circuit, direction, kind, frames;
    `topics` are those the bags were written with; `appearance` says how the world looked
    (nominal, or the ranges of its randomisation); `world` which world (world/worlds.py:
    circuits, camera, explicit driver) recorded it.
    """
    _check_topics(topics, tuple(RECORDED))
    for i, entry in enumerate(episodes):
        _check_index_entry(entry, f"episode {i}")
    index = {"format": INDEX_FORMAT, "version": INDEX_VERSION, "topics": dict(topics),
             "episodes": [{k: entry[k] for k in _INDEX_KEYS} for entry in episodes]}
    if appearance is not None:
        index["appearance"] = appearance
    if world is not None:
        index["world"] = world
    write_text_atomic(Path(folder) / INDEX_FILE, yaml.safe_dump(index, sort_keys=False))


def read_dataset_index(folder: Path) -> dict:
    """The index of a dataset folder, checked (format, version, topics, episode entries)."""
    path = Path(folder) / INDEX_FILE
    try:
        index = yaml.safe_load(path.read_text())
    except OSError as err:
        raise FollowLineError(f"cannot read dataset index {path}: {err}") from err
    except yaml.YAMLError as err:
        raise FollowLineError(f"dataset index {path} is not valid YAML: {err}") from err
    if not isinstance(index, dict) or index.get("format") != INDEX_FORMAT:
        raise FollowLineError(f"{path} is not a dataset index (expected format: {INDEX_FORMAT})")
    if index.get("version") != INDEX_VERSION:
        raise FollowLineError(f"{path}: dataset version {index.get('version')!r} is not "
                              f"supported; supported: {INDEX_VERSION}")
    if not isinstance(index.get("topics"), dict):
        raise FollowLineError(f"{path}: 'topics' must map image, cmd_vel, odom to topic names")
    _check_topics(index["topics"], (IMAGE, COMMAND), where=f"{path}: ")
    if not isinstance(index.get("episodes"), list):
        raise FollowLineError(f"{path}: 'episodes' must be a list of episode entries")
    for i, entry in enumerate(index["episodes"]):
        _check_index_entry(entry, f"{path}: episode {i}")
    return index


def _check_index_entry(entry: object, where: str) -> None:
    if not isinstance(entry, dict):
        raise FollowLineError(f"{where} must be a mapping with keys {', '.join(_INDEX_KEYS)}")
    missing = [k for k in _INDEX_KEYS if k not in entry]
    if missing:
        raise FollowLineError(f"{where} lacks {', '.join(missing)} "
                              f"(needs {', '.join(_INDEX_KEYS)})")
    if entry["kind"] not in KINDS:
        raise FollowLineError(f"{where}: kind {entry['kind']!r} is not one of {', '.join(KINDS)}")
    if Path(entry["bag"]).is_absolute():
        raise FollowLineError(f"{where}: bag {entry['bag']!r} must be relative to the dataset")


def _check_topics(topics: Mapping[str, str], roles: tuple[str, ...],
                  where: str = "") -> None:
    missing = [r for r in roles if r not in topics]
    if missing:
        raise FollowLineError(f"{where}topics lack {', '.join(missing)}; "
                              f"needed: {', '.join(roles)}")


def load_episodes(path: Path | str, preprocessing: Preprocessing | None = None,
                  topics: dict = TOPICS, progress: bool = True) -> list[Episode]:
    """Episodes from a dataset, a rosbag2 folder, a folder of them, or a data.csv folder.

    Frames are streamed: with a `preprocessing` each frame is preprocessed as it is read and
    only the network frames are kept; without one, raw uint8 RGB frames are returned. In a
    bag, each image is labelled with the first command at or after it within 0.1 s, else the
    latest one before it within 0.1 s; images with neither are dropped (logged). An indexed
    dataset uses the topics named in its index; other bags use `topics`.
    """
    path = Path(path)
    if not path.exists():
        raise FollowLineError(f"dataset path {path} does not exist; expected {LAYOUTS}")
    if path.is_file() and path.name == CSV_FILE:
        return _load_csv(path, preprocessing, progress)
    if not path.is_dir():
        raise FollowLineError(f"{path} is not a dataset: expected {LAYOUTS}")
    if (path / INDEX_FILE).exists():
        index = read_dataset_index(path)
        return [_load_bag(path / e["bag"], e["name"], e["circuit"], e["direction"], e["kind"],
                          preprocessing, index["topics"], progress)
                for e in index["episodes"]]
    _check_topics(topics, (IMAGE, COMMAND))
    if (path / "metadata.yaml").exists():
        return [_load_bag(path, path.name, None, None, "recorded", preprocessing, topics,
                          progress)]
    if (path / CSV_FILE).exists():
        return _load_csv(path / CSV_FILE, preprocessing, progress)
    bags = sorted(p for p in path.iterdir() if (p / "metadata.yaml").exists())
    if not bags:
        raise FollowLineError(f"{path} is not a dataset: expected {LAYOUTS}")
    return [_load_bag(b, b.name, None, None, "recorded", preprocessing, topics, progress)
            for b in bags]


class _Labeller:
    """Pairs images with commands while streaming a time-ordered bag; keeps the labelled."""

    def __init__(self, preprocessing: Preprocessing | None):
        self.pre = preprocessing
        self.gap = round(MAX_GAP_S * 1e9)
        self.pending: deque[tuple[int, np.ndarray]] = deque()  # images awaiting a command
        self.last: tuple[int, float, float] | None = None  # latest command (ns, v, w)
        self.ns: list[int] = []
        self.v: list[float] = []
        self.w: list[float] = []
        self.frames: list[np.ndarray] = []
        self.dropped = 0

    def image(self, ns: int, frame: np.ndarray) -> None:
        """A decoded camera frame received at `ns`."""
        frame = self.pre.apply(frame) if self.pre else _check_raw(frame)
        self._expire(ns)
        if self.last is not None and self.last[0] == ns:
            self._keep(ns, frame, *self.last[1:])
        else:
            self.pending.append((ns, frame))

    def command(self, ns: int, v: float, w: float) -> None:
        """A command received at `ns`: it labels the waiting images within the gap."""
        while self.pending:
            t, frame = self.pending.popleft()
            if ns - t <= self.gap:
                self._keep(t, frame, v, w)
            else:
                self._fallback(t, frame)
        self.last = (ns, v, w)

    def finish(self) -> None:
        """End of the stream: waiting images fall back to the latest command."""
        while self.pending:
            self._fallback(*self.pending.popleft())

    def _expire(self, now: int) -> None:
        # a later command can no longer be within the gap of these images
        while self.pending and now - self.pending[0][0] > self.gap:
            self._fallback(*self.pending.popleft())

    def _fallback(self, ns: int, frame: np.ndarray) -> None:
        if self.last is not None and ns - self.last[0] <= self.gap:
            self._keep(ns, frame, *self.last[1:])
        else:
            self.dropped += 1

    def _keep(self, ns: int, frame: np.ndarray, v: float, w: float) -> None:
        self.ns.append(ns)
        self.v.append(v)
        self.w.append(w)
        self.frames.append(frame)


def _check_raw(frame: np.ndarray) -> np.ndarray:
    Preprocessing().check(frame)
    return frame


def _load_bag(bag: Path, name: str, circuit: str | None, direction: str | None, kind: str,
              preprocessing: Preprocessing | None, topics: dict, progress: bool) -> Episode:
    if not (bag / "metadata.yaml").exists():
        raise FollowLineError(f"episode {name!r}: {bag} is not a rosbag2 folder "
                              f"(no metadata.yaml)")
    try:
        reader = Reader(bag)
        reader.open()
    except Exception as err:  # rosbags raises ReaderError, but also zstd, EOF, OS errors
        raise _unreadable(bag, err) from err
    try:
        present = reader.topics
        conns = {}
        for role, allowed in ((IMAGE, IMAGE_TYPES), (COMMAND, COMMAND_TYPES)):
            topic = topics[role]
            if topic not in present:
                raise FollowLineError(
                    f"{bag} has no {role} topic {topic!r}; its topics: "
                    f"{', '.join(f'{t} ({i.msgtype})' for t, i in sorted(present.items()))}")
            conns[role] = present[topic].connections
            bad = {c.msgtype for c in conns[role]} - set(allowed)
            if bad:
                raise FollowLineError(f"{bag}: topic {topic!r} has type {', '.join(sorted(bad))}"
                                      f"; supported: {', '.join(allowed)}")
        image_ids = {c.id for c in conns[IMAGE]}
        labeller = _Labeller(preprocessing)
        total = sum(c.msgcount for cs in conns.values() for c in cs)
        stream = _messages(bag, reader, conns[IMAGE] + conns[COMMAND])
        for conn, ns, msg in tqdm(stream, total=total, desc=name, unit="msg",
                                  disable=not progress):
            if conn.id in image_ids:
                labeller.image(ns, _decode_image(msg, conn.msgtype, bag, topics[IMAGE]))
            else:
                twist = msg.twist if conn.msgtype.endswith("TwistStamped") else msg
                labeller.command(ns, twist.linear.x, twist.angular.z)
        labeller.finish()
    finally:
        reader.close()
    if labeller.dropped:
        log.warning("%s: dropped %d of %d images without a %s command within %.1f s", bag,
                    labeller.dropped, labeller.dropped + len(labeller.ns), topics[COMMAND],
                    MAX_GAP_S)
    if not labeller.ns:
        raise FollowLineError(f"episode {name!r} in {bag} is empty: no image on "
                              f"{topics[IMAGE]!r} has a {topics[COMMAND]!r} command "
                              f"within {MAX_GAP_S} s")
    stamps = np.array(labeller.ns, np.int64)
    return Episode(name=name, circuit=circuit, direction=direction, kind=kind,
                   t=(stamps - stamps[0]) / 1e9, v=np.array(labeller.v, np.float32),
                   w=np.array(labeller.w, np.float32), frames=np.stack(labeller.frames))


def _messages(bag: Path, reader: Reader, connections: list) -> Iterator[tuple[Any, int, Any]]:
    """(connection, bag time ns, message) in time order; rosbags' failures name the bag."""
    raw = reader.messages(connections=connections)
    while True:
        try:
            conn, ns, data = next(raw)
            msg = _TYPESTORE.deserialize_cdr(data, conn.msgtype)
        except StopIteration:
            return
        except Exception as err:  # storage (sqlite, mcap), zstd and CDR errors of all kinds
            raise _unreadable(bag, err) from err
        yield conn, ns, msg


def _unreadable(bag: Path, err: Exception) -> FollowLineError:
    return FollowLineError(f"cannot read rosbag2 {bag} (corrupt or not a rosbag2 folder): "
                           f"{type(err).__name__}: {err}")


def _decode_image(msg: Any, msgtype: str, bag: Path, topic: str) -> np.ndarray:
    """uint8 RGB (H, W, 3) from an Image (rgb8, bgr8, mono8) or a CompressedImage."""
    if msgtype == "sensor_msgs/msg/CompressedImage":
        bgr = cv2.imdecode(np.asarray(msg.data), cv2.IMREAD_COLOR)
        if bgr is None:
            raise FollowLineError(f"{bag}: cannot decode a {msg.format!r} compressed image "
                                  f"on {topic}")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    if msg.encoding not in ENCODINGS:
        raise FollowLineError(f"{bag}: image encoding {msg.encoding!r} on {topic} is not "
                              f"supported; supported: {', '.join(ENCODINGS)} "
                              f"(or sensor_msgs/msg/CompressedImage)")
    channels = 1 if msg.encoding == "mono8" else 3
    h, w = msg.height, msg.width
    if msg.step < w * channels or len(msg.data) < h * msg.step:
        raise FollowLineError(f"{bag}: {msg.encoding} image on {topic} has {len(msg.data)} "
                              f"bytes, too few for {w}x{h} with row step {msg.step}")
    rows = np.asarray(msg.data)[:h * msg.step].reshape(h, msg.step)[:, :w * channels]
    image = rows.reshape(h, w, channels)
    if msg.encoding == "bgr8":
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if msg.encoding == "mono8":
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    return image


def _load_csv(csv_path: Path, preprocessing: Preprocessing | None,
              progress: bool) -> list[Episode]:
    """Episodes of a data.csv file (rows grouped by its episode column, in first-seen order)."""
    with csv_path.open(newline="") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        missing = [c for c in ("image", "v", "w") if c not in columns]
        if missing:
            raise FollowLineError(f"{csv_path} lacks column(s) {', '.join(missing)}; needs "
                                  f"image,v,w (optional t,episode); has: {', '.join(columns)}")
        groups: dict[str, dict[str, list]] = {}
        for row in tqdm(reader, desc=csv_path.name, unit="frame", disable=not progress):
            where = f"{csv_path}, line {reader.line_num}"
            group = groups.setdefault(row.get("episode") or csv_path.parent.name,
                                      {"t": [], "v": [], "w": [], "frames": []})
            try:
                v, w = float(row["v"]), float(row["w"])
                t = float(row["t"]) if row.get("t") else len(group["t"]) / CSV_RATE_HZ
            except (TypeError, ValueError) as err:
                raise FollowLineError(f"{where}: v, w and t must be numbers ({err})") from err
            image = _read_image(csv_path.parent / (row["image"] or ""), row["image"], where)
            try:
                frame = preprocessing.apply(image) if preprocessing else _check_raw(image)
            except FollowLineError as err:
                raise FollowLineError(f"{where}: image {row['image']!r}: {err}") from err
            for key, value in (("t", t), ("v", v), ("w", w), ("frames", frame)):
                group[key].append(value)
    if not groups:
        raise FollowLineError(f"{csv_path} has no rows: the episode is empty")
    return [Episode(name=name, circuit=None, direction=None, kind="recorded",
                    t=np.array(g["t"], np.float64) - g["t"][0], v=np.array(g["v"], np.float32),
                    w=np.array(g["w"], np.float32), frames=np.stack(g["frames"]))
            for name, g in groups.items()]


def _read_image(path: Path, name: str, where: str) -> np.ndarray:
    if not name or not path.is_file():
        raise FollowLineError(f"{where}: image {name!r} not found (looked for {path})")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FollowLineError(f"{where}: image {name!r} cannot be read as an image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def write_folder_dataset(folder: Path, episodes: list[Episode]) -> None:
    """Export raw episodes as data.csv (image,v,w,t,episode) + one PNG per frame.

    Frames go to folder/<episode name>/<index>.png; data.csv is written last, atomically.
    """
    folder = Path(folder)
    out = io.StringIO()
    table = csv.writer(out, lineterminator="\n")
    table.writerow(CSV_COLUMNS)
    for ep in episodes:
        if ep.frames.dtype != np.uint8 or ep.frames.ndim != 4 or ep.frames.shape[3] != 3:
            raise FollowLineError(f"episode {ep.name!r}: write_folder_dataset needs raw uint8 "
                                  f"RGB frames (load with preprocessing=None), got "
                                  f"{ep.frames.dtype} frames of shape {ep.frames.shape[1:]}")
        (folder / ep.name).mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(ep.frames):
            rel = f"{ep.name}/{i:06d}.png"
            if not cv2.imwrite(str(folder / rel), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)):
                raise FollowLineError(f"cannot write image {folder / rel}")
            table.writerow([rel, repr(float(ep.v[i])), repr(float(ep.w[i])),
                            repr(float(ep.t[i])), ep.name])
    write_text_atomic(folder / CSV_FILE, out.getvalue())


def episode_summary(episodes: list[Episode]) -> dict:
    """Frames per episode, total frames, and the mean and range of the v and w labels."""
    def stats(values: list[np.ndarray]) -> dict | None:
        if not values:
            return None
        a = np.concatenate(values).astype(np.float64)
        return {"mean": float(a.mean()), "min": float(a.min()), "max": float(a.max())}

    return {
        "episodes": [{"name": e.name, "circuit": e.circuit, "direction": e.direction,
                      "kind": e.kind, "frames": len(e),
                      "duration_s": float(e.t[-1] - e.t[0]) if len(e) else 0.0}
                     for e in episodes],
        "frames": sum(len(e) for e in episodes),
        "v": stats([e.v for e in episodes if len(e)]),
        "w": stats([e.w for e in episodes if len(e)]),
    }
