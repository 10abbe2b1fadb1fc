"""PNG plots (matplotlib, no screen needed)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from itertools import product
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.cm import ScalarMappable  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.colors import Normalize  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.transforms import blended_transform_factory  # noqa: E402

from follow_line.bench.report import (  # noqa: E402
    latency_of,
    lockstep,
    perturbation_of,
    slowdown,
    swept,
)
from follow_line.files import write_text_atomic  # noqa: E402
from follow_line.world.circuits import Circuit, load_circuit  # noqa: E402

SPEED_CMAP = "viridis"


def _circuit_of(record: dict) -> Circuit:
    """The circuit a run was driven on: its file while it exists, else the built-in of its name.

    A record can outlive the package's location (moved, reinstalled elsewhere).
    """
    path = record.get("circuit_file")
    return load_circuit(path if path and Path(path).is_file()
                        else record.get("circuit_name", record["circuit"]))


def draw_circuit(ax: Axes, circuit: Circuit, direction: str = "anticlockwise") -> None:
    """The road as a grey band with the red line, the start gate and the driving direction."""
    line = circuit.line(direction)
    pts = np.vstack([line.points, line.points[:1]])
    normals = np.column_stack([-np.sin(line.seg_heading), np.cos(line.seg_heading)])
    half = circuit.road_width / 2
    left, right = line.points + half * normals, line.points - half * normals
    # The road: one loop out along the left edge and back along the right one is an annulus.
    band = np.vstack([left, left[:1], right[:1], right[::-1]])
    ax.fill(band[:, 0], band[:, 1], color="0.7", zorder=0, linewidth=0)
    for edge in (left, right):
        ax.plot(*np.vstack([edge, edge[:1]]).T, color="0.35", linewidth=0.6, zorder=2)
    ax.plot(pts[:, 0], pts[:, 1], color="#cd1e1e", linewidth=1.2, zorder=3)
    x0, y0, th = line.pose_at(0.0)
    ax.plot(x0, y0, marker="s", color="black", markersize=6, zorder=4)
    for s in np.linspace(0.0, line.length, 6, endpoint=False)[1:]:
        x, y, th = line.pose_at(s)
        ax.annotate("", xy=(x + 6 * np.cos(th), y + 6 * np.sin(th)), xytext=(x, y),
                    arrowprops={"arrowstyle": "->", "color": "black", "lw": 1.2}, zorder=5)
    ax.set_aspect("equal")
    ax.set_title(f"{circuit.name} ({line.length:.0f} m, {direction})")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")


def plot_circuits(training: list[Circuit], held_out: list[Circuit], path: Path) -> None:
    """Maps of the training circuits (top row) and the held-out ones (bottom row, tinted)."""
    rows = [row for row in (training, held_out) if row]
    cols = max(len(row) for row in rows)
    fig, axes = plt.subplots(len(rows), cols, figsize=(5 * cols, 5 * len(rows)),
                             squeeze=False)
    for ax_row, row in zip(axes, rows, strict=True):
        for ax in ax_row[len(row):]:
            ax.axis("off")
        for ax, circuit in zip(ax_row, row, strict=False):
            draw_circuit(ax, circuit)
            if circuit.held_out:
                ax.set_facecolor("#fff1dc")
                ax.set_title(f"{ax.get_title()}\nHELD OUT: testing only", color="#b35900",
                             fontweight="bold")
            else:
                ax.set_title(f"{ax.get_title()}\ntraining")
    fig.tight_layout()
    _save(fig, path)


def _clean(records: list[dict]) -> list[dict]:
    """Unperturbed lockstep runs, crashed ones included."""
    return [r for r in lockstep(records) if perturbation_of(r) == "clean"]


def _first_runs(records: list[dict]) -> list[dict]:
    """Clean first repeats that have a trajectory to draw."""
    return [r for r in _clean(records) if "error" not in r and r.get("repeat", 0) == 0
            and r.get("trajectory", {}).get("t")]


def _unique(values: Iterable) -> list:
    """The distinct values in first-seen order."""
    return list(dict.fromkeys(values))


def _colours(names: list[str]) -> dict[str, tuple]:
    """One distinct colour per name (tab10, or tab20 beyond ten names)."""
    cmap = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    return {name: cmap(i % cmap.N) for i, name in enumerate(names)}


def _slug(name: str) -> str:
    """A file-name-safe version of a driver or circuit name."""
    return re.sub(r"[^\w.-]+", "_", name).strip("_")


def _save(fig: Figure, path: Path) -> None:
    """Write the figure as a small PNG and free it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    write_text_atomic(Path(path), buffer.getvalue())


