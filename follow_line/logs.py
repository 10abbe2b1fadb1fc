"""Quiet by default: the libraries' start-up chatter stays off the user's terminal.

TensorFlow, absl, oneDNN and LiteRT write from C++ straight to file descriptor 2 ("oneDNN
custom operations are on", "Created TensorFlow Lite XNNPACK delegate"), whatever
TF_CPP_MIN_LOG_LEVEL says, and Keras and absl warn through Python. The `follow-line`
command calls `quiet_libraries()`: descriptor 2 goes to the null device and Python's
`sys.stderr` writes to a duplicate of the real one, so our messages, warnings and progress
bars reach the terminal and native writes do not. A ROS node, whose own logs are native
writes, silences only the loading of a network (`native_stderr_silenced`). Both do nothing
when FOLLOW_LINE_VERBOSE=1 (`--verbose`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import warnings
from collections.abc import Iterator

VERBOSE_ENV = "FOLLOW_LINE_VERBOSE"
#: Python loggers and warning sources of the libraries we silence.
LIBRARY_LOGGERS = ("tensorflow", "absl", "keras", "h5py", "jax", "ai_edge_litert")


def verbose() -> bool:
    """Whether the user asked for the libraries' logs (FOLLOW_LINE_VERBOSE=1)."""
    return os.environ.get(VERBOSE_ENV) == "1"


def set_verbose() -> None:
    """Show the libraries' logs in this process and the ones it starts."""
    os.environ[VERBOSE_ENV] = "1"


def quiet_python_libraries() -> None:
    """The libraries' Python loggers at ERROR and their warnings ignored."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", module=rf"{name}(\.|$)")


def quiet_libraries() -> None:
    """For a command-line process: hide native stderr writes and the libraries' warnings.

    Skipped when verbose, and when `sys.stderr` is not the process's own (a test capturing
    it): then there is no terminal to protect.
    """
    own = sys.__stderr__
    if verbose() or own is None or sys.stderr is not own:
        return
    quiet_python_libraries()
    try:
        sys.stderr.flush()
        terminal = os.dup(2)
    except (OSError, ValueError, AttributeError):
        return  # no descriptor 2 (closed, or an embedded interpreter): nothing to hide
    _to_null(2)
    sys.stderr = io.TextIOWrapper(
        os.fdopen(terminal, "wb", buffering=0), encoding=sys.stderr.encoding or "utf-8",
        errors="backslashreplace", write_through=True)


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Descriptor 2 on the null device for the block (unless verbose), then restored."""
    if verbose():
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        _to_null(2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _to_null(fd: int) -> None:
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, fd)
    os.close(null)
