"""report.html: one self-contained page per benchmark.

The driving and robustness tables, the seed's layout, every plot embedded as a PNG data
URI, and a row per run linked to its record (runs/KEY.json, relative to the page). Opens
from the folder with no network and no other file but the linked records.
"""

from __future__ import annotations

import base64
import html
import time
from pathlib import Path

from follow_line import __version__
from follow_line.bench.report import (
    driver_label,
    driving_grid,
    format_clock,
    latency_grid,
    latency_of,
    lockstep,
    perturbation_of,
    robustness_grid,
    seed_grids,
    swept,
)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 80em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
caption { text-align: left; font-weight: bold; padding: 0.3em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: center; }
td:first-child, th:first-child { text-align: left; }
tr:nth-child(even) { background: #f6f6f6; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
figure img { max-width: 38em; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; color: #555; }
.failed { color: #a00; }
"""


def report_html(records: list[dict], keys: list[str], plots: list[Path],
                title: str = "follow_line benchmark") -> str:
    """The page for `records` (in the order of their run `keys`) and the PNG `plots`."""
    steady = lockstep(records)
    clean = [r for r in steady if perturbation_of(r) == "clean"]
    perturbed = any(perturbation_of(r) != "clean" for r in steady)
    sections = [f"<h1>{html.escape(title)}</h1>",
                f"<p>{len(records)} runs; written {time.strftime('%Y-%m-%d %H:%M %Z')} by "
                f"follow_line {__version__}.</p>"]
    if clean:
        sections += ["<h2>Driving</h2>", driving_grid(clean).html()]
    if perturbed:
        sections += ["<h2>Robustness</h2>", robustness_grid(steady).html()]
    if swept(records):
        sections += ["<h2>Latency</h2>", latency_grid(records).html()]
    if clean:
        sections += ["<details><summary>The seed study's layout</summary>",
                     *(table.html() for table in seed_grids(records)), "</details>"]
    if plots:
        sections += ["<h2>Plots</h2>", *(_figure(path) for path in plots)]
    sections += ["<h2>Runs</h2>", _runs_table(records, keys)]
    body = "\n".join(sections)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n"
            f"<body>\n{body}\n</body></html>\n")


def _figure(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    name = html.escape(Path(path).stem.replace("_", " "))
    return (f'<figure><img alt="{name}" src="data:image/png;base64,{data}">'
            f"<figcaption>{name}</figcaption></figure>")


def _runs_table(records: list[dict], keys: list[str]) -> str:
    head = ("driver", "circuit", "direction", "perturbation", "latency", "repeat", "completion",
            "lap time", "stop reason", "record")
    rows = []
    for record, key in zip(records, keys, strict=True):
        failed = record.get("error")
        laps = record.get("lap_times_s") or []
        cells = [driver_label(record["driver"]), record["circuit"], record["direction"],
                 perturbation_of(record), latency_of(record), str(record.get("repeat", 0)),
                 "error" if failed else f"{record['completion_pct']:.0f} %",
                 format_clock(laps[0]) if laps else "",
                 failed[:80] if failed else record.get("stop_reason", "")]
        row = "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
        link = f'<td><a href="runs/{html.escape(key)}.json">{html.escape(key)}</a></td>'
        css = ' class="failed"' if failed else ""
        rows.append(f"<tr{css}>{row}{link}</tr>")
    header = "".join(f"<th>{h}</th>" for h in head)
    return (f"<table><caption>Every run, linked to its record</caption><thead><tr>{header}"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")
