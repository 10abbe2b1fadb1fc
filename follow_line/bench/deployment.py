"""The quantisation table: a network's exported ONNX variants against its Keras model.

Per variant: file size, batch-1 latency (from `follow-line perf --json`), the offline v/w
MAE and largest output difference its export measured (its card), and how it drives: runs
completed of a benchmark (`follow-line bench`) and mean lap time over the Keras model's,
on the clean runs and, given a `bench --perturb all` folder, under every perturbation
(the worst perturbation's lap-time ratio beside the mean). `python -m
follow_line.bench.deployment --network pilotnet --bench DIR [--perturbed DIR] --perf FILE
--onnx DIR` prints it (`make deploy` writes docs/deployment.md's).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from follow_line.bench.report import (
    Table,
    completion_cell,
    lap_time_ratio,
    lockstep,
    mean_laps,
    perturbation_of,
)
from follow_line.driving.zoo import network_files


def quantization_grid(network: str, records: list[dict], inference: list[dict],
                      onnx_files: list[Path], perturbed: list[dict] | None = None) -> Table:
    """The table of `network` (a shipped name) and its exported `onnx_files`.

    `perturbed`: the records of a `bench --perturb all` of some variants (the perturbed
    columns show "-" for the others).
    """
    runs = [r for r in lockstep(records) if perturbation_of(r) == "clean"]
    perturbed = [r for r in lockstep(perturbed or []) if perturbation_of(r) != "clean"]
    latency = {(row["network"], row["backend"]): row["median_ms"] for row in inference}
    weights, _ = network_files(network, None)
    export_of = {path: json.loads(path.with_suffix(".json").read_text())["training"]["export"]
                 for path in onnx_files}
    keras_mae = next(iter(export_of.values()))["mae"]["keras"] if export_of else None
    rows = [_row(f"{weights.name} (float32, LiteRT)", weights.stat().st_size,
                 (latency.get((network, "litert")), latency.get((network, "litert (1 thread)"))),
                 keras_mae, 0.0, runs, network, network) + _perturbed(perturbed, network, network)]
    for path in onnx_files:
        export = export_of[path]
        kind = "float32" if export["quantize"] == "none" else export["quantize"]
        rows.append(_row(f"{path.name} ({kind}, ONNX Runtime)", path.stat().st_size,
                         (latency.get((path.name, "onnxruntime")),
                          latency.get((path.name, "onnxruntime (1 thread)"))),
                         export["mae"]["onnx"], export["max_abs_diff"], runs, path.name,
                         network) + _perturbed(perturbed, path.name, network))
        if export["mae"]["keras"] != keras_mae:  # checked on other frames (int8)
            rows[-1][3] += " (Keras {v:.3f} / {w:.3f} there)".format(**export["mae"]["keras"])
    head = ["variant", "size (MB)", "latency (ms): all cores / 1 thread",
            "offline MAE v (m/s) / w (rad/s)", "largest output difference",
            "completion (runs completed)", "lap / Keras",
            "perturbed: completion (runs completed)", "perturbed lap / Keras: mean (worst)"]
    return Table(f"Quantised {network}", head, rows, "latency: median of batch-1 inferences "
                 "on a camera frame; MAE on the export's check frames (int8: the ones it was "
                 "not calibrated on, with Keras' MAE there); perturbed: every perturbation "
                 "of `bench --perturb all`, worst: the perturbation whose mean lap-time ratio "
                 "is furthest from 1")


def _perturbed(records: list[dict], driver: str, reference: str) -> list[str]:
    """Completion of `driver` under the perturbations, its mean and worst lap ratio."""
    mine = [r for r in records if r["driver"] == driver]

    def laps(who: str, name: str) -> dict[tuple[str, str], float]:
        return mean_laps(records, lambda r: (r["driver"], perturbation_of(r)) == (who, name))

    ratios = [ratio for name in dict.fromkeys(map(perturbation_of, mine))
              if (ratio := lap_time_ratio(laps(driver, name), laps(reference, name)))
              is not None]
    if not ratios:
        return [completion_cell(mine) or "-", "-"]
    worst = max(ratios, key=lambda ratio: abs(ratio - 1))
    return [completion_cell(mine), f"{sum(ratios) / len(ratios):.3f} ({worst:.3f})"]


def _row(label: str, size: int, latency: tuple, mae: dict | None, diff: float,
         runs: list[dict], driver: str, reference: str) -> list[str]:
    mine = [r for r in runs if r["driver"] == driver]
    ratio = lap_time_ratio(mean_laps(runs, lambda r: r["driver"] == driver),
                           mean_laps(runs, lambda r: r["driver"] == reference))
    return [label, f"{size / 1e6:.2f}",
            " / ".join("-" if ms is None else f"{ms:.2f}" for ms in latency),
            "-" if mae is None else f"{mae['v']:.3f} / {mae['w']:.3f}",
            f"{diff:.2g}", completion_cell(mine) or "-",
            "-" if ratio is None else f"{ratio:.3f}"]


def main(argv: list[str] | None = None) -> int:
    """Print the quantisation table of one network as Markdown."""
    parser = argparse.ArgumentParser(prog="python -m follow_line.bench.deployment")
    parser.add_argument("--network", required=True, help="a shipped network")
    parser.add_argument("--bench", type=Path, required=True,
                        help="a benchmark folder with the network and its ONNX variants")
    parser.add_argument("--perturbed", type=Path,
                        help="a `bench --perturb all` folder of some of the variants")
    parser.add_argument("--perf", type=Path, required=True, help="follow-line perf --json")
    parser.add_argument("--onnx", type=Path, required=True, help="folder of the variants")
    args = parser.parse_args(argv)
    records = json.loads((args.bench / "results.json").read_text())["runs"]
    perturbed = (json.loads((args.perturbed / "results.json").read_text())["runs"]
                 if args.perturbed else [])
    figures = json.loads(args.perf.read_text())
    inference = figures.get("inference", [])
    files = [path for suffix in ("", "_fp16", "_int8")
             if (path := args.onnx / f"{args.network}{suffix}.onnx").is_file()]
    print(f"Measured on: {figures.get('machine', 'an unnamed machine')}.\n")
    print(quantization_grid(args.network, records, inference, files, perturbed).markdown(),
          end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
