"""Dataset recording: the explicit driver drives the circuits and every frame is labelled.

Per circuit and direction it records clean laps and recovery laps. A recovery lap starts off
the line (lateral and heading offset) and, every few seconds, overrides the executed steering
with a random disturbance for a moment: the car drifts away from the line while the label
stays the expert's command for what the camera sees, so networks learn to come back.

With a `Randomisation`, the recorded camera sees a random world (colours, light, texture,
optics, sensor, mounting) that changes every few seconds, while the expert drives, and so
labels, from the nominal camera at the same pose: one command per pose, whatever it looks like.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from follow_line.driving.expert import ExpertDriver
from follow_line.errors import FollowLineError, unknown_name
from follow_line.learning.data import (
    DEFAULT_STORAGE,
    INDEX_FILE,
    EpisodeWriter,
    read_dataset_index,
    write_dataset_index,
)
from follow_line.world.appearance import Randomisation
from follow_line.world.circuits import DIRECTIONS, Circuit
from follow_line.world.kinematics import W_LIMITS
from follow_line.world.lap import LapMonitor, LapRules
from follow_line.world.render import Renderer
from follow_line.world.simulator import Simulator, StartOffset
from follow_line.world.worlds import DEFAULT_WORLD, World, get_world


@dataclass(frozen=True)
class Disturbances:
    """Steering disturbances of recovery laps."""

    every_s: tuple[float, float] = (2.0, 4.0)  # gap between disturbances, uniform
    hold_s: tuple[float, float] = (0.2, 0.5)  # how long one lasts, uniform
    w_offset: float = 1.0  # rad/s added to the expert's w, random sign and size up to this
    start_lateral: float = 1.0  # m, recovery laps start up to this far off the line
    start_heading: float = 0.15  # rad
    max_cte: float = 2.0  # m: no disturbance while this far off the line (stay on the road)

    def for_road(self, road_width: float) -> Disturbances:
        """The offsets scaled from the 8 m road they were chosen for to `road_width`."""
        scale = road_width / WIDE_ROAD_M
        return Disturbances(self.every_s, self.hold_s, self.w_offset,
                            self.start_lateral * scale, self.start_heading, self.max_cte * scale)


WIDE_ROAD_M = 8.0  # the road of the wide world's circuits, which Disturbances' offsets suit


@dataclass(frozen=True)
class EpisodePlan:
    """One recorded drive."""

    circuit: str
    direction: str
    kind: str  # "lap" or "recovery"
    index: int
    world: str = DEFAULT_WORLD  # whose circuit, camera and expert (world/worlds.py)

    def load_circuit(self) -> Circuit:
        """The plan's circuit, a name resolved in its world."""
        return get_world(self.world).load(self.circuit)

    @property
    def name(self) -> str:
        """Episode (and bag folder) name."""
        return f"{Path(self.circuit).stem}_{self.direction}_{self.kind}{self.index}"


def plan_episodes(circuits: list[str], directions: list[str], laps: int,
                  recovery: int, world: World | str | None = None) -> list[EpisodePlan]:
    """Every episode to record, validating names (circuits of `world`) first."""
    world = get_world(world)
    for circuit in circuits:
        world.check_training(circuit)
    for direction in directions:
        if direction not in DIRECTIONS:
            raise unknown_name("direction", direction, DIRECTIONS)
    return [EpisodePlan(c, d, kind, i, world.name) for c in circuits for d in directions
            for kind, count in (("lap", laps), ("recovery", recovery)) for i in range(count)]


# A randomised world changes its look this often (simulated seconds).
LOOK_EVERY_S = 4.0


@dataclass(frozen=True)
class Sample:
    """One labelled frame of an episode: what the camera saw and what the expert said."""

    t: float  # simulated seconds since the episode's start
    image: np.ndarray  # the recorded camera's (480, 640, 3) uint8 RGB frame
    v: float  # the expert's command: the label
    w: float
    pose: tuple[float, float, float]  # x, y, heading of the car at the frame
    executed: tuple[float, float]  # the command the car executed (a disturbance added)