def plot_trajectories(records: list[dict], path: Path) -> None:
    """One driver's clean runs: each circuit map with the driven path coloured by speed."""
    runs = _first_runs(records)
    circuits = _unique(r["circuit"] for r in runs)
    directions = _unique(r["direction"] for r in runs)
    fig, axes = plt.subplots(len(circuits), len(directions), squeeze=False, layout="constrained",
                             figsize=(5.5 * len(directions) + 1.5, 3.6 * len(circuits)))
    vmax = max(max(r["trajectory"]["v"]) for r in runs)
    norm = Normalize(0.0, vmax if vmax > 0 else 1.0)
    placed = {(r["circuit"], r["direction"]): r for r in runs}
    for (row, circuit), (col, direction) in product(enumerate(circuits), enumerate(directions)):
        ax, run = axes[row, col], placed.get((circuit, direction))
        if run is None:
            ax.set_axis_off()
            continue
        draw_circuit(ax, _circuit_of(run), run["direction"])
        traj = run["trajectory"]
        pts = np.column_stack([traj["x"], traj["y"]])
        segments = LineCollection(list(np.stack([pts[:-1], pts[1:]], axis=1)), cmap=SPEED_CMAP,
                                  norm=norm, linewidth=2, zorder=6)
        segments.set_array(np.asarray(traj["v"][:-1]))
        ax.add_collection(segments)
        lap = f" {run['lap_times_s'][0]:.1f} s" if run.get("lap_times_s") else ""
        ax.set_title(f"{run['circuit']} {run['direction']}: {run['completion_pct']:.0f}%{lap}")
        if run["stop_reason"] != "lap_completed":
            ax.plot(*pts[-1], marker="X", color="red", markersize=16, markeredgecolor="white",
                    zorder=7)
            ax.annotate(f"{run['stop_reason']} at {run['completion_pct']:.0f}%", pts[-1],
                        xytext=(10, 10), textcoords="offset points", color="red",
                        fontweight="bold", zorder=8,
                        bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.8})
    fig.colorbar(ScalarMappable(norm, SPEED_CMAP), ax=axes, label="speed (m/s)", shrink=0.4,
                 aspect=30)
    fig.suptitle(f"{runs[0]['driver']}: clean runs (a row per circuit, a column per direction)")
    _save(fig, path)


def plot_cte(records: list[dict], path: Path) -> None:
    """One circuit: cross-track error against lap completion, one panel per direction."""
    runs = _first_runs(records)
    circuit = _circuit_of(runs[0])
    directions = _unique(r["direction"] for r in runs)
    colours = _colours(_unique(r["driver"] for r in runs))
    fig, axes = plt.subplots(1, len(directions), figsize=(7 * len(directions), 4), squeeze=False,
                             sharey=True, layout="constrained")
    for ax, direction in zip(axes[0], directions, strict=True):
        length = circuit.line(direction).length
        for run in (r for r in runs if r["direction"] == direction):
            traj = run["trajectory"]
            ax.plot(np.asarray(traj["progress"]) / length * 100, traj["cte"], linewidth=1,
                    color=colours[run["driver"]], label=run["driver"])
        for sign in (1, -1):
            ax.axhline(sign * circuit.road_width / 2, color="0.3", linestyle="--",
                       linewidth=1, label="road edge")
        ax.set_title(f"{circuit.name} {direction}")
        ax.set_xlabel("lap completion (%)")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("cross-track error (m)")
    handles = {label: h for ax in axes[0]
               for h, label in zip(*ax.get_legend_handles_labels(), strict=True)}
    fig.legend(handles.values(), handles.keys(), loc="outside right upper", fontsize="small",
               ncol=1 + len(handles) // 20)
    _save(fig, path)


def plot_lap_times(records: list[dict], path: Path) -> None:
    """Clean first-lap times per circuit and direction, one bar per driver (mean +- std)."""
    runs = _clean(records)
    groups = _unique((r["circuit"], r["direction"]) for r in runs)
    drivers = _unique(r["driver"] for r in runs)
    colours = _colours(drivers)
    width = 0.8 / len(drivers)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.3 * len(groups) * len(drivers) + 2), 4.5),
                           layout="constrained")
    near_axis = blended_transform_factory(ax.transData, ax.transAxes)
    for g, group in enumerate(groups):
        for d, driver in enumerate(drivers):
            cell = [r for r in runs if (r["circuit"], r["direction"]) == group
                    and r["driver"] == driver]
            if not cell:
                continue
            x = g - 0.4 + width * (d + 0.5)
            done = [r for r in cell if "error" not in r]
            laps = [r["lap_times_s"][0] for r in done if r.get("lap_times_s")]
            if laps:
                ax.bar(x, np.mean(laps), width, color=colours[driver],
                       yerr=np.std(laps, ddof=1) if len(laps) > 1 else None, capsize=2)
                if len(laps) < len(cell):
                    ax.text(x, np.mean(laps), f"{len(laps)}/{len(cell)}", ha="center",
                            va="bottom", fontsize=7)
            else:
                text = f"{np.mean([r['completion_pct'] for r in done]):.0f}%" if done else "error"
                ax.text(x, 0.02, text, transform=near_axis, rotation=90, ha="center",
                        va="bottom", fontsize=8, color="0.2")
    ax.set_xticks(range(len(groups)), [f"{c}\n{d}" for c, d in groups])
    ax.set_ylabel("lap time (s)")
    ax.set_title("first lap time, clean runs\n(no bar: lap not completed, completion written)",
                 fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    fig.legend([Patch(color=colours[d]) for d in drivers], drivers, loc="outside lower center",
               ncol=min(len(drivers), 8))
    _save(fig, path)


def plot_latency(records: list[dict], path: Path) -> None:
    """Completion and lap time against latency, a line per driver (clean runs pooled).

    A fixed latency sits at its milliseconds; a measured one at the mean delay it applied.
    The lap time is relative to the driver's lockstep lap (1 = no slower).
    """
    runs = [r for r in records if "error" not in r and perturbation_of(r) == "clean"]
    drivers = _unique(r["driver"] for r in runs)
    colours = _colours(drivers)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True, layout="constrained")
    for driver in drivers:
        mine = [r for r in runs if r["driver"] == driver]
        points = []
        for label in _unique(latency_of(r) for r in mine):
            cell = [r for r in mine if latency_of(r) == label]
            delay = (float(label) if label.replace(".", "").isdigit()
                     else np.mean([r.get("latency_ms_mean") or 0.0 for r in cell]))
            points.append((delay, np.mean([r["completion_pct"] for r in cell]),
                           slowdown(runs, driver, label)))
        points.sort()
        x = [p[0] for p in points]
        top.plot(x, [p[1] for p in points], "o-", color=colours[driver], label=driver)
        bottom.plot(x, [np.nan if p[2] is None else p[2] for p in points], "o-",
                    color=colours[driver])
    top.set_ylabel("mean completion (%)")
    top.set_ylim(-5, 105)
    bottom.set_ylabel("lap time / lockstep lap")
    bottom.set_xlabel("latency (ms): command from frame t acts at t + latency")
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    top.set_title("latency sweep, clean runs (no point: no lap completed)", fontsize=10)
    fig.legend(loc="outside lower center", ncol=min(len(drivers), 6))
    _save(fig, path)


