"""Result tables: a row per driver (the default), and the seed study's own layout.

The default driving table has a column per circuit and direction, each cell the
completion and lap time (`100 % 0:43`), and the driver's mean lap time over the explicit
driver's. The seed's layout (a row per circuit and direction, a Percentage/Time pair per
driver, `1min 35s`) suits two or three drivers; it is written as results_seed.md, a
table per task (regression, classification) with the explicit driver first.
"""

from __future__ import annotations

import csv
import html
import io
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass

DIRECTION_LABELS = {"clockwise": "clockwise", "anticlockwise": "anti-clockwise"}
DIRECTION_SHORT = {"clockwise": "cw", "anticlockwise": "acw"}
LEGEND = "cw clockwise, acw anticlockwise"
DRIVER_LABELS = {"expert": "Manual"}
CSV_FIELDS = ("driver", "circuit", "direction", "perturbation", "latency", "repeat",
              "completion_pct", "lap_times_s", "stop_reason",
              "distance_m", "avg_speed_mps", "cte_mean_m", "cte_rms_m", "cte_max_m",
              "smoothness_w", "control_rate_hz", "frames_driven", "frames_skipped",
              "latency_ms_mean", "real_time_factor", "error")


@dataclass(frozen=True)
class Table:
    """A titled table: a header row, rows of cell texts, the first column a label."""

    title: str
    head: list[str]
    rows: list[list[str]]
    note: str = ""

    def markdown(self) -> str:
        """The table as Markdown: a bold title (and its note), then the pipe table."""
        title = f"**{self.title}**" + (f" ({self.note})" if self.note else "")
        lines = [title, "", "| " + " | ".join(self.head) + " |",
                 "|---|" + ":---:|" * (len(self.head) - 1)]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        """The table as an HTML <table> with its title as caption."""
        def cells(tag: str, row: list[str]) -> str:
            return "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in row)

        caption = html.escape(self.title) + (f" <small>({html.escape(self.note)})</small>"
                                             if self.note else "")
        body = "".join(f"<tr>{cells('td', row)}</tr>" for row in self.rows)
        return (f"<table><caption>{caption}</caption><thead><tr>{cells('th', self.head)}"
                f"</tr></thead><tbody>{body}</tbody></table>")


def format_lap_time(seconds: float | None) -> str:
    """'1min 35s' as in the seed's tables ('' when there is no lap time)."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}min {secs:02d}s" if minutes else f"{secs}s"


def driver_label(name: str) -> str:
    """Column heading of a driver: the expert is the seed's 'Manual'."""
    return DRIVER_LABELS.get(name, name)


def _seed_cell(records: list[dict]) -> tuple[str, str]:
    """Percentage and time cells for one driver on one circuit/direction (mean +- sd)."""
    done = [r for r in records if not r.get("error")]
    if not done:
        return "error", ""
    pct = [r["completion_pct"] for r in done]
    laps = [r["lap_times_s"][0] for r in done if r.get("lap_times_s")]
    pct_text = f"{statistics.fmean(pct):.0f}%"
    if len(pct) > 1:
        pct_text += f" ± {statistics.stdev(pct):.0f}"
    time_text = format_lap_time(statistics.fmean(laps)) if len(laps) == len(done) else ""
    if time_text and len(laps) > 1:
        time_text += f" ± {statistics.stdev(laps):.1f}s"
    return pct_text, time_text


def _runs(records: list[dict]) -> list[tuple[str, str]]:
    return list(dict.fromkeys((r["circuit"], r["direction"]) for r in records))


def _drivers(records: list[dict]) -> list[str]:
    """Drivers in order of appearance, the explicit driver first."""
    names = list(dict.fromkeys(r["driver"] for r in records))
    return sorted(names, key=lambda d: d != "expert")


def seed_grid(records: list[dict], title: str = "Driving results") -> Table:
    """The seed's table: rows circuit (direction), a Percentage/Time column pair per driver."""
    drivers = _drivers(records)
    head = ["Circuits"]
    for d in drivers:
        head += [f"{driver_label(d)} Percentage", f"{driver_label(d)} Time"]
    rows = []
    for circuit, direction in _runs(records):
        row = [f"{circuit.capitalize()} ({DIRECTION_LABELS.get(direction, direction)})"]
        for d in drivers:
            row += _seed_cell([r for r in records if (r["driver"], r["circuit"], r["direction"])
                               == (d, circuit, direction)])
        rows.append(row)
    return Table(title, head, rows)


def seed_table(records: list[dict], title: str = "Driving results") -> str:
    """`seed_grid` as Markdown."""
    return seed_grid(records, title).markdown()


