"""The registry as a Markdown table: docs/networks.md's generated `registry` section.

`python -m follow_line.driving.nets.table` prints it (`make docs-networks` writes it into
the page); a test checks the page's table is the registry's, so a new network needs no
hand-written row.
"""

from __future__ import annotations

from follow_line.driving.nets.registry import NETWORKS, NetworkInfo


def _frames(info: NetworkInfo) -> str:
    """Frame mode and the frames it reads, e.g. ``stack (t, t-10)``."""
    if info.frames == "single":
        return "single"
    return f"{info.frames} ({', '.join(f't{o}' if o else 't' for o in info.offsets)})"


def registry_table() -> str:
    """One row per registered network, in registry order."""
    rows = ["| name | task | frames | input | outputs | what |", "|---|---|---|---|---|---|"]
    for info in NETWORKS.values():
        shape = "x".join(str(d) for d in info.model_input_shape())
        rows.append(f"| `{info.name}` | {info.task} | {_frames(info)} | {shape} | "
                    f"{', '.join(info.outputs)} | {info.description} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(registry_table(), end="")
