"""The `follow-line` command."""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import signal
import sys
import tempfile
from pathlib import Path

from follow_line import __version__
from follow_line.errors import FollowLineError, NodeFailedError
from follow_line.logs import quiet_libraries, set_verbose


def _int_at_least(minimum: int, name: str):
    """An argparse type: an integer >= `minimum` (`name` appears in argparse's messages)."""
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    parse.__name__ = name
    return parse


_positive_int = _int_at_least(1, "positive_int")
_non_negative_int = _int_at_least(0, "non_negative_int")


def _finite(text: str) -> float:
    """A finite number (NaN and infinity refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def _positive(text: str) -> float:
    """A finite number > 0."""
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _jobs(text: str) -> int:
    """1 to the machine's core count (each worker holds its own TensorFlow, ~0.8 GB)."""
    value = _positive_int(text)
    cores = os.cpu_count() or 1
    if value > cores:
        raise argparse.ArgumentTypeError(f"at most {cores} (the cores of this machine; each "
                                         f"worker takes about 0.8 GB), got {value}")
    return value


def check_writable(path: Path | None) -> None:
    """Refuse an output file that cannot be written, before the work that fills it."""
    if path is None:
        return
    path = Path(path)
    if path.is_dir():
        raise FollowLineError(f"{path} is a folder; give a file path")
    ancestor = next((p for p in path.parents if p.exists()), None)
    if ancestor is not None and not ancestor.is_dir():
        raise FollowLineError(f"cannot write {path}: {ancestor} is a file, not a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.probe"):
            pass
    except OSError as exc:
        raise FollowLineError(f"cannot write {path}: {exc.strerror or exc}") from None


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def _csv(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _size(text: str) -> tuple[int, int]:
    """HxW, e.g. 66x200."""
    height, sep, width = text.lower().partition("x")
    try:
        size = (int(height), int(width))
    except ValueError:
        size = (0, 0)
    if not sep or min(size) < 1:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH such as 66x200, got {text!r}")
    return size


def _latencies(text: str) -> list[str]:
    """Comma-separated latencies (`driving.latency.parse_latency`), as their labels."""
    from follow_line.driving.latency import parse_latency

    try:
        return [parse_latency(item).label for item in _csv(text)] or ["0"]
    except FollowLineError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _option(text: str) -> tuple[str, object]:
    """KEY=VALUE with the value read as YAML (32 -> int, flatten -> str)."""
    import yaml

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key.strip(), yaml.safe_load(value)
    except yaml.YAMLError:
        return key.strip(), value


def cmd_circuits(args: argparse.Namespace) -> int:
    """List the built-in circuits (training, then held out for testing) with their lengths."""
    from follow_line.world.circuits import builtin_circuits, held_out_circuits, load_circuit

    training = [load_circuit(name) for name in builtin_circuits()]
    held_out = [load_circuit(name) for name in held_out_circuits()]
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


def cmd_frame(args: argparse.Namespace) -> int:
    """Save the camera image seen from a point of the line."""
    import cv2

    from follow_line.files import write_text_atomic
    from follow_line.world.circuits import load_circuit
    from follow_line.world.simulator import Simulator, StartOffset

    if args.out.suffix.lower() not in IMAGE_SUFFIXES:
        raise FollowLineError(f"--out {args.out}: give an image file name ending in "
                              f"{', '.join(IMAGE_SUFFIXES)}")
    check_writable(args.out)
    appearance, _ = _conditions(args)
    sim = Simulator(load_circuit(args.circuit), args.direction, appearance=appearance,
                    start=StartOffset(along=args.at, lateral=args.lateral))
    ok, encoded = cv2.imencode(args.out.suffix.lower(), sim.frame()[..., ::-1])
    if not ok:
        raise FollowLineError(f"cannot encode the image as {args.out.suffix}")
    write_text_atomic(args.out, encoded.tobytes())
    print(f"{args.out}: {sim.circuit.name} {args.direction} at {args.at:.1f} m")
    return 0


def cmd_drive(args: argparse.Namespace) -> int:
    """Drive one run in the built-in simulator and print (and optionally save) its record."""
    from tqdm import tqdm

    from follow_line.driving.drivers import make_driver
    from follow_line.driving.latency import parse_latency
    from follow_line.driving.run import RunSpec, run_drive
    from follow_line.errors import unknown_name
    from follow_line.files import write_json_atomic
    from follow_line.world.circuits import DIRECTIONS, load_circuit
    from follow_line.world.lap import LapRules

    circuit = load_circuit(args.circuit)
    if args.direction not in DIRECTIONS:
        raise unknown_name("direction", args.direction, DIRECTIONS)
    latency = parse_latency(args.latency)
    check_writable(args.json)
    check_writable(args.video)
    driver = make_driver(args.model or args.driver, backend=args.backend, device=args.device)
    rules = LapRules(laps=args.laps, timeout_seconds=args.timeout)
    with tqdm(total=100.0, desc=f"{circuit.name} {args.direction}", unit="%",
              bar_format="{l_bar}{bar}| {n:.1f}/100 % [{elapsed}<{remaining}]{postfix}",
              disable=args.quiet) as bar:
        def on_progress(pct: float, t: float) -> None:
            bar.n = pct
            bar.set_postfix_str(f"sim {t:.1f} s", refresh=False)
            bar.update(0)

        appearance, start = _conditions(args)
        record = run_drive(RunSpec(circuit, args.direction, rules, appearance, start, latency),
                           driver,
                           video=args.video, on_progress=on_progress)
    print(json.dumps({k: v for k, v in record.items() if k != "trajectory"}, indent=2))
    if args.json:
        write_json_atomic(args.json, record)
    return 0 if record["stop_reason"] == "lap_completed" else 1


def _conditions(args: argparse.Namespace):
    """Appearance and start of a named perturbation (--perturb) with --look changes."""
    from follow_line.bench.perturb import run_conditions
    from follow_line.world.appearance import changed

    appearance, start = run_conditions(args.perturb)
    return changed(appearance, args.look), start


def _add_look_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--perturb", default="clean",
                   help="a named perturbation of `bench --perturb` (default: clean)")
    p.add_argument("--look", type=_option, action="append", default=[], metavar="KEY=VALUE",
                   help="change the world's appearance (repeat for more), e.g. "
                        "camera_roll=0.03, jpeg_quality=30, texture=0.2, gamma=0.7, "
                        "palette.grass=[120,110,60]; a wrong key lists the keys")


