"""A local Ray instance that ends with the bench, however the bench ends.

`ray.init` binds the raylet and GCS to the driver's life (PR_SET_PDEATHSIG), but after a
`kill -9` of the driver the raylet's agents (ray::DashboardAgent, ray::RuntimeEnvAgent)
live on, re-parented to init (measured with Ray 2.60: still there a minute later;
ray-project/ray#39092 is the same class). So every process the bench's `ray.init` starts
carries a mark in its environment (MARK=a tag unique to this bench; a process's children
inherit it, the agents and workers too), and a watchdog, a small child process in its own
session, waits for the bench: the read end of a pipe whose write end only the bench holds,
and PR_SET_PDEATHSIG (SIGTERM when the bench dies). When the pipe closes (the bench
returned, raised, was interrupted or killed, even with `kill -9`) or a signal comes, it
sends SIGTERM to every process with the mark (found in /proc/PID/environ), SIGKILL after
GRACE_S. Linux only, like the rest of the bench's process handling.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

MARK = "FOLLOW_LINE_RAY_OWNER"  # environment variable of the processes the bench started
GRACE_S = 2.0  # SIGTERM to SIGKILL, for Ray's processes
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@contextlib.contextmanager
def bound_to_this_process(start: Callable[[], None]) -> Iterator[None]:
    """Call `start` (a `ray.init` that starts a local instance); its processes end with us.

    They are ended when the block ends (after the caller's `ray.shutdown`, whatever it
    left), and within about GRACE_S + 1 s of this process's death if the block never ends.
    """
    tag = f"{os.getpid()}-{secrets.token_hex(8)}"
    read_end, write_end = os.pipe()
    watchdog = subprocess.Popen(
        [sys.executable, "-m", "follow_line.bench.ray_local", str(read_end), tag,
         str(os.getpid())],
        pass_fds=(read_end,), stdin=subprocess.DEVNULL,
        start_new_session=True)  # Ctrl-C at the terminal is the bench's to handle
    os.close(read_end)
    try:
        os.environ[MARK] = tag  # inherited by the processes `start` starts, and only them
        try:
            start()
        finally:
            del os.environ[MARK]
        yield
    finally:
        os.close(write_end)  # the watchdog ends what is left of Ray, then itself
        try:
            watchdog.wait(timeout=GRACE_S + 10)
        except subprocess.TimeoutExpired:
            watchdog.kill()


class _StopSignal(Exception):  # noqa: N818 (a signal, not an error)
    """A signal asked the watchdog to end the marked processes now."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _StopSignal


def watch(fd: int, tag: str, parent: int) -> int:
    """The watchdog: when `fd` reads end-of-file or a signal comes, end what carries `tag`."""
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGHUP, _raise_stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    try:
        if os.getppid() == parent:  # else the bench died before PR_SET_PDEATHSIG was set
            while os.read(fd, 1):  # nothing is ever written: b"" once the bench's end closes
                pass
    except _StopSignal:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        end_marked(tag, spare={os.getpid(), parent})
    return 0


def marked(tag: str, spare: set[int]) -> list[int]:
    """The processes (not in `spare`) whose environment says MARK=`tag`."""
    entry = f"{MARK}={tag}".encode()
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) not in spare:
            try:
                environ = Path(f"/proc/{name}/environ").read_bytes()
            except OSError:  # ended meanwhile, or another user's
                continue
            if entry in environ.split(b"\0"):
                found.append(int(name))
    return found


def end_marked(tag: str, spare: set[int], grace: float = GRACE_S) -> None:
    """SIGTERM to every process marked with `tag`, SIGKILL to those left after `grace`."""
    deadline = time.monotonic() + grace
    signalled: set[int] = set()
    while (pids := marked(tag, spare)) and time.monotonic() < deadline + 5.0:
        late = time.monotonic() > deadline
        for pid in pids if late else set(pids) - signalled:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL if late else signal.SIGTERM)
        signalled.update(pids)
        time.sleep(0.05)


if __name__ == "__main__":
    sys.exit(watch(int(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