def plot_robustness(records: list[dict], path: Path) -> None:
    """Heat map of mean completion (%) per driver and perturbation, lockstep runs pooled."""
    runs = [r for r in lockstep(records) if "error" not in r]
    drivers = _unique(r["driver"] for r in runs)
    perturbations = _unique(["clean"] + [perturbation_of(r) for r in runs])
    table = np.full((len(drivers), len(perturbations)), np.nan)
    for i, driver in enumerate(drivers):
        for j, perturbation in enumerate(perturbations):
            values = [r["completion_pct"] for r in runs
                      if r["driver"] == driver and perturbation_of(r) == perturbation]
            if values:
                table[i, j] = np.mean(values)
    fig, ax = plt.subplots(figsize=(1.3 * len(perturbations) + 3, 0.45 * len(drivers) + 1.5),
                           layout="constrained")
    image = ax.imshow(table, cmap="RdYlGn", vmin=0, vmax=100, aspect="auto")
    for (i, j), value in np.ndenumerate(table):
        ax.text(j, i, "-" if np.isnan(value) else f"{value:.0f}", ha="center", va="center",
                fontsize=9)
    ax.set_xticks(range(len(perturbations)), perturbations, rotation=30, ha="right")
    ax.set_yticks(range(len(drivers)), drivers)
    ax.set_title("mean completion (%)")
    fig.colorbar(image, ax=ax, label="completion (%)")
    _save(fig, path)


def write_bench_plots(records: list[dict], out: Path) -> list[Path]:
    """The benchmark's PNGs in `out/plots/`; returns the paths written."""
    plots = Path(out) / "plots"
    written = []
    first = _first_runs(records)
    for driver in _unique(r["driver"] for r in first):
        written.append(plots / f"trajectory_{_slug(driver)}.png")
        plot_trajectories([r for r in first if r["driver"] == driver], written[-1])
    for circuit in _unique(r["circuit"] for r in first):
        written.append(plots / f"cte_{_slug(circuit)}.png")
        plot_cte([r for r in first if r["circuit"] == circuit], written[-1])
    if _clean(records):
        written.append(plots / "lap_times.png")
        plot_lap_times(records, written[-1])
    if any(perturbation_of(r) != "clean" for r in lockstep(records) if "error" not in r):
        written.append(plots / "robustness.png")
        plot_robustness(records, written[-1])
    if swept(records):
        written.append(plots / "latency.png")
        plot_latency(records, written[-1])
    return written
