"""The `follow-line` command: a module per command group, each command's parser by its handler.

`options` holds what the commands share (argument types, the common options, the check of
an output file); `main` maps the errors to the exit codes of docs/reliability.md.
"""

from __future__ import annotations

import argparse
import functools
import re
import signal
import sys
from typing import Any

from follow_line import __version__
from follow_line.cli import bench, circuits, data, deploy, drive, options, ros
from follow_line.errors import FollowLineError, NodeFailedError
from follow_line.logs import quiet_libraries, set_verbose

GROUPS = (circuits, drive, ros, data, bench, deploy)  # in the order `--help` lists them
EXIT_DONE, EXIT_NOT_COMPLETED, EXIT_BAD_INPUT, EXIT_IO, EXIT_NODE_FAILED = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130
#: What the parser reads as a negative number, not an option: -5, -.5, -1e300, -inf, -nan.
NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$|^-(inf|infinity|nan)$",
                             re.IGNORECASE)


class Parser(argparse.ArgumentParser):
    """argparse's parser, reading any number (-1e300, -inf) after an option as its value.

    argparse takes only -5 and -.5 for negative numbers; anything else starting with '-' is
    an option to it ("--at: expected one argument"). Sub-parsers are of this class too.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_NUMBER


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = Parser(
        prog="follow-line", description="A Formula-1 car follows the red line: drive, "
        "benchmark and measure on the built-in simulator (no ROS needed).")
    parser.add_argument("--version", action="version", version=f"follow_line {__version__}")
    common = Parser(add_help=False)
    options.add(common, "verbose")
    sub = parser.add_subparsers(dest="command", required=True)
    command = functools.partial(sub.add_parser, parents=[common])
    for group in GROUPS:
        group.register(command)
    return parser


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
