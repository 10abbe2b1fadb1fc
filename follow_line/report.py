"""Result tables in the seed study's format: a Percentage/Time pair per driver, a row per run."""

from __future__ import annotations

import csv
import io
import math
import statistics

DIRECTION_LABELS = {"clockwise": "clockwise", "anticlockwise": "anti-clockwise"}
DRIVER_LABELS = {"expert": "Manual"}
CSV_FIELDS = ("driver", "circuit", "direction", "perturbation", "repeat", "completion_pct",
              "lap_times_s", "stop_reason",
              "distance_m", "avg_speed_mps", "cte_mean_m", "cte_rms_m", "cte_max_m",
              "smoothness_w", "control_rate_hz", "latency_ms_mean", "real_time_factor",
              "error")


def format_lap_time(seconds: float | None) -> str:
    """'1min 35s' as in the seed's tables ('' when there is no lap time)."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}min {secs:02d}s" if minutes else f"{secs}s"


def driver_label(name: str) -> str:
    """Column heading of a driver: the expert is the seed's 'Manual'."""
    return DRIVER_LABELS.get(name, name)


def _cell(records: list[dict]) -> tuple[str, str]:
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


def driving_table(records: list[dict], title: str = "Driving results") -> str:
    """The Markdown table of the seed: rows circuit (direction), a column pair per driver."""
    drivers = list(dict.fromkeys(r["driver"] for r in records))
    runs = list(dict.fromkeys((r["circuit"], r["direction"]) for r in records))
    head = ["Circuits"]
    for d in drivers:
        head += [f"{driver_label(d)} Percentage", f"{driver_label(d)} Time"]
    lines = [f"**{title}**", "", "| " + " | ".join(head) + " |",
             "|" + "|".join(["---"] + [":---:"] * (2 * len(drivers))) + "|"]
    for circuit, direction in runs:
        row = [f"{circuit.capitalize()} ({DIRECTION_LABELS.get(direction, direction)})"]
        for d in drivers:
            row += _cell([r for r in records if (r["driver"], r["circuit"], r["direction"])
                          == (d, circuit, direction)])
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def perturbation_of(record: dict) -> str:
    """The perturbation a run was driven under ("clean" for records written before them)."""
    return record.get("perturbation", "clean")


def robustness_table(records: list[dict]) -> str:
    """Per driver and perturbation: mean completion over all runs and the runs completed."""
    drivers = list(dict.fromkeys(r["driver"] for r in records))
    names = list(dict.fromkeys(["clean"] + [perturbation_of(r) for r in records]))
    names = [p for p in names if any(perturbation_of(r) == p for r in records)]
    lines = ["**Robustness: mean completion (runs completed / runs)**", "",
             "| Driver | " + " | ".join(names) + " |", "|---|" + ":---:|" * len(names)]
    for d in drivers:
        row = [driver_label(d)]
        for p in names:
            runs = [r for r in records if r["driver"] == d and perturbation_of(r) == p]
            done = [r for r in runs if not r.get("error")]
            if not done:
                row.append("error" if runs else "")
                continue
            mean = statistics.fmean(r["completion_pct"] for r in done)
            laps = sum(r["stop_reason"] == "lap_completed" for r in done)
            row.append(f"{mean:.0f}% ({laps}/{len(runs)})")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def results_markdown(records: list[dict]) -> str:
    """results.md: the seed's driving table of the clean runs, then robustness if perturbed."""
    clean = [r for r in records if perturbation_of(r) == "clean"]
    parts = [driving_table(clean)] if clean else []
    if any(perturbation_of(r) != "clean" for r in records):
        parts.append(robustness_table(records))
    return "\n".join(parts)


def results_csv(records: list[dict]) -> str:
    """One CSV line per run with the main metrics."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for r in records:
        row = {**r, "perturbation": perturbation_of(r)}
        row["lap_times_s"] = " ".join(str(t) for t in r.get("lap_times_s") or [])
        writer.writerow(row)
    return out.getvalue()