class ExpertEpisode:
    """The expert drives one planned episode in memory; iterating yields every Sample once.

    `summary()` afterwards is the episode's entry of the dataset index (its bag named after
    the plan). `collect` writes the samples to a rosbag2 folder; `export` checks an ONNX
    model on them without writing anything. The plan's world gives the circuit, the camera
    and the expert; the disturbances' offsets are scaled to its road (`Disturbances.for_road`).
    """

    def __init__(self, plan: EpisodePlan, rng: np.random.Generator,
                 disturbances: Disturbances = Disturbances(),
                 randomisation: Randomisation | None = None):
        self.circuit = plan.load_circuit()
        disturbances = disturbances.for_road(self.circuit.road_width)
        self.plan, self.rng, self.disturbances = plan, rng, disturbances
        self.randomisation = randomisation
        self.start = StartOffset()
        if plan.kind == "recovery":
            self.start = StartOffset(
                along=float(rng.uniform(0, 20)),
                lateral=float(rng.uniform(-1, 1) * disturbances.start_lateral),
                heading=float(rng.uniform(-1, 1) * disturbances.start_heading))
        self.frames = self.looks = 0
        self.monitor: LapMonitor | None = None

    def __iter__(self) -> Iterator[Sample]:
        plan, rng, disturbances = self.plan, self.rng, self.disturbances
        world = get_world(plan.world)
        sim = Simulator(self.circuit, plan.direction, camera=world.camera, start=self.start)
        monitor = self.monitor = LapMonitor(sim.line, self.circuit.road_width, LapRules(laps=1))
        expert = ExpertDriver.for_world(world)
        monitor.update(sim.time, sim.pose)
        next_kick = float(rng.uniform(*disturbances.every_s))
        kick_until, kick, next_look, camera = -1.0, 0.0, 0.0, sim.renderer
        while monitor.stop_reason is None:
            image = sim.frame()
            v, w = expert(image, sim.time)
            if self.randomisation is not None:
                if sim.time >= next_look:
                    camera = Renderer(self.circuit, sim.camera, self.randomisation.sample(rng))
                    self.looks, next_look = self.looks + 1, sim.time + LOOK_EVERY_S
                image = camera.render(sim.pose)
            executed_w = w
            if plan.kind == "recovery":
                if sim.time >= next_kick:
                    kick = float(rng.uniform(0.5, 1.0) * rng.choice([-1, 1])
                                 * disturbances.w_offset)
                    kick_until = sim.time + float(rng.uniform(*disturbances.hold_s))
                    next_kick = kick_until + float(rng.uniform(*disturbances.every_s))
                near_line = abs(monitor.samples[-1].cte) < disturbances.max_cte
                if sim.time < kick_until and near_line:
                    executed_w = min(max(w + kick, W_LIMITS[0]), W_LIMITS[1])
            pose = sim.pose
            yield Sample(sim.time, image, v, w, (pose.x, pose.y, pose.theta), (v, executed_w))
            self.frames += 1
            sim.step(v, executed_w)
            monitor.update(sim.time, sim.pose, sim.command)

    def summary(self) -> dict:
        """The episode's dataset-index entry (after iterating)."""
        if self.monitor is None:
            raise RuntimeError("summary() of an episode not driven yet")
        summary = self.monitor.summary()
        return {"name": self.plan.name, "bag": self.plan.name, "circuit": self.circuit.name,
                "direction": self.plan.direction, "kind": self.plan.kind,
                "frames": self.frames, "stop_reason": summary["stop_reason"],
                "completion_pct": summary["completion_pct"], "start_offset": vars(self.start),
                "looks": self.looks}


