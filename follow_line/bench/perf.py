"""Performance figures (docs/architecture.md "Performance budgets"): medians of many runs."""

from __future__ import annotations

import functools
import itertools
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

from follow_line.driving.expert import ExpertDriver
from follow_line.driving.pilot import Pilot
from follow_line.driving.run import Driver, RunSpec, run_drive
from follow_line.world.circuits import CIRCUIT_DIR, load_circuit
from follow_line.world.simulator import Simulator


def machine() -> str:
    """CPU model, its widest vector extension, core count and Python of this machine."""
    model = platform.processor() or platform.machine()
    fields: dict[str, str] = {}
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    model = fields.get("model name", model)
    flags = set(fields.get("flags", "").split())
    return (f"{model}{vector_extensions(flags)}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}")


def vector_extensions(flags: set[str]) -> str:
    """The widest vector extension in /proc/cpuinfo's flags, as " (AVX2)", or "" if none."""
    if "avx512f" in flags:
        return " (AVX-512 + VNNI)" if "avx512_vnni" in flags else " (AVX-512)"
    return " (AVX2)" if "avx2" in flags else ""


# A long circuit in a large box: the reference Montreal (1.4 km in a 617 m x 227 m box).
LONG_CIRCUIT = str(CIRCUIT_DIR / "reference" / "montreal.yaml")


def time_render(circuit: str = "monaco", frames: int = 1000) -> dict:
    """Median and p99 milliseconds to render one 640x480 frame along the line.

    With the circuit's length and box, and the seconds to build its renderer (load time).
    """
    loaded = load_circuit(circuit)
    t0 = time.perf_counter()
    sim = Simulator(loaded, "clockwise")
    load_s = time.perf_counter() - t0
    step = sim.line.length / frames
    poses = []
    for i in range(frames):
        x, y, th = sim.line.pose_at(i * step)
        poses.append(sim.pose.__class__(x, y, th))
    for pose in poses[:20]:
        sim.renderer.render(pose)
    times = []
    for pose in poses:
        t0 = time.perf_counter()
        sim.renderer.render(pose)
        times.append((time.perf_counter() - t0) * 1e3)
    box = np.ptp(sim.line.points, axis=0)
    return {"render_ms_median": statistics.median(times),
            "render_ms_p99": float(np.percentile(times, 99)), "frames": frames,
            "circuit": loaded.name, "length_m": sim.line.length, "box_m": box.tolist(),
            "load_s": load_s}


def _real_time_factors(spec: RunSpec, make_driver: Callable[[], Driver], threads: int,
                       repeats: int) -> dict:
    """Median (and range) real-time factor of `repeats` identical runs on `threads` threads."""
    cv2.setNumThreads(threads)
    records = [run_drive(spec, make_driver()) for _ in range(repeats)]
    factors = sorted(r["real_time_factor"] for r in records)
    return {"circuit": spec.circuit.name, "direction": spec.direction, "threads": threads,
            "sim_time_s": records[0]["sim_time_s"],
            "wall_time_s": statistics.median(r["wall_time_s"] for r in records),
            "real_time_factor": statistics.median(factors), "rtf_min": factors[0],
            "rtf_max": factors[-1], "runs": repeats, "stop_reason": records[0]["stop_reason"]}


def closed_loop(circuits: list[str], threads: int, direction: str = "clockwise",
                repeats: int = 3) -> list[dict]:
    """Real-time factor of full laps with the explicit driver (render + driver + monitor)."""
    return [_real_time_factors(RunSpec(load_circuit(name), direction), ExpertDriver, threads,
                               repeats) for name in circuits]


def _latencies(fn: Callable[[np.ndarray], object], x: np.ndarray, repeats: int) -> list[float]:
    for _ in range(min(20, repeats)):
        fn(x)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(x)
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def inference_backends() -> tuple[str, ...]:
    """The backends `perf` times: keras and litert, and onnxruntime when installed."""
    from follow_line.driving.inference import onnx_ready

    return ("keras", "litert", "onnxruntime") if onnx_ready() else ("keras", "litert")