def seed_grids(records: list[dict]) -> list[Table]:
    """The clean runs in the seed's layout, a table per task, the explicit driver in each."""
    clean = [r for r in lockstep(records) if perturbation_of(r) == "clean"]
    tasks = sorted({r.get("task", "regression") for r in clean if r.get("task") != "explicit"},
                   key=lambda task: (task != "regression", task))  # the seed's order
    explicit = [r for r in clean if r.get("task") == "explicit"]
    if not tasks:
        return [seed_grid(explicit)] if explicit else []
    return [seed_grid(explicit + [r for r in clean if r.get("task", "regression") == task],
                      f"Driving results ({task} networks)") for task in tasks]


def results_seed_markdown(records: list[dict]) -> str:
    """results_seed.md: `seed_grids` as Markdown."""
    return "\n".join(table.markdown() for table in seed_grids(records))


def format_clock(seconds: float) -> str:
    """'1:35' (minutes:seconds), the short lap time of the default tables."""
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"


def _cell(records: list[dict]) -> str:
    """'100 % 0:43' for one driver on one circuit/direction (means over repetitions)."""
    done = [r for r in records if not r.get("error")]
    if not done:
        return "error" if records else ""
    pct = [r["completion_pct"] for r in done]
    text = f"{statistics.fmean(pct):.0f} %"
    if len(pct) > 1 and statistics.stdev(pct) >= 0.5:
        text += f" ±{statistics.stdev(pct):.0f}"
    laps = [r["lap_times_s"][0] for r in done if r.get("lap_times_s")]
    if laps and len(laps) == len(done):
        text += " " + format_clock(statistics.fmean(laps))
    return text


def mean_laps(records: list[dict],
              keep: Callable[[dict], bool]) -> dict[tuple[str, str], float]:
    """Mean first-lap time per (circuit, direction) of the completed runs `keep` accepts."""
    found: dict[tuple[str, str], list[float]] = {}
    for r in records:
        if keep(r) and not r.get("error") and r.get("lap_times_s"):
            found.setdefault((r["circuit"], r["direction"]), []).append(r["lap_times_s"][0])
    return {k: statistics.fmean(v) for k, v in found.items()}


def lap_time_ratio(mine: dict, reference: dict) -> float | None:
    """Mean of the lap-time ratios where both `mean_laps` have the circuit and direction."""
    ratios = [mine[k] / reference[k] for k in mine.keys() & reference.keys()]
    return statistics.fmean(ratios) if ratios else None


def lap_ratio(records: list[dict], driver: str) -> float | None:
    """`driver`'s mean lap time over the explicit driver's, on the runs both completed."""
    return lap_time_ratio(mean_laps(records, lambda r: r["driver"] == driver),
                          mean_laps(records, lambda r: r["driver"] == "expert"))


def driving_grid(records: list[dict], title: str = "Driving results") -> Table:
    """A row per driver, a column per circuit and direction, and the lap-time ratio."""
    runs = _runs(records)
    head = ["Driver"] + [f"{c.capitalize()} {DIRECTION_SHORT.get(d, d)}" for c, d in runs]
    with_ratio = any(r["driver"] == "expert" for r in records)
    if with_ratio:
        head.append("lap / explicit")
    rows = []
    for d in _drivers(records):
        row = [driver_label(d)]
        row += [_cell([r for r in records if (r["driver"], r["circuit"], r["direction"])
                       == (d, c, direction)]) for c, direction in runs]
        if with_ratio:
            ratio = lap_ratio(records, d)
            row.append("" if ratio is None else f"{ratio:.2f}")
        rows.append(row)
    return Table(title, head, rows, f"completion, lap time m:ss; {LEGEND}")


def driving_table(records: list[dict], title: str = "Driving results") -> str:
    """`driving_grid` as Markdown."""
    return driving_grid(records, title).markdown()


def perturbation_of(record: dict) -> str:
    """The perturbation a run was driven under ("clean" for records written before them)."""
    return record.get("perturbation", "clean")


def completion_cell(runs: list[dict]) -> str:
    """'96 % (5/6)': mean completion of the runs that ran, and laps completed / runs."""
    done = [r for r in runs if not r.get("error")]
    if not done:
        return "error" if runs else ""
    mean = statistics.fmean(r["completion_pct"] for r in done)
    laps = sum(r["stop_reason"] == "lap_completed" for r in done)
    return f"{mean:.0f} % ({laps}/{len(runs)})"