def record_episode(plan: EpisodePlan, folder: Path, rng: np.random.Generator,
                   disturbances: Disturbances = Disturbances(), bar: tqdm | None = None,
                   randomisation: Randomisation | None = None,
                   storage: str = DEFAULT_STORAGE) -> dict:
    """Drive one episode with the expert, writing every frame to a rosbag2 folder."""
    episode = ExpertEpisode(plan, rng, disturbances, randomisation)
    with EpisodeWriter(folder, storage=storage) as writer:
        for s in episode:
            writer.write(s.t, s.image, s.v, s.w, s.pose, s.executed)
            if bar is not None:
                bar.update(1)
    return episode.summary()


def collect(out: Path, circuits: list[str], directions: list[str], laps: int = 1,
            recovery: int = 1, seed: int = 0, overwrite: bool = False,
            progress: bool = True, randomisation: Randomisation | None = None,
            storage: str = DEFAULT_STORAGE, world: World | str | None = None) -> list[dict]:
    """Record a dataset folder (dataset.yaml + one rosbag2 folder per episode).

    `storage` is the bags' rosbag2 storage: "mcap" (the default) or "sqlite3"; `world` the
    world whose circuits, camera and explicit driver record it (world/worlds.py).

    `out` must be new, empty, or (with `overwrite`) a dataset this command wrote and nothing
    else: collect never deletes what it did not write. The dataset is recorded in a hidden
    folder beside `out` and moved into place when complete, so an interruption (even
    `kill -9`) leaves the previous dataset as it was.
    """
    out = Path(out)
    replaced = check_collect_out(out, overwrite)
    world = get_world(world)
    plans = plan_episodes(circuits, directions, laps, recovery, world)
    rng = np.random.default_rng(seed)
    estimate = sum(frames_estimate(p) for p in plans)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.collecting-"))
    try:
        metas = []
        with tqdm(total=estimate, desc="collect", unit="frame", disable=not progress) as bar:
            for plan in plans:
                bar.set_postfix_str(plan.name)
                metas.append(record_episode(plan, staging / plan.name, rng, bar=bar,
                                            randomisation=randomisation, storage=storage))
            bar.total = bar.n
            bar.refresh()
        look = {"nominal": True} if randomisation is None else {
            "randomised": randomisation.to_dict(), "change_every_s": LOOK_EVERY_S}
        write_dataset_index(staging, metas, appearance=look, world=world.name)
        _move_into_place(staging, out, replaced)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return metas


def check_collect_out(out: Path, overwrite: bool) -> bool:
    """Refuse an --out collect may not write to; whether it holds a dataset to replace."""
    if not out.exists():
        return False
    if not out.is_dir():
        raise FollowLineError(f"--out {out} is a file; give a folder for the dataset")
    names = {p.name for p in out.iterdir()}
    if not names:
        return False
    if INDEX_FILE not in names:
        raise FollowLineError(
            f"--out {out} is not empty and holds no follow_line dataset ({INDEX_FILE}); "
            "collect writes only into a new or empty folder, or over a dataset it wrote "
            "(with --overwrite)")
    if not overwrite:
        raise FollowLineError(f"{out} already holds a dataset; choose another --out or pass "
                              "--overwrite")
    ours = {INDEX_FILE} | {entry["bag"] for entry in read_dataset_index(out)["episodes"]}
    foreign = sorted(names - ours)
    if foreign:
        raise FollowLineError(
            f"{out} also holds {', '.join(foreign[:5])}{' ...' if len(foreign) > 5 else ''},"
            " which the dataset did not write; --overwrite replaces only a dataset's own "
            "files: move them or choose another --out")
    return True


def _move_into_place(staging: Path, out: Path, replaced: bool) -> None:
    """Put the finished dataset at `out`; the previous one (all ours) is removed after."""
    if not replaced:
        if out.exists():
            out.rmdir()  # empty: checked before recording
        os.replace(staging, out)
        return
    old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.replaced-"))
    os.replace(out, old / out.name)
    os.replace(staging, out)
    shutil.rmtree(old, ignore_errors=True)


def frames_estimate(plan: EpisodePlan) -> int:
    """A lap at ~12 m/s, 20 frames a second (for the progress bar only)."""
    return int(math.ceil(plan.load_circuit().length / 12.0 * 20))