def time_inference(networks: list[str], backends: tuple[str, ...] | None = None,
                   repeats: int = 300, onnx_files: Sequence[Path] = ()) -> list[dict]:
    """Batch-1 latency (ms) of each network and backend on a real camera frame.

    Shipped weights are used where they exist, else a freshly built network (same cost).
    Each call is what a pilot does with a preprocessed frame: frame buffer(s) and network
    (`Pilot.infer`). A sequence network is timed whole-window and streamed (front end +
    temporal part), on each backend and (unless `backends` says) on `auto`'s choice.
    `keras.Model.predict()` is timed for the first network as the baseline never to use.
    Each of `onnx_files` (exported or quantised models with their cards) is timed on ONNX
    Runtime, on every core and on one thread.
    """
    from follow_line.driving.zoo import build_untrained, load_card, load_model, shipped_models

    frame = Simulator(load_circuit("simple"), "clockwise").frame()
    rows = []
    for i, name in enumerate(networks):
        model, card = load_model(name) if name in shipped_models() else build_untrained(name)
        modes = (False, True) if card.frames.mode == "sequence" else (False,)
        names = backends or (*inference_backends(), *(("auto",) if len(modes) > 1 else ()))
        for backend in names:
            for threads in (None,) if backend == "keras" else (None, 1):
                for streaming in modes:
                    pilot = Pilot(card, model, backend=backend, threads=threads,
                                  streaming=streaming)
                    label = ("auto: " if backend == "auto" else "") + _label(pilot, threads)
                    rows.append(_row(name, label, _latencies(
                        _frames(pilot), card.preprocessing.apply(frame), repeats)))
        if i == 0:
            x = Pilot(card, model, backend="keras").network_input(frame, 0.0)
            times = _latencies(functools.partial(model.predict, verbose=0), x,
                               max(repeats // 10, 10))
            rows.append(_row(name, "keras predict()", times))
    for path in onnx_files:
        for threads in (None, 1):
            pilot = Pilot(load_card(path), Path(path), threads=threads)
            rows.append(_row(Path(path).name, _label(pilot, threads), _latencies(
                _frames(pilot), pilot.card.preprocessing.apply(frame), repeats)))
    return rows


def _frames(pilot: Pilot) -> Callable[[np.ndarray], list[np.ndarray]]:
    """What `pilot` does with a preprocessed frame, the frames one period (1/20 s) apart."""
    clock = itertools.count()
    return lambda x: pilot.infer(x, next(clock) / 20)


def _label(pilot: Pilot, threads: int | None) -> str:
    return (pilot.backend + (" (1 thread)" if threads == 1 else "")
            + (", streamed" if pilot.streaming else ""))


def _row(network: str, backend: str, times: list[float]) -> dict:
    return {"network": network, "backend": backend, "median_ms": statistics.median(times),
            "p99_ms": float(np.percentile(times, 99)), "runs": len(times)}


def closed_loop_network(network: str, threads: int, circuit: str = "simple",
                        seconds: float = 30.0, repeats: int = 3) -> dict:
    """Real-time factor of render + pilot + monitor with a network (whatever it drives like)."""
    from follow_line.driving.zoo import load_pilot
    from follow_line.world.lap import LapRules

    pilot = load_pilot(network, threads=threads)
    spec = RunSpec(load_circuit(circuit), "clockwise",
                   LapRules(timeout_seconds=seconds, stuck_seconds=seconds))
    row = _real_time_factors(spec, lambda: pilot, threads, repeats)
    return {"network": network, "backend": pilot.backend, **row}


def default_benchmark(network: str) -> dict:
    """Wall time of the default benchmark: one network x 3 circuits x 2 directions, all cores."""
    import tempfile

    from follow_line.bench.runner import default_jobs, plan, run_bench
    from follow_line.world.circuits import DIRECTIONS, builtin_circuits

    runs = plan([network], builtin_circuits(), list(DIRECTIONS))
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        records = run_bench(runs, Path(out), jobs=default_jobs(), progress=False)
        wall = time.perf_counter() - t0
    return {"network": network, "runs": len(runs), "jobs": default_jobs(), "wall_time_s": wall,
            "sim_time_s": sum(r.get("sim_time_s", 0.0) for r in records),
            "completed": sum(r.get("stop_reason") == "lap_completed" for r in records)}


def run_perf(circuits: list[str], networks: list[str],
             onnx_files: Sequence[Path] = ()) -> dict:
    """All the figures (`onnx_files`: exported models also timed for inference).

    Render on one thread; closed loops as `follow-line drive` runs them (every core) and on
    one thread (as each `bench --jobs N` worker runs them).
    """
    cores = os.cpu_count() or 1
    cv2.setNumThreads(1)
    figures = {"machine": machine(), "render": time_render(circuits[0]),
               "render_long": time_render(LONG_CIRCUIT),
               "closed_loop_expert": closed_loop(circuits, cores) + closed_loop(circuits, 1)}
    if networks:
        figures["closed_loop_network"] = [closed_loop_network(networks[0], n)
                                          for n in dict.fromkeys((cores, 1))]
        figures["default_benchmark"] = default_benchmark(networks[0])
        cv2.setNumThreads(1)
        figures["inference"] = time_inference(networks, onnx_files=onnx_files)
    return figures


def perf_markdown(figures: dict) -> str:
    """The performance section body of docs/results.md."""
    lines = [f"Measured on: {figures['machine']}.", "",
             "| figure | value | budget |", "|---|---|---|"]
    for key in ("render", "render_long"):
        if key in figures:
            lines.append(_render_row(figures[key]))
    for row in figures["closed_loop_expert"]:
        lines.append(f"| closed loop, explicit driver, {row['circuit']} {row['direction']}, "
                     f"{_loop(row)} | >= 50x |")
    for row in figures.get("closed_loop_network", []):
        lines.append(f"| closed loop, {row['network']} ({row['backend']}), {row['circuit']}, "
                     f"{_loop(row)} | >= 20x |")
    if "default_benchmark" in figures:
        b = figures["default_benchmark"]
        lines.append(f"| default benchmark: {b['network']} x 3 circuits x 2 directions, "
                     f"{b['jobs']} processes ({b['completed']}/{b['runs']} laps completed, "
                     f"{b['sim_time_s']:.0f} s simulated) | {b['wall_time_s']:.1f} s wall | "
                     f"< 60 s |")
    if "inference" in figures:
        lines += ["", "Inference, batch 1, on a preprocessed camera frame:", "",
                  "| network | backend | median (ms) | p99 (ms) |", "|---|---|---:|---:|"]
        for row in figures["inference"]:
            lines.append(f"| {row['network']} | {row['backend']} | {row['median_ms']:.3f} | "
                         f"{row['p99_ms']:.3f} |")
    return "\n".join(lines) + "\n"


def _render_row(r: dict) -> str:
    """The table row of a render figure."""
    where = ""
    if "circuit" in r:
        where = (f", {r['circuit']} ({r['length_m']:,.0f} m in a {r['box_m'][0]:.0f} m x "
                 f"{r['box_m'][1]:.0f} m box, renderer built in {r['load_s']:.1f} s)")
    return (f"| render one 640x480 frame{where}, one thread, median (p99) | "
            f"{r['render_ms_median']:.3f} ms ({r['render_ms_p99']:.3f} ms) | <= 2 ms |")


def _loop(row: dict) -> str:
    """Table cells of a closed-loop figure: conditions, then median and range."""
    threads = "1 thread" if row["threads"] == 1 else f"{row['threads']} threads"
    return (f"{threads}, median of {row['runs']} runs ({row['sim_time_s']:.1f} s simulated in "
            f"{row['wall_time_s']:.2f} s) | {row['real_time_factor']:.1f}x real time "
            f"({row['rtf_min']:.0f}-{row['rtf_max']:.0f}x)")