def cmd_ros(args: argparse.Namespace) -> int:
    """Drive one run through the ROS 2 graph (sim or Gazebo, drive and lap-monitor nodes)."""
    from follow_line.ros.bringup import GraphSpec, run_graph

    spec = GraphSpec(model=args.model, circuit=args.circuit, direction=args.direction,
                     laps=args.laps, lockstep=not args.free_running and args.sim == "builtin",
                     real_time_factor=args.real_time_factor, timeout_seconds=args.timeout or 0.0,
                     device=args.device, backend=args.backend, sim=args.sim)
    check_writable(args.json)
    record = run_graph(spec, record_path=args.json, quiet=args.quiet)
    print(json.dumps({k: v for k, v in record.items() if k != "trajectory"}, indent=2))
    if record["stop_reason"] == "interrupted":
        return 130
    return 0 if record["stop_reason"] == "lap_completed" else 1


def cmd_ros_perf(args: argparse.Namespace) -> int:
    """Lockstep speed, latency and frames lost through the ROS 2 graph."""
    from follow_line.bench.ros_perf import ros_perf, ros_perf_markdown
    from follow_line.files import write_json_atomic
    from follow_line.ros.bringup import GraphSpec, check_spec

    spec = GraphSpec(model=args.model, circuit=args.circuit, backend=args.backend)
    check_spec(spec)
    figures = ros_perf(spec, seconds=args.seconds, repeats=args.repeats,
                       compare_defaults=not args.no_defaults)
    if args.json:
        write_json_atomic(args.json, figures)
    print(ros_perf_markdown(figures))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    """List the registry networks and the shipped (trained) ones."""
    from follow_line.driving.nets import NETWORKS
    from follow_line.driving.zoo import load_model, models_dir, shipped_models

    print("Registry networks (a name without shipped weights drives untrained):")
    print(f"  {'name':<27}{'task':<16}{'frames':<12}{'input':<14}outputs")
    for info in NETWORKS.values():
        shape = "x".join(str(d) for d in info.model_input_shape())
        print(f"  {info.name:<27}{info.task:<16}{info.frames:<12}{shape:<14}"
              f"{', '.join(info.outputs)}")
    folder = models_dir()
    names = shipped_models(folder)
    print(f"\nShipped networks in {folder}:" + ("" if names else " none yet"))
    for name in names:
        _, card = load_model(name, folder)
        mode = card.preprocessing.image_mode
        print(f"  {name:<27}{card.network:<27}{mode:<9}{card.description[:40]}")
    return 0


