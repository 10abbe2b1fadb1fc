"""`follow-line circuits`: the built-in circuits."""

from __future__ import annotations

import argparse
from pathlib import Path

from follow_line.cli.options import AddCommand, add


def cmd_circuits(args: argparse.Namespace) -> int:
    """List a world's circuits (training, then held out for testing) with their lengths."""
    from follow_line.world.worlds import get_world

    world = get_world(args.world)
    training = [world.load(name) for name in world.circuits()]
    held_out = [world.load(name) for name in world.held_out()]
    print(f"{'circuit':<14}{'length (m)':>11}  {'road (m)':>8}  {'use':<9} description")
    for c in training + held_out:
        use = "held out" if c.held_out else "training"
        print(f"{c.name:<14}{c.length:>11.1f}  {c.road_width:>8.1f}  {use:<9} {c.description}")
    if held_out:
        print("held out: for testing only, never for training or choosing hyper-parameters")
    if args.plot:
        from follow_line.bench.plots import plot_circuits

        plot_circuits(training, held_out, args.plot)
        print(f"map written to {args.plot}")
    return 0


def register(command: AddCommand) -> None:
    """Add `circuits`."""
    p = command("circuits", help="list the built-in circuits (training and held out for "
                "testing) and their lengths")
    p.add_argument("--plot", type=Path, help="also draw their maps to this PNG (the held-out "
                   "ones in a tinted bottom row)")
    add(p, "world")
    p.set_defaults(func=cmd_circuits)
