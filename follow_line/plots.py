"""PNG plots (matplotlib, no screen needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from follow_line.circuits import Circuit  # noqa: E402


def draw_circuit(ax, circuit: Circuit, direction: str = "anticlockwise") -> None:
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


def plot_circuits(circuits: list[Circuit], path: Path) -> None:
    """Side-by-side maps of circuits."""
    fig, axes = plt.subplots(1, len(circuits), figsize=(5 * len(circuits), 5), squeeze=False)
    for ax, circuit in zip(axes[0], circuits, strict=True):
        draw_circuit(ax, circuit)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