def cmd_collect(args: argparse.Namespace) -> int:
    """Record a dataset with the explicit driver (rosbag2 episodes + dataset.yaml)."""
    from follow_line.learning.collect import collect
    from follow_line.world.appearance import Randomisation
    from follow_line.world.circuits import DIRECTIONS, builtin_circuits

    metas = collect(args.out, args.circuits or builtin_circuits(),
                    args.directions or list(DIRECTIONS), laps=args.laps,
                    recovery=args.recovery, seed=args.seed, overwrite=args.overwrite,
                    progress=not args.quiet,
                    randomisation=Randomisation() if args.randomise else None,
                    storage=args.storage)
    frames = sum(m["frames"] for m in metas)
    print(f"{len(metas)} episodes, {frames} frames written to {args.out}")
    for m in metas:
        print(f"  {m['name']:<40}{m['frames']:>6} frames  {m['stop_reason']}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Train one network on a dataset and save it with its card."""
    from follow_line.driving.zoo import default_card
    from follow_line.learning.data import load_episodes
    from follow_line.learning.train import TrainConfig, train_network

    config = TrainConfig(network=args.model, name=args.name, image_mode=args.image,
                         constant_v=args.constant_v, balance=args.balance, epochs=args.epochs,
                         batch_size=args.batch_size, seed=args.seed, stride=args.stride,
                         resample=args.resample, patience=args.patience,
                         learning_rate=args.learning_rate,
                         val_circuits=tuple(args.val_circuits or ()), augment=args.augment,
                         options=dict(args.arch))
    card = default_card(config.network, config.name, config.image_mode, config.constant_v)
    episodes = load_episodes(args.data, card.preprocessing, progress=not args.quiet)
    card = train_network(config, episodes, args.out, card=card,
                         verbose=2 if args.quiet else "auto", dataset=str(args.data))
    print(f"saved {args.out / (card.name + '.keras')} and its card "
          f"(best validation loss {card.training['best_val_loss']:.4f})")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Offline metrics of trained networks on train and test data (Markdown + JSON)."""
    from follow_line.learning.evaluate import card_metrics, evaluate_models

    if args.from_cards:
        rows = card_metrics(args.models, args.out, folder=args.models_dir)
    elif args.train_data is None or args.test_data is None:
        raise FollowLineError("evaluate needs --train-data and --test-data, or --from-cards")
    else:
        rows = evaluate_models(args.models, {"train": args.train_data, "test": args.test_data},
                               args.out, folder=args.models_dir,
                               update_cards=args.update_cards, progress=not args.quiet)
    print((args.out / "metrics.md").read_text())
    return 0 if rows else 1


def cmd_zoo(args: argparse.Namespace) -> int:
    """Regenerate the shipped networks (config/zoo.yaml): data, training, metrics."""
    from follow_line.learning.regenerate import record_datasets, regenerate

    if args.datasets:
        folders = record_datasets(args.data, args.datasets, progress=not args.quiet)
        print(f"datasets: {', '.join(str(f) for f in folders.values())}")
        return 0
    names = regenerate(args.data, args.out, args.only, progress=not args.quiet)
    print(f"trained {len(names)} networks into {args.out}: {', '.join(names)}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the benchmark matrix and write results.json/.csv/.md."""
    from follow_line.bench.perturb import expand_perturbations
    from follow_line.bench.ros_runs import VIAS, check_simulator, via_of
    from follow_line.bench.runner import IN_PROCESS, default_jobs, plan, run_bench
    from follow_line.world.circuits import DIRECTIONS, builtin_circuits

    if args.out.exists() and not args.out.is_dir():
        raise FollowLineError(f"--out {args.out} is a file; give a results folder")
    if not args.ros and (args.free_running or args.sim):
        raise FollowLineError(f"{'--free-running' if args.free_running else '--sim'} drives "
                              "through the ROS graph: add --ros")
    if args.ros:
        check_simulator(args.sim or "builtin")
    via = via_of(args.sim or "builtin", args.free_running) if args.ros else IN_PROCESS
    runs = plan(args.models, args.circuits or builtin_circuits(),
                args.directions or list(DIRECTIONS), args.repeat, args.laps,
                expand_perturbations(args.perturb), args.latency or [VIAS.get(via, "0")], via)
    if args.address and args.executor != "ray":
        raise FollowLineError("--address is the Ray cluster of --executor ray")
    records = run_bench(runs, args.out, jobs=args.jobs or default_jobs(),
                        progress=not args.quiet, executor=args.executor, address=args.address)
    print((args.out / "results.md").read_text())
    failed = [r for r in records if "error" in r]
    for r in failed:
        print(f"run failed: {r['driver']} {r['circuit']} {r['direction']} "
              f"{r['perturbation']} latency {r['latency']}: {r['error']}",
              file=sys.stderr)
    return 1 if failed else 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export a trained network as ONNX (optionally quantised), checked on a dataset."""
    import json as json_module

    from follow_line.learning.export import export_network

    path = export_network(args.model, args.out, args.data, args.quantize,
                          progress=not args.quiet)
    card = json_module.loads(path.with_suffix(".json").read_text())
    export = card["training"]["export"]
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) and its card; largest output "
          f"difference from Keras {export['max_abs_diff']:.2g}; offline MAE v/w: Keras "
          f"{export['mae']['keras']['v']:.3f}/{export['mae']['keras']['w']:.3f}, ONNX "
          f"{export['mae']['onnx']['v']:.3f}/{export['mae']['onnx']['w']:.3f}")
    return 0


def cmd_card(args: argparse.Namespace) -> int:
    """Write the card of an ONNX model made elsewhere, beside it."""
    from follow_line.driving.onnx_runtime import foreign_card

    if args.model.suffix != ".onnx" or not args.model.is_file():
        raise FollowLineError(f"--model {args.model}: give an existing .onnx file")
    card = foreign_card(args.model, args.image, args.size, args.layout, args.v_scale,
                        args.w_scale, args.colour, args.normalisation, args.constant_v,
                        dict(args.output))
    path = args.model.with_suffix(".json")
    if path.exists() and not args.overwrite:
        raise FollowLineError(f"{path} exists; pass --overwrite to replace it")
    card.save(path)
    print(f"wrote {path}: {card.name} drives with `follow-line drive --model {args.model}`")
    return 0


def cmd_perf(args: argparse.Namespace) -> int:
    """Measure the figures of docs/architecture.md "Performance budgets" on this machine."""
    from follow_line.bench.perf import perf_markdown, run_perf
    from follow_line.driving.nets import known_networks
    from follow_line.files import write_json_atomic

    if args.networks is None:
        args.networks = known_networks()
    onnx_files = sorted(args.onnx.glob("*.onnx")) if args.onnx else []
    if args.onnx and not onnx_files:
        raise FollowLineError(f"--onnx {args.onnx}: no .onnx model there "
                              "(follow-line export writes them)")
    figures = run_perf(args.circuits, args.networks, onnx_files)
    if args.json:
        write_json_atomic(args.json, figures)
    print(perf_markdown(figures))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    from follow_line.bench.perturb import PERTURBATIONS
    from follow_line.driving.inference import BACKENDS
    from follow_line.ros.simulators import GRAPH_SIMULATORS

    parser = argparse.ArgumentParser(
        prog="follow-line", description="A Formula-1 car follows the red line: drive, "
        "benchmark and measure on the built-in simulator (no ROS needed).")
    parser.add_argument("--version", action="version", version=f"follow_line {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true",
                        help="also show TensorFlow's, LiteRT's and absl's own log lines")
    sub = parser.add_subparsers(dest="command", required=True)
    command = functools.partial(sub.add_parser, parents=[common])

    p = command("circuits", help="list the built-in circuits (training and held out for "
                "testing) and their lengths")
    p.add_argument("--plot", type=Path, help="also draw their maps to this PNG (the held-out "
                   "ones in a tinted bottom row)")
    p.set_defaults(func=cmd_circuits)

    p = command("frame", help="save the camera image at a point of a circuit")
    p.add_argument("--circuit", default="simple", help="built-in name or path to a YAML file")
    p.add_argument("--direction", default="clockwise", help="clockwise or anticlockwise")
    p.add_argument("--at", type=_finite, default=0.0, help="metres along the line from the start")
    p.add_argument("--lateral", type=_finite, default=0.0, help="metres left of the line")
    p.add_argument("--out", type=Path, required=True, help="image file (.png)")
    _add_look_arguments(p)
    p.set_defaults(func=cmd_frame)

    p = command("drive", help="drive one circuit in the built-in simulator")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--driver", default="expert", help="'expert' (default) or a model name")
    who.add_argument("--model", help="a shipped network, a registry network (untrained) or a "
                                     "NAME.keras path; see `follow-line models`")
    p.add_argument("--backend", default="auto", choices=BACKENDS,
                   help="inference backend for networks (default: auto = fastest that works)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "gpu"))
    p.add_argument("--circuit", default="simple", help="built-in name or path to a YAML file")
    p.add_argument("--direction", default="clockwise", help="clockwise or anticlockwise")
    p.add_argument("--laps", type=_positive_int, default=1)
    p.add_argument("--timeout", type=_positive, default=None,
                   help="simulated seconds before giving up (default: 300 per lap)")
    p.add_argument("--latency", default="0",
                   help="0 (lockstep, the default: the simulator waits for the driver), N "
                        "ms (the command from frame t acts at t + N ms; frames that arrive "
                        "meanwhile are skipped), 'measured' (the driver's own time per "
                        "frame) or 'measured:FACTOR' (times FACTOR: slower hardware)")
    p.add_argument("--json", type=Path, help="write the run record to this file")
    p.add_argument("--video", type=Path, help="record the camera to this .mp4 file")
    _add_look_arguments(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_drive)

    p = command("ros", help="drive one circuit through the ROS 2 graph (sim, drive and "
                "lap-monitor nodes as processes; needs rclpy, not launch)")
    p.add_argument("--model", default="pilotnet",
                   help="a shipped network, a registry network, a NAME.keras path or 'expert'")
    p.add_argument("--backend", default="auto", choices=BACKENDS)
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "gpu"))
    p.add_argument("--circuit", default="simple", help="built-in name or path to a YAML file")
    p.add_argument("--direction", default="clockwise", help="clockwise or anticlockwise")
    p.add_argument("--laps", type=_positive_int, default=1)
    p.add_argument("--free-running", action="store_true",
                   help="simulate in real time (x --real-time-factor) instead of in lockstep "
                        "with the driver")
    p.add_argument("--sim", default="builtin", choices=GRAPH_SIMULATORS,
                   help="the package's simulator node (default), or Gazebo Sim through ros_gz "
                        "(a headless server, free-running on its own clock)")
    p.add_argument("--real-time-factor", type=_positive, default=1.0,
                   help="free-running: simulated seconds per wall-clock second")
    p.add_argument("--timeout", type=_positive, default=None,
                   help="simulated seconds before giving up (default: 300 per lap)")
    p.add_argument("--json", type=Path, help="write the run record to this file")
    p.add_argument("--quiet", action="store_true", help="hide the nodes' logs")
    p.set_defaults(func=cmd_ros)

    p = command("ros-perf", help="latency, frames lost and lockstep speed through the "
                "ROS 2 graph (needs rclpy)")
    p.add_argument("--model", default="pilotnet")
    p.add_argument("--backend", default="auto", choices=BACKENDS)
    p.add_argument("--circuit", default="monaco")
    p.add_argument("--seconds", type=_positive, default=30.0, help="free-running window (sim s)")
    p.add_argument("--repeats", type=_positive_int, default=3, help="lockstep runs")
    p.add_argument("--no-defaults", action="store_true",
                   help="skip the comparison run with Fast DDS's default transports")
    p.add_argument("--json", type=Path, help="also write the figures as JSON")
    p.set_defaults(func=cmd_ros_perf)

    p = command("models", help="list the network registry and the shipped networks")
    p.set_defaults(func=cmd_models)

    p = command("collect", help="record a dataset with the explicit driver")
    p.add_argument("--out", type=Path, required=True, help="dataset folder to create")
    p.add_argument("--circuits", type=_csv, help="comma-separated (default: all built-in)")
    p.add_argument("--directions", type=_csv, help="comma-separated (default: both)")
    p.add_argument("--laps", type=_non_negative_int, default=1,
                   help="clean laps per circuit and direction")
    p.add_argument("--recovery", type=_non_negative_int, default=1,
                   help="recovery laps (off-line start, steering disturbances) per circuit "
                        "and direction")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace an existing dataset")
    p.add_argument("--storage", default="mcap", choices=("mcap", "sqlite3"),
                   help="rosbag2 storage of the episodes (default: mcap, ROS 2's default)")
    p.add_argument("--randomise", action="store_true",
                   help="record a random world (colours, light, texture, blur, JPEG, camera "
                        "mounting) that changes every few seconds; the expert still labels "
                        "from the nominal camera")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_collect)

    p = command("train", help="train a registry network on a dataset")
    p.add_argument("--model", required=True, help="registry network (see `follow-line models`)")
    p.add_argument("--data", type=Path, required=True,
                   help="dataset folder, rosbag2 folder(s) or data.csv folder")
    p.add_argument("--name", help="name of the trained network (default: the network's)")
    p.add_argument("--image", default="cropped", choices=("cropped", "whole"))
    p.add_argument("--constant-v", type=_positive, help="drive at this constant speed (m/s)")
    p.add_argument("--balance", default="imbalanced",
                   choices=("imbalanced", "biased", "balanced", "tempered"),
                   help="raw, weighted or resampled by the w class of each frame, so "
                        "sharp turns count as much as straights; tempered: weighted by "
                        "the square root of biased's weights")
    p.add_argument("--epochs", type=_positive_int, default=30)
    p.add_argument("--arch", type=_option, action="append", default=[], metavar="KEY=VALUE",
                   help="a builder option off the default, recorded in the card (repeat for "
                        "more), e.g. pooling=flatten for lrcn, steps=32 for cnn_lstm")
    p.add_argument("--batch-size", type=_positive_int, default=64)
    p.add_argument("--stride", type=_positive_int, default=1,
                   help="train on every N-th frame (validation too); 1 = all")
    p.add_argument("--resample", action="store_true",
                   help="with --stride N: each epoch trains on a fresh random 1/N of all "
                        "frames, so every frame is seen over the epochs")
    p.add_argument("--augment", action="store_true",
                   help="random light, gamma, colour cast, blur and noise per training sample")
    p.add_argument("--patience", type=_positive_int, default=5,
                   help="EarlyStopping: epochs without a better validation loss")
    p.add_argument("--learning-rate", type=_positive, default=1e-3, help="Adam's step size")
    p.add_argument("--val-circuits", type=_csv,
                   help="hold these circuits out for validation (default: 20%% of episodes)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("models"), help="folder for NAME.keras")
    p.add_argument("--quiet", action="store_true", help="one line per epoch")
    p.set_defaults(func=cmd_train)

    p = command("evaluate", help="offline metrics on train and test data")
    p.add_argument("--models", type=_csv, required=True, help="comma-separated trained names")
    p.add_argument("--train-data", type=Path)
    p.add_argument("--test-data", type=Path)
    p.add_argument("--from-cards", action="store_true",
                   help="tables from the metrics stored in the cards (no data needed)")
    p.add_argument("--out", type=Path, required=True, help="folder for metrics.md/.json")
    p.add_argument("--models-dir", type=Path, help="where the networks are (default: models/)")
    p.add_argument("--update-cards", action="store_true",
                   help="also store the metrics in each model's card")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_evaluate)

    p = command("zoo", help="regenerate every shipped network (config/zoo.yaml)")
    p.add_argument("--data", type=Path, default=Path("data"),
                   help="where the train/test datasets are (recorded if missing)")
    p.add_argument("--out", type=Path, default=Path("models"))
    p.add_argument("--only", type=_csv, help="comma-separated subset of the zoo's names")
    p.add_argument("--datasets", type=_csv, metavar="SPLITS",
                   help="only record these datasets if missing (train,test) and train nothing")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_zoo)

    p = command("bench", help="drivers x circuits x directions, tables in --out")
    p.add_argument("--models", type=_csv, default=["pilotnet"],
                   help="comma-separated drivers: expert, shipped networks, model files "
                        "(default: pilotnet)")
    p.add_argument("--circuits", type=_csv, help="comma-separated (default: all built-in)")
    p.add_argument("--directions", type=_csv, help="comma-separated (default: both)")
    p.add_argument("--repeat", type=_positive_int, default=1,
                   help="repetitions per run; repetition k > 0 jitters the start (seed k)")
    p.add_argument("--laps", type=_positive_int, default=1)
    p.add_argument("--perturb", type=_csv, default=["clean"],
                   help="comma-separated perturbations, or 'all': "
                        + ", ".join(f"{p.name} ({p.description})"
                                    for p in PERTURBATIONS.values()).replace("%", "%%"))
    p.add_argument("--latency", type=_latencies,
                   help="comma-separated inference latencies: 0 (lockstep, the default), "
                        "milliseconds, 'measured' or 'measured:FACTOR'; several make a "
                        "latency sweep (latency.md, plots/latency.png)")
    p.add_argument("--ros", action="store_true",
                   help="drive each run through the ROS 2 graph (sim, drive and lap-monitor "
                        "nodes as processes, concurrent runs in different ROS domains; needs "
                        "rclpy), in lockstep: the in-process bench's records; clean runs only")
    p.add_argument("--free-running", action="store_true",
                   help="with --ros: simulate in real time instead of in lockstep, so the "
                        "driver's real latency counts (recorded as latency 'measured')")
    p.add_argument("--sim", choices=GRAPH_SIMULATORS,
                   help="with --ros: the simulator (default builtin); gz: each run in its "
                        "own headless Gazebo Sim server (ros_gz), free-running")
    p.add_argument("--jobs", type=_jobs, help="parallel processes (default and most: cores); "
                   "with --executor ray, the CPUs of the local Ray instance")
    p.add_argument("--executor", default="local", choices=("local", "ray"),
                   help="local worker processes (default), or Ray tasks (requirements-ray.txt)")
    p.add_argument("--address", help="with --executor ray: an existing cluster ('auto', or "
                   "ray://host:port); default: a new local Ray instance")
    p.add_argument("--out", type=Path, required=True, help="results folder (resumable)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_bench)

    p = command("export", help="export a trained network as ONNX (float32, or quantised "
                "fp16/int8), checked against Keras on a dataset's frames")
    p.add_argument("--model", required=True, help="a shipped network or a NAME.keras path")
    p.add_argument("--format", default="onnx", choices=("onnx",))
    p.add_argument("--quantize", choices=("fp16", "int8"),
                   help="quantise: fp16 weights, or int8 calibrated on --data frames")
    p.add_argument("--data", type=Path, default=Path("data/test"),
                   help="dataset whose frames check the export and calibrate int8 "
                        "(default: data/test)")
    p.add_argument("--out", type=Path, default=Path("exports"),
                   help="folder for NAME[_fp16|_int8].onnx and its card (default: exports)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_export)

    p = command("card", help="write the card of a regression ONNX model made elsewhere, so "
                "it drives (drive, bench, the drive node)")
    p.add_argument("--model", type=Path, required=True, help="the .onnx file")
    p.add_argument("--image", default="cropped", choices=("cropped", "whole"),
                   help="what the model sees: the road (camera rows 240-480) or the whole image")
    p.add_argument("--size", type=_size, default=(66, 200), metavar="HxW",
                   help="input height x width (default 66x200)")
    p.add_argument("--layout", default="NHWC", choices=("NHWC", "NCHW"),
                   help="input layout: NHWC (Keras, TensorFlow) or NCHW (PyTorch)")
    p.add_argument("--colour", default="rgb", choices=("rgb", "bgr", "hsv", "gray"))
    p.add_argument("--normalisation", default="unit", choices=("unit", "centred", "none"),
                   help="pixels as x/255 (unit), x/127.5 - 1 (centred) or 0-255 (none)")
    p.add_argument("--v-scale", type=_positive, default=1.0,
                   help="m/s per unit of the v output (default 1)")
    p.add_argument("--w-scale", type=_positive, default=1.0,
                   help="rad/s per unit of the w output (default 1)")
    p.add_argument("--constant-v", type=_positive, help="the model outputs w only: drive at "
                   "this speed (m/s)")
    p.add_argument("--output", type=_option, action="append", default=[], metavar="NAME=OUT",
                   help="which ONNX output is v or w (default: outputs named v and w)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing card")
    p.set_defaults(func=cmd_card)

    p = command("perf", help="render time and closed-loop real-time factor")
    p.add_argument("--circuits", type=_csv, default=["simple", "monaco", "nurburgring"])
    p.add_argument("--networks", type=_csv, default=None,
                   help="networks to time (default: all registry networks, pilotnet first)")
    p.add_argument("--onnx", type=Path, metavar="DIR",
                   help="also time every NAME.onnx model in DIR (exported, quantised) on ONNX "
                        "Runtime")
    p.add_argument("--json", type=Path, help="also write the figures as JSON")
    p.set_defaults(func=cmd_perf)
    return parser


EXIT_DONE, EXIT_NOT_COMPLETED, EXIT_BAD_INPUT, EXIT_IO, EXIT_NODE_FAILED = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130


def main(argv: list[str] | None = None) -> int:
    """Entry point; the exit code: 0 done, 1 lap not completed, 2 bad input, 3 I/O failure.

    4: a node of the ROS graph ended before the run did. A bad input, an I/O failure or a
    failed node prints one line (no traceback); 130 after Ctrl-C.
    """
    args = build_parser().parse_args(argv)
    if args.verbose:
        set_verbose()
    quiet_libraries()
    try:
        return args.func(args)
    except NodeFailedError as exc:
        print(f"follow-line: error: {exc}", file=sys.stderr)
        return EXIT_NODE_FAILED
    except FollowLineError as exc:
        print(f"follow-line: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"follow-line: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_IO
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the exit
        print("follow-line: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
