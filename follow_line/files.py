"""Atomic file writes, and the package's own folders (models, config).

A reader never sees half a file; an interruption loses nothing written. The folders are found
in a source checkout or a ROS install.
"""

from __future__ import annotations

import errno
import json
import os
import re
import tempfile
from pathlib import Path


def write_text_atomic(path: Path, text: str | bytes) -> None:
    """Write `text` (or bytes) to `path` through a temporary file and a rename.

    An error names `path`, never the temporary file (e.g. `path` is a folder).
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file: move it away or "
                                "write elsewhere", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if isinstance(text, bytes) else "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files: give the usual mode
        try:
            os.replace(tmp, path)
        except OSError as exc:  # it names the temporary file first: name the user's
            raise OSError(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_NUMBER_LIST = re.compile(r"\[\s*(-?[\d.eE+-]+(?:,\s*-?[\d.eE+-]+)*)\s*\]")


def json_text(data: object) -> str:
    """Indented JSON with lists of numbers kept on one line (trajectories stay compact)."""
    text = json.dumps(data, indent=2, sort_keys=False)
    return _NUMBER_LIST.sub(
        lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text) + "\n"


def write_json_atomic(path: Path, data: object) -> None:
    """Write `data` as JSON (see `json_text`), atomically."""
    write_text_atomic(path, json_text(data))


def write_json_new(path: Path, data: object) -> Path:
    """Write `data` as JSON to `path`, or `STEM_2.json`, `STEM_3.json`... if taken; the path.

    Never replaces a file, even one created meanwhile by another process: the complete file
    is hard-linked into place, which fails when the name exists (an exclusive create where
    the file system has no hard links).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json_text(data)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    try:
        for k in range(1, 10_000):
            candidate = path if k == 1 else path.with_name(f"{path.stem}_{k}{path.suffix}")
            try:
                os.link(tmp, candidate)
            except FileExistsError:
                continue
            except OSError:  # no hard links here: an exclusive create
                try:
                    with open(candidate, "x") as f:
                        f.write(text)
                except FileExistsError:
                    continue
            return candidate
        raise FileExistsError(f"no free name for {path}")
    finally:
        Path(tmp).unlink(missing_ok=True)


def shown_path(path: str | Path) -> str:
    """`path` relative to the working folder when inside it (no machine's layout in cards)."""
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(resolved)


def package_folder(name: str) -> Path:
    """The package's `name` folder (models, config): the source tree, else the ROS share."""
    source = Path(__file__).resolve().parents[1] / name
    if source.is_dir():
        return source
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory("follow_line")) / name
    except Exception:  # noqa: BLE001 (no ROS, or the package is not installed there)
        return source
