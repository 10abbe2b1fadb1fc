"""`follow-line export` and `card`: networks out as ONNX, and ONNX models made elsewhere in."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from follow_line.cli.options import AddCommand, add, key_value, positive, size
from follow_line.driving.onnx_runtime import QUANTIZATIONS
from follow_line.errors import FollowLineError


def cmd_export(args: argparse.Namespace) -> int:
    """Export a trained network as ONNX (optionally quantised), checked on camera frames."""
    from follow_line.learning.export import export_network
    from follow_line.world.circuits import builtin_circuits

    if args.data is None:
        calibrate = " and calibrating int8" if args.quantize == "int8" else ""
        print(f"no --data: checking the export{calibrate} on frames the simulator renders as "
              f"the explicit driver drives {', '.join(builtin_circuits())}, both ways")
    path = export_network(args.model, args.out, args.data, args.quantize,
                          progress=not args.quiet)
    card = json.loads(path.with_suffix(".json").read_text())
    export = card["training"]["export"]
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) and its card; largest output "
          f"difference from Keras {export['max_abs_diff']:.2g}; offline MAE v/w: Keras "
          f"{export['mae']['keras']['v']:.3f}/{export['mae']['keras']['w']:.3f}, ONNX "
          f"{export['mae']['onnx']['v']:.3f}/{export['mae']['onnx']['w']:.3f}")
    return 0


def add_export(command: AddCommand) -> None:
    """Add `export`."""
    p = command("export", help="export a trained network as ONNX (float32, or quantised "
                "fp16/int8), checked against Keras on a dataset's or the simulator's frames")
    add(p, "model", default=None, required=True, help="a shipped network or a NAME.keras path")
    p.add_argument("--format", default="onnx", choices=("onnx",))
    p.add_argument("--quantize", choices=QUANTIZATIONS,
                   help="quantise: fp16 weights, or int8 calibrated on --data frames")
    p.add_argument("--data", type=Path,
                   help="dataset whose frames check the export and calibrate int8 (default: "
                        "frames the simulator renders along the training circuits, as the "
                        "explicit driver drives them)")
    add(p, "out", default=Path("exports"),
        help="folder for NAME[_fp16|_int8].onnx and its card (default: exports)")
    add(p, "quiet")
    p.set_defaults(func=cmd_export)


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


def add_card(command: AddCommand) -> None:
    """Add `card`."""
    p = command("card", help="write the card of a regression ONNX model made elsewhere, so "
                "it drives (drive, bench, the drive node)")
    add(p, "model", type=Path, default=None, required=True, help="the .onnx file")
    p.add_argument("--image", default="cropped", choices=("cropped", "whole"),
                   help="what the model sees: the road (camera rows 240-480) or the whole image")
    p.add_argument("--size", type=size, default=(66, 200), metavar="HxW",
                   help="input height x width (default 66x200)")
    p.add_argument("--layout", default="NHWC", choices=("NHWC", "NCHW"),
                   help="input layout: NHWC (Keras, TensorFlow) or NCHW (PyTorch)")
    p.add_argument("--colour", default="rgb", choices=("rgb", "bgr", "hsv", "gray"))
    p.add_argument("--normalisation", default="unit", choices=("unit", "centred", "none"),
                   help="pixels as x/255 (unit), x/127.5 - 1 (centred) or 0-255 (none)")
    p.add_argument("--v-scale", type=positive, default=1.0,
                   help="m/s per unit of the v output (default 1)")
    p.add_argument("--w-scale", type=positive, default=1.0,
                   help="rad/s per unit of the w output (default 1)")
    p.add_argument("--constant-v", type=positive, help="the model outputs w only: drive at "
                   "this speed (m/s)")
    p.add_argument("--output", type=key_value, action="append", default=[], metavar="NAME=OUT",
                   help="which ONNX output is v or w (default: outputs named v and w)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing card")
    p.set_defaults(func=cmd_card)


def register(command: AddCommand) -> None:
    """Add `export` and `card`."""
    add_export(command)
    add_card(command)
