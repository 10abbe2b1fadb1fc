"""The benchmark matrix as Ray tasks: a local Ray instance or an existing cluster.

Each run is one task. What it needs travels by content, not by path (a cluster does not
share the user's file system): a network's weights file and card, and the circuit's YAML,
are put in Ray's object store once and written to a per-content folder on the worker. The
task returns the record and this process writes it, exactly as the local executor does, so
resuming, run identity and reports are the same. A task that raises or a worker that dies
becomes a failed record (retried on the next invocation); Ctrl-C cancels what is left.
Ray is optional (requirements-ray.txt).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

from follow_line.bench.ray_local import bound_to_this_process
from follow_line.bench.runner import BenchRun, drive_record, failed_record
from follow_line.driving.drivers import DRIVERS
from follow_line.driving.zoo import has_weights, models_dir, network_files
from follow_line.errors import FollowLineError

INSTALL = "pip install -r requirements-ray.txt"
CONNECT_S = 10.0  # how long a cluster address may take to accept a connection


def check_reachable(address: str, timeout: float = CONNECT_S) -> None:
    """Refuse a HOST:PORT (or ray://HOST:PORT) address where nothing accepts a connection.

    `ray.init` waits a long time, and ignores Ctrl-C, for a cluster that is not there.
    "auto" (Ray finds the local cluster itself) is left to Ray.
    """
    import socket

    host_port = address.removeprefix("ray://")
    if address == "auto" or ":" not in host_port:
        return
    host, _, port = host_port.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise FollowLineError(f"--address {address!r}: allowed: HOST:PORT, ray://HOST:PORT "
                              "or auto") from None
    try:
        socket.create_connection((host.strip("[]"), number), timeout=timeout).close()
    except OSError as exc:
        raise FollowLineError(f"cannot reach Ray at {address}: nothing accepted a connection "
                              f"within {timeout:g} s ({exc.strerror or exc}); start the "
                              "cluster (`ray start --head`) or drop --address for a local "
                              "Ray") from None


def payloads(runs: list[BenchRun]) -> tuple[dict, dict]:
    """The files each driver and circuit of `runs` needs: {name: {file name: bytes}}."""
    drivers: dict[str, dict[str, bytes]] = {}
    for name, world in {(r.driver, r.world) for r in runs}:
        if name in DRIVERS or not has_weights(name, models_dir(world)):
            drivers[name] = {}  # the explicit driver, or an untrained registry network
        else:
            weights, card = network_files(name, models_dir(world))
            drivers[name] = {weights.name: weights.read_bytes(), card.name: card.read_bytes()}
    circuits = {}
    for run in runs:
        source = Path(run.load_circuit().source)
        circuits[run.circuit] = {source.name: source.read_bytes()}
    return drivers, circuits


def materialise(files: dict[str, bytes], fallback: str) -> str:
    """Write `files` to a folder named by their content; returns the first one's path.

    The first file is the weights or the circuit; with no files, `fallback` (a name: the
    explicit driver, a registry network, a built-in circuit) is returned.
    """
    if not files:
        return fallback
    digest = hashlib.sha256(b"".join(k.encode() + v for k, v in sorted(files.items())))
    folder = Path(tempfile.gettempdir()) / "follow_line_ray" / digest.hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        path = folder / name
        if not path.exists():
            partial = path.with_suffix(path.suffix + f".{digest.hexdigest()[:6]}.part")
            partial.write_bytes(data)
            partial.replace(path)
    return str(folder / next(iter(files)))


def remote_drive(run: BenchRun, driver_files: dict, circuit_files: dict) -> dict:
    """The task: the run on this worker's copies of its driver and circuit."""
    local = replace(run, driver=materialise(driver_files, run.driver),
                    circuit=materialise(circuit_files, run.circuit))
    return drive_record(local, threads=1)


def run_on_ray(todo: list[BenchRun], write: Callable[[BenchRun, dict], None],
               address: str | None = None, jobs: int | None = None) -> None:
    """Run `todo` as Ray tasks and `write(run, record)` each as it comes back.

    `address` None starts a local Ray instance (`jobs` CPUs), ended with this process
    however it ends (`ray_local`); "auto" or
    "ray://host:port" joins an existing cluster, whose workers get this package's code.
    """
    try:
        import ray
    except ImportError:
        raise FollowLineError(f"--executor ray needs Ray: {INSTALL}") from None
    if not todo:
        return
    with contextlib.ExitStack() as stack:
        if address is None:  # a local instance, ended with this process however it ends
            stack.enter_context(bound_to_this_process(lambda: _connect(ray, None, jobs)))
        else:
            _connect(ray, address, jobs)
        stack.callback(ray.shutdown)
        _run_tasks(ray, todo, write)


def _connect(ray: ModuleType, address: str | None, jobs: int | None) -> None:
    """`ray.init`: a new local instance of `jobs` CPUs (address None) or a cluster's."""
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                               "logging_level": logging.ERROR}
    if address is None:
        options["num_cpus"] = jobs
    else:
        import follow_line

        check_reachable(address)  # before Ray: it would wait long, deaf to Ctrl-C
        options["runtime_env"] = {"py_modules": [str(Path(follow_line.__file__).parent)]}
    try:
        ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise FollowLineError(f"cannot reach Ray at {address or 'a new local instance'}: "
                              f"{exc}") from None


def _run_tasks(ray: ModuleType, todo: list[BenchRun],
               write: Callable[[BenchRun, dict], None]) -> None:
    """One task per run, `write` each record as it comes; Ctrl-C cancels what is left."""
    from ray.exceptions import RayError

    drivers, circuits = payloads(todo)
    driver_refs = {name: ray.put(files) for name, files in drivers.items()}
    circuit_refs = {name: ray.put(files) for name, files in circuits.items()}
    task = ray.remote(num_cpus=1, max_retries=0)(remote_drive)
    pending = {task.remote(run, driver_refs[run.driver], circuit_refs[run.circuit]): run
               for run in todo}
    try:
        while pending:
            [ready], _ = ray.wait(list(pending), num_returns=1)
            run = pending.pop(ready)
            try:
                record = ray.get(ready)
            except RayError as exc:  # the task raised, its worker died, it was lost
                record = failed_record(run, f"ray: {type(exc).__name__}: "
                                            f"{str(exc).strip().splitlines()[-1]}")
            write(run, record)
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
