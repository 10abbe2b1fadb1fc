"""Benchmark matrix: drivers x circuits x directions x perturbations x repetitions.

Runs go to parallel worker processes; each run's record (with its trajectory) is written to
runs/KEY.json as soon as it ends, so an interrupted benchmark resumes where it stopped and a
failing run is recorded with its error without losing the others. A record keeps the digest
of the network's weights: a run whose network was retrained since is run again. The reports
(results.json without trajectories, results.csv, results.md and plots/*.png) are rebuilt
from all records. A run is driven by this process's simulator or through the ROS graph
(`bench.ros_runs`): the way it is driven is part of its identity.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import multiprocessing
import os
import signal
import threading
import time
import traceback
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

from tqdm import tqdm

from follow_line.bench.labels import distinct_labels
from follow_line.bench.perturb import perturbation, run_conditions
from follow_line.bench.plots import write_bench_plots
from follow_line.bench.record_check import record_problem
from follow_line.bench.report import (
    latency_grid,
    lockstep,
    perturbation_of,
    results_csv,
    results_markdown,
    results_seed_markdown,
    robustness_table,
    swept,
)
from follow_line.bench.report_html import report_html
from follow_line.driving.drivers import (
    check_driver_name,
    driver_task,
    driver_weights,
    make_driver,
)
from follow_line.driving.latency import parse_latency
from follow_line.driving.run import Driver, RunSpec, run_drive
from follow_line.errors import FollowLineError, unknown_name
from follow_line.files import write_json_atomic, write_text_atomic
from follow_line.world.circuits import DIRECTIONS, Circuit
from follow_line.world.lap import LapRules
from follow_line.world.worlds import get_world

log = logging.getLogger(__name__)
ORPHAN_CHECK_S = 0.5  # how often a worker checks that the main process is still there
ORPHAN_GRACE_S = 10.0  # an orphaned worker's SIGTERM handler (a ROS graph's) has this long
EXIT_INTERRUPTED = 130  # a worker whose ROS graph a signal stopped (as the CLI's)
IN_PROCESS = "in-process"  # a run's `via` here; through ROS: `ros_runs.VIAS`
REPORT_FORMAT = 4  # bumped when the reports change: a bench then rewrites them


@dataclass(frozen=True)
class BenchRun:
    """One cell of the matrix."""

    driver: str
    circuit: str  # built-in name or path
    direction: str
    repeat: int = 0
    laps: int = 1
    perturbation: str = "clean"
    latency: str = "0"  # a `parse_latency` label
    via: str = IN_PROCESS  # how it is driven: here, or through the ROS graph
    world: str = "wide"  # whose circuits, car and networks (world/worlds.py)

    @property
    def key(self) -> str:
        """File-name-safe identity of the run: readable names, then a digest of what they are.

        The digest covers the driver (its name, or a model file's absolute path), the
        circuit's geometry and the run's conditions (appearance and start), so a user's
        `simple.yaml` or `tinypilotnet.keras` never shares a record with the built-in ones,
        and a perturbation whose definition changed runs again. A run through the ROS graph
        never shares a record with the same run driven here.
        """
        name = Path(self.driver).stem if Path(self.driver).suffix else self.driver
        key = f"{name}__{Path(self.circuit).stem}__{self.direction}__r{self.repeat}"
        if self.perturbation != "clean":
            key = f"{key}__{self.perturbation}"
        if self.latency != "0":
            key = f"{key}__lat{self.latency.replace(':', 'x')}"
        if self.via != IN_PROCESS:
            key = f"{key}__{self.via}"
        digest = _identity_digest(self.driver, self.circuit, self.perturbation, self.repeat,
                                  self.latency, self.via, self.world)
        return f"{key}__{digest}"

    def load_circuit(self) -> Circuit:
        """The run's circuit, a name resolved in the run's world."""
        return get_world(self.world).load(self.circuit)


@functools.cache
def _identity_digest(driver: str, circuit: str, perturbation: str, repeat: int,
                     latency: str, via: str, world: str = "wide") -> str:
    c = get_world(world).load(circuit)
    who = str(Path(driver).resolve()) if Path(driver).suffix else driver
    geometry = json.dumps([c.road_width, c.line_width, c.control_points, c.start,
                           c.interpolation])
    appearance, start = run_conditions(perturbation, repeat)
    conditions = json.dumps([appearance.to_dict(), vars(start)], sort_keys=True)
    if latency != "0":  # lockstep runs keep the identity they had before latencies existed
        conditions += f"|latency {latency}"
    if via != IN_PROCESS:  # in-process runs keep the identity they had before ROS runs
        conditions += f"|via {via}"
    if world != "wide":  # the wide world's runs keep the identity they had before worlds
        conditions += f"|world {world}"
    return hashlib.sha256(f"{who}|{geometry}|{conditions}".encode()).hexdigest()[:8]


def plan(drivers: list[str], circuits: list[str], directions: list[str], repeat: int = 1,
         laps: int = 1, perturbations: tuple[str, ...] | list[str] = ("clean",),
         latencies: tuple[str, ...] | list[str] = ("0",), via: str = IN_PROCESS,
         world: str | None = None) -> list[BenchRun]:
    """Every run of the matrix, validating names and latencies before anything starts.

    `via`: how the runs are driven, here or one of `ros_runs.VIAS` through the ROS graph;
    `world`: whose circuits (names resolve in it), car and networks (None: the default).
    """
    world = get_world(world).name
    for name in drivers:
        check_driver_name(name, world)
    for circuit in circuits:
        get_world(world).load(circuit)
    for direction in directions:
        if direction not in DIRECTIONS:
            raise unknown_name("direction", direction, DIRECTIONS)
    for name in perturbations:
        perturbation(name)
    labels = list(dict.fromkeys(parse_latency(text).label for text in latencies))
    runs = [BenchRun(d, c, r, k, laps, p, lat, via, world) for d in drivers for lat in labels
            for p in perturbations for c in circuits for r in directions for k in range(repeat)]
    if via != IN_PROCESS:
        from follow_line.bench.ros_runs import check_ros_runs

        check_ros_runs(runs)
    return runs


def _execute(run: BenchRun, out: Path, weights: str | None, threads: int = 1) -> dict:
    """Drive one run in a worker and write its record; errors become records too.

    `weights` (the driver's `driver_weights`) is recorded with the run.
    """
    record = finish_record(run, drive_record(run, threads), weights)
    write_json_atomic(out / "runs" / f"{run.key}.json", record)
    return record


def drive_record(run: BenchRun, threads: int = 1) -> dict:
    """Drive one run; its record, or a record of the error that stopped it."""
    import cv2

    cv2.setNumThreads(threads)
    try:
        if run.via != IN_PROCESS:
            from follow_line.bench.ros_runs import drive_through_ros

            return drive_through_ros(run, _slot)
        appearance, start = run_conditions(run.perturbation, run.repeat)
        spec = RunSpec(run.load_circuit(), run.direction, LapRules(laps=run.laps),
                       appearance, start, parse_latency(run.latency), get_world(run.world))
        return run_drive(spec, _driver(run.driver, threads, run.world))
    except Exception as exc:  # noqa: BLE001 (a failing run must not stop the others)
        return failed_record(run, f"{type(exc).__name__}: {exc}", traceback.format_exc())


def failed_record(run: BenchRun, error: str, trace: str = "") -> dict:
    """The record of a run that did not finish (retried on the next invocation).

    It names the circuit's file like a finished run's, so that the reports put it in the
    same column (`bench.labels`).
    """
    return {"circuit": Path(run.circuit).stem, "circuit_file": run.load_circuit().source,
            "direction": run.direction, "error": error, "traceback": trace}


def finish_record(run: BenchRun, record: dict, weights: str | None) -> dict:
    """`record` with the run's identity: driver label, repeat, conditions, weights."""
    record["driver"] = driver_label(run.driver)
    if Path(run.driver).suffix:  # a model file: two in different folders may share a name
        record["driver_file"] = str(Path(run.driver).resolve())
    record["repeat"] = run.repeat
    record["perturbation"] = run.perturbation
    record["latency"] = run.latency
    record["via"] = run.via
    record["weights"] = weights
    return record


def driver_label(driver: str) -> str:
    """A driver's name in the reports: its name, or a model file's name (pilotnet.onnx).

    A model file thus never shares a row with the shipped network its card is named after.
    """
    return Path(driver).name if Path(driver).suffix else driver


@functools.cache
def _driver(name: str, threads: int, world: str) -> Driver:
    """A worker's driver for a world, loaded once per process (a network takes seconds).

    `run_drive` resets it before every run.
    """
    return make_driver(name, threads=threads, world=world)


EXECUTORS = ("local", "ray")


def run_bench(runs: list[BenchRun], out: Path, jobs: int = 1, progress: bool = True,
              executor: str = "local", address: str | None = None) -> list[dict]:
    """Run what is not done yet, then report.

    A run is done when its record holds no error and was driven with the current weights.
    `executor` "local" runs `jobs` worker processes here; "ray" runs Ray tasks on a local
    Ray instance (`jobs` CPUs) or, with `address`, on an existing cluster.
    """
    if executor not in EXECUTORS:
        raise unknown_name("executor", executor, EXECUTORS)
    if executor != "local" and any(r.via != IN_PROCESS for r in runs):
        raise FollowLineError(f"--executor {executor} cannot drive ROS graphs (each run's "
                              "domain is chosen per local worker); with --ros, use "
                              "--executor local")
    out = Path(out)
    check_report_paths(out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    weights = {name: driver_weights(name, world)
               for name, world in {(r.driver, r.world) for r in runs}}
    todo = [r for r in runs if not _finished(out / "runs" / f"{r.key}.json", weights[r.driver])]
    bar = tqdm(total=len(runs), initial=len(runs) - len(todo), desc="bench", unit="run",
               disable=not progress)
    if executor == "ray":
        from follow_line.bench.ray_executor import run_on_ray

        def write(run: BenchRun, record: dict) -> None:
            if "circuit_file" in record:  # the worker's copy: name the user's file
                record["circuit_file"] = run.load_circuit().source
            record = finish_record(run, record, weights[run.driver])
            write_json_atomic(out / "runs" / f"{run.key}.json", record)
            _report_progress(bar, record)

        run_on_ray(todo, write, address, jobs)
    elif jobs <= 1:
        for run in todo:
            _report_progress(bar, _execute(run, out, weights[run.driver],
                                           threads=default_jobs()))
    else:
        _run_in_workers(todo, out, weights, jobs, bar)
    bar.close()
    records = [json.loads((out / "runs" / f"{r.key}.json").read_text()) for r in runs]
    worlds = {r.driver: r.world for r in runs}
    tasks = {name: driver_task(name, worlds[name]) for name in weights}
    for run, record in zip(runs, records, strict=True):
        record["task"] = tasks[run.driver]  # for the reports' grouping, not stored in runs/
    keys = [r.key for r in runs]
    if todo or _reported(out) != _state(records, keys):  # else the reports show these runs
        write_reports(records, out, keys)
    return records


def _state(records: list[dict], keys: list[str]) -> dict:
    """What the reports were made from: the report format, each run's key and record time."""
    return {"format": REPORT_FORMAT,
            "runs": [[key, r.get("created")] for key, r in zip(keys, records, strict=True)]}


def _run_in_workers(todo: list[BenchRun], out: Path, weights: dict, jobs: int,
                    bar: tqdm) -> None:
    """Run `todo` in `jobs` worker processes; none outlives this call or this process.

    Workers are spawned (forking a process that runs TensorFlow or LiteRT threads can
    deadlock), ignore SIGINT (a terminal's Ctrl-C reaches the whole process group: the main
    process decides) and exit by themselves when the main process is gone, even after
    `kill -9`. On Ctrl-C or any error the main process terminates them at once: the runs
    they were driving are lost and run again on resume; finished records are kept. A worker
    driving a ROS graph stops its nodes first (the graph's SIGINT and SIGTERM handler).
    """
    context = multiprocessing.get_context("spawn")
    slots = context.Value("i", 0)
    pool = context.Pool(jobs, initializer=_worker_init, initargs=(os.getpid(), slots))
    try:
        tasks = [(run, out, weights[run.driver]) for run in todo]
        for record in pool.imap_unordered(_execute_task, tasks):
            _report_progress(bar, record)
    except BaseException:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C waits
        try:
            pool.terminate()
            pool.join()
        finally:
            signal.signal(signal.SIGINT, previous)
        raise
    pool.close()
    pool.join()


_slot = 0  # this process's number in the bench: 0 the main process, 1, 2, ... its workers


def _execute_task(task: tuple) -> dict:
    try:
        return _execute(*task)
    except KeyboardInterrupt:  # a ROS graph stopped by a signal: the bench is stopping
        os._exit(EXIT_INTERRUPTED)


def _worker_init(main_pid: int, slots: Synchronized) -> None:
    """Take the next number of `slots`; ignore SIGINT; end when the main process is gone.

    An orphaned worker sends itself SIGTERM (which ends it, or makes the ROS graph it drives
    stop its nodes first) and exits after ORPHAN_GRACE_S at the latest.
    """
    global _slot
    with slots.get_lock():
        slots.value += 1
        _slot = slots.value
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == main_pid:
            time.sleep(ORPHAN_CHECK_S)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(ORPHAN_GRACE_S)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _reported(out: Path) -> dict | None:
    """The `_state` the reports in `out` were written from (None if unknown)."""
    try:
        return json.loads((out / "results.json").read_text()).get("state")
    except (OSError, ValueError, AttributeError):
        return None


def _finished(path: Path, weights: str | None) -> bool:
    """Whether `path` holds a complete, valid record of a run driven with `weights`.

    A record that does not validate (`record_problem`) is run again, with a warning naming
    the file and the field.
    """
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(record, dict) or "error" in record or record.get("weights") != weights:
        return False
    problem = record_problem(record)
    if problem:
        log.warning("%s: %s: running it again", path, problem)
    return problem is None


def _report_progress(bar: tqdm, record: dict) -> None:
    bar.set_postfix_str(f"{record['driver']} {record['circuit']} {record['direction']}: "
                        + (record["error"][:40] if "error" in record
                           else f"{record['completion_pct']:.0f}%"))
    bar.update(1)


REPORT_FILES = ("results.json", "results.csv", "results.md", "results_seed.md",
                "robustness.md", "latency.md", "report.html")


def check_report_paths(out: Path) -> None:
    """Refuse, before any run, a benchmark folder where a report cannot be written."""
    if out.exists() and not out.is_dir():
        raise FollowLineError(f"--out {out} is a file, not a folder")
    for name in REPORT_FILES:
        if (out / name).is_dir():
            raise FollowLineError(f"{out / name} is a folder: bench writes its {name} there; "
                                  "move the folder away or choose another --out")
    for name in ("runs", "plots"):
        if (out / name).exists() and not (out / name).is_dir():
            raise FollowLineError(f"{out / name} is a file: bench keeps its {name} in a folder "
                                  "there; move the file away or choose another --out")


def write_reports(records: list[dict], out: Path, keys: list[str]) -> None:
    """Every report of a benchmark folder (`keys`: the runs' keys), results.json last.

    Plots, results.csv, results.md, results_seed.md, robustness.md if perturbed,
    latency.md if several latencies were driven, and report.html.
    """
    raw, records = records, distinct_labels(records)  # same-named drivers, circuits apart
    plots = write_bench_plots(records, out)
    write_text_atomic(out / "results.csv", results_csv(records))
    write_text_atomic(out / "results.md", results_markdown(records))
    write_text_atomic(out / "results_seed.md", results_seed_markdown(records))
    steady = lockstep(records)
    if any(perturbation_of(r) != "clean" for r in steady):
        write_text_atomic(out / "robustness.md", robustness_table(steady))
    if swept(records):
        write_text_atomic(out / "latency.md", latency_grid(records).markdown())
    write_text_atomic(out / "report.html", report_html(records, keys, plots))
    summaries = [{k: v for k, v in r.items() if k != "trajectory"} for r in records]
    write_json_atomic(out / "results.json", {"keys": keys, "state": _state(raw, keys),
                                             "runs": summaries})


def default_jobs() -> int:
    """One worker per core."""
    return max(1, os.cpu_count() or 1)
