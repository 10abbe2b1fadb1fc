"""`follow-line frame` and `drive`: one camera image, one run in the built-in simulator."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from follow_line.cli.options import AddCommand, add, check_writable, conditions, finite
from follow_line.errors import FollowLineError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def cmd_frame(args: argparse.Namespace) -> int:
    """Save the camera image seen from a point of the line."""
    import cv2

    from follow_line.files import write_text_atomic
    from follow_line.world.simulator import Simulator, StartOffset
    from follow_line.world.worlds import get_world

    if args.out.suffix.lower() not in IMAGE_SUFFIXES:
        raise FollowLineError(f"--out {args.out}: give an image file name ending in "
                              f"{', '.join(IMAGE_SUFFIXES)}")
    world = get_world(args.world)
    circuit = world.load(args.circuit)
    if abs(args.at) > circuit.length:
        raise FollowLineError(f"--at {args.at:g}: not on the lap (allowed: within "
                              f"+-{circuit.length:.1f} m, the length of {circuit.name})")
    check_writable(args.out)
    appearance, _ = conditions(args)
    sim = Simulator(circuit, args.direction, camera=world.camera, appearance=appearance,
                    start=StartOffset(along=args.at, lateral=args.lateral))
    ok, encoded = cv2.imencode(args.out.suffix.lower(), sim.frame()[..., ::-1])
    if not ok:
        raise FollowLineError(f"cannot encode the image as {args.out.suffix}")
    write_text_atomic(args.out, encoded.tobytes())
    print(f"{args.out}: {sim.circuit.name} {args.direction} at {args.at:.1f} m")
    return 0


def add_frame(command: AddCommand) -> None:
    """Add `frame`."""
    p = command("frame", help="save the camera image at a point of a circuit")
    add(p, "world", "circuit", "direction")
    p.add_argument("--at", type=finite, default=0.0,
                   help="metres along the line from the start (within +- the lap's length)")
    p.add_argument("--lateral", type=finite, default=0.0, help="metres left of the line")
    add(p, "out", required=True, help="image file (.png)")
    add(p, "perturb", "look")
    p.set_defaults(func=cmd_frame)


def cmd_drive(args: argparse.Namespace) -> int:
    """Drive one run in the built-in simulator and print (and optionally save) its record."""
    from tqdm import tqdm

    from follow_line.driving.drivers import make_driver
    from follow_line.driving.latency import parse_latency
    from follow_line.driving.run import RunSpec, run_drive
    from follow_line.files import write_json_atomic
    from follow_line.world.lap import LapRules
    from follow_line.world.worlds import get_world

    world = get_world(args.world)
    circuit = world.load(args.circuit)
    latency = parse_latency(args.latency)
    check_writable(args.json)
    check_writable(args.video)
    driver = make_driver(args.model or args.driver, backend=args.backend, device=args.device,
                         world=world.name)
    rules = LapRules(laps=args.laps, timeout_seconds=args.timeout)
    with tqdm(total=100.0, desc=f"{circuit.name} {args.direction}", unit="%",
              bar_format="{l_bar}{bar}| {n:.1f}/100 % [{elapsed}<{remaining}]{postfix}",
              disable=args.quiet) as bar:
        def on_progress(pct: float, t: float) -> None:
            bar.n = pct
            bar.set_postfix_str(f"sim {t:.1f} s", refresh=False)
            bar.update(0)

        appearance, start = conditions(args)
        record = run_drive(RunSpec(circuit, args.direction, rules, appearance, start, latency,
                                   world), driver, video=args.video, on_progress=on_progress)
    print(json.dumps({k: v for k, v in record.items() if k != "trajectory"}, indent=2))
    if args.json:
        write_json_atomic(args.json, record)
    return 0 if record["stop_reason"] == "lap_completed" else 1


def add_drive(command: AddCommand) -> None:
    """Add `drive`."""
    p = command("drive", help="drive one circuit in the built-in simulator")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--driver", default="expert", help="'expert' (default) or a model name")
    add(who, "model", default=None, help="a shipped network, a registry network (untrained) "
        "or a NAME.keras path; see `follow-line models`")
    add(p, "backend", "device", "world", "circuit", "direction", "laps", "timeout")
    p.add_argument("--latency", default="0",
                   help="0 (lockstep, the default: the simulator waits for the driver), N "
                        "ms (the command from frame t acts at t + N ms; frames that arrive "
                        "meanwhile are skipped), 'measured' (the driver's own time per "
                        "frame) or 'measured:FACTOR' (times FACTOR: slower hardware)")
    add(p, "json", help="write the run record to this file")
    p.add_argument("--video", type=Path, help="record the camera to this .mp4 file")
    add(p, "perturb", "look", "quiet")
    p.set_defaults(func=cmd_drive)


def register(command: AddCommand) -> None:
    """Add `frame` and `drive`."""
    add_frame(command)
    add_drive(command)
