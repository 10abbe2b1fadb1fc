"""The processes a bench's local Ray started end with the bench, however it ends."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from follow_line.bench.ray_local import GRACE_S, MARK, marked

# A stand-in for a bench: its `start` launches a child and an orphan in a new session (what
# Ray's agents become when the raylet dies), then it waits or raises, as told.
# SIGINT is set to Python's handler: a parent that ignores it (a shell's background job, as
# CI may run us) would pass SIG_IGN on, and Ctrl-C in a terminal is what is meant.
BENCH = textwrap.dedent("""
    import signal, subprocess, sys, time
    from follow_line.bench.ray_local import bound_to_this_process

    signal.signal(signal.SIGINT, signal.default_int_handler)

    def start():
        subprocess.Popen(["sleep", "300"])
        subprocess.Popen(["sh", "-c", "setsid sleep 301 & exit 0"]).wait()

    with bound_to_this_process(start):
        print("started", flush=True)
        if sys.argv[1] == "raise":
            raise RuntimeError("the bench failed")
        time.sleep(300)
""")


def started(how: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-c", BENCH, how], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout.readline() == "started\n"
    return proc, str(proc.pid)


def marked_by(pid: str) -> list[int]:
    """Processes marked by the bench `pid` (its tag starts with its pid)."""
    found = []
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            environ = open(f"/proc/{name}/environ", "rb").read().split(b"\0")
        except OSError:
            continue
        if any(e.startswith(f"{MARK}={pid}-".encode()) for e in environ):
            found.append(int(name))
    return found


def gone_within(pid: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while marked_by(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_what_start_launched_ends_when_the_bench_is_killed(sig):
    proc, pid = started("wait")
    assert len(marked_by(pid)) == 2  # the child and the orphan, not the bench or watchdog
    os.kill(proc.pid, sig)
    proc.wait(timeout=10)
    assert gone_within(pid, GRACE_S + 3)


def test_what_start_launched_ends_when_the_bench_raises():
    proc, pid = started("raise")
    assert proc.wait(timeout=GRACE_S + 15) == 1
    assert marked_by(pid) == []  # already gone when the bench has returned


def test_only_the_tagged_processes_are_found(tmp_path):
    sleeper = subprocess.Popen(["sleep", "30"], env={**os.environ, MARK: "someone-else"})
    try:
        assert marked("mine", spare=set()) == []
        assert marked("someone-else", spare=set()) == [sleeper.pid]
        assert marked("someone-else", spare={sleeper.pid}) == []
    finally:
        sleeper.kill()
        sleeper.wait()