def robustness_grid(records: list[dict]) -> Table:
    """Per driver and perturbation: mean completion over all runs and the runs completed."""
    names = list(dict.fromkeys(["clean"] + [perturbation_of(r) for r in records]))
    names = [p for p in names if any(perturbation_of(r) == p for r in records)]
    rows = []
    for d in _drivers(records):
        row = [driver_label(d)]
        row += [completion_cell([r for r in records
                                 if r["driver"] == d and perturbation_of(r) == p])
                for p in names]
        rows.append(row)
    return Table("Robustness", ["Driver"] + names, rows,
                 "mean completion, runs completed / runs")


def robustness_table(records: list[dict]) -> str:
    """`robustness_grid` as Markdown."""
    return robustness_grid(records).markdown()


def latency_of(record: dict) -> str:
    """The latency label a run was driven with ("0", lockstep, for records before them)."""
    return record.get("latency", "0")


def lockstep(records: list[dict]) -> list[dict]:
    """Only the runs with latency 0, in lockstep: the ones the driving tables show."""
    return [r for r in records if latency_of(r) == "0"]


def latency_grid(records: list[dict]) -> Table:
    """Per driver and latency, over the clean runs: completion and slow-down.

    Each cell: mean completion, runs completed / runs, and the mean lap time over the same
    driver's lockstep lap on the same circuit and direction (x1.00 = no slower).
    """
    clean = [r for r in records if perturbation_of(r) == "clean"]
    latencies = list(dict.fromkeys(latency_of(r) for r in clean))
    rows = []
    for d in _drivers(clean):
        row = [driver_label(d)]
        for latency in latencies:
            cell = completion_cell([r for r in clean
                                    if r["driver"] == d and latency_of(r) == latency])
            ratio = slowdown(clean, d, latency)
            row.append(cell + ("" if ratio is None else f" ×{ratio:.2f}"))
        rows.append(row)
    head = ["Driver"] + [f"{x} ms" if x.replace(".", "").isdigit() else x for x in latencies]
    return Table("Latency", head, rows, "mean completion, runs completed / runs, lap time "
                 "over the lockstep lap")


def slowdown(records: list[dict], driver: str, latency: str) -> float | None:
    """`driver`'s mean lap time at `latency` over its lockstep one (None if no pair).

    Averaged over the circuits and directions where both completed a lap.
    """
    def at(label: str) -> dict:
        return mean_laps(records, lambda r: r["driver"] == driver and latency_of(r) == label)

    return lap_time_ratio(at(latency), at("0"))


def results_markdown(records: list[dict]) -> str:
    """results.md: the driving table of the clean lockstep runs, and more if driven.

    The robustness table if perturbed, the latency table if several latencies were driven.
    Runs all at one other latency (a free-running bench, none in lockstep) get the driving
    table of their own.
    """
    steady = lockstep(records) or ([] if swept(records) else records)
    clean = [r for r in steady if perturbation_of(r) == "clean"]
    parts = [driving_table(clean)] if clean else []
    if any(perturbation_of(r) != "clean" for r in steady):
        parts.append(robustness_table(steady))
    if swept(records):
        parts.append(latency_grid(records).markdown())
    return "\n".join(parts)


def swept(records: list[dict]) -> bool:
    """Whether the runs hold more than one latency."""
    return len({latency_of(r) for r in records}) > 1


def results_csv(records: list[dict]) -> str:
    """One CSV line per run with the main metrics."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for r in records:
        row = {**r, "perturbation": perturbation_of(r), "latency": latency_of(r)}
        row["lap_times_s"] = " ".join(str(t) for t in r.get("lap_times_s") or [])
        writer.writerow(row)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    """`python -m follow_line.bench.report RESULTS_JSON [--drivers ..] [--circuits ..]`.

    Prints the seed's layout (results_seed.md) of a benchmark's clean runs, restricted to
    the given drivers and circuits: README.md's table of the seed's own networks.
    """
    import argparse
    import json
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m follow_line.bench.report")
    parser.add_argument("results", type=Path, help="a benchmark's results.json")
    parser.add_argument("--drivers", help="comma-separated (default: all)")
    parser.add_argument("--circuits", help="comma-separated (default: all)")
    args = parser.parse_args(argv)
    from follow_line.bench.labels import distinct_labels

    records = distinct_labels(json.loads(args.results.read_text())["runs"])
    for field, chosen in (("driver", args.drivers), ("circuit", args.circuits)):
        if chosen:
            names = chosen.split(",")
            missing = sorted(set(names) - {r[field] for r in records})
            if missing:
                parser.error(f"no runs of {field} {', '.join(missing)} in {args.results}")
            order = {name: i for i, name in enumerate(names)}
            records = sorted((r for r in records if r[field] in names),
                             key=lambda r: order[r[field]])
    print(results_seed_markdown(records), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
