"""Row labels of the reports: two different drivers or circuits never share a name.

Records name their driver and circuit as users see them (`tinypilotnet.keras`, `simple`),
and the tables, plots and report.html group runs by those names. Two different drivers
(model files in two folders) or circuits (the built-in `simple` and a user's file whose
`name:` says simple) with the same name are told apart here, before any report is made:
each gets its name and the shortest distinguishing part of its path
(`tinypilotnet.keras (a/)`, `simple (built-in)`, `simple (mine/)`). Names that are not
shared are left as they are.
"""

from __future__ import annotations

from pathlib import Path, PurePath

BUILTIN = "built-in"
_BUILTIN_FOLDER = ("follow_line", "world", "circuits")  # wherever the package is installed


def distinct_labels(records: list[dict]) -> list[dict]:
    """Copies of `records` whose `driver` and `circuit` name one driver or circuit each.

    A record whose name changed keeps the name it had in `driver_name` or `circuit_name`.
    """
    out = [dict(r) for r in records]
    for field, identity in (("driver", _driver_identity), ("circuit", _circuit_identity)):
        known: set[tuple[str, str]] = set()
        for r in out:
            if field in r and (found := identity(r)):
                known.add((r[field], found))
        labels = _labels(known)
        # a record that does not say which (a failed run's): the name's only identity, if one
        alone: dict[str, str | None] = {}
        for name, found in known:
            alone[name] = None if name in alone else found
        for r in out:
            if field not in r:
                continue
            key = identity(r) or alone.get(r[field])
            label = labels.get((r[field], key)) if key else None
            if label and label != r[field]:
                r[f"{field}_name"], r[field] = r[field], label
    return out


def _driver_identity(record: dict) -> str:
    """A model file's absolute path; else (older records) the name and the weights digest."""
    return record.get("driver_file") or f"{record.get('driver')}|{record.get('weights')}"


def _circuit_identity(record: dict) -> str | None:
    """The circuit file's path (the built-in circuits' are one, wherever installed).

    None for a record that names none (a failed run's).
    """
    path = record.get("circuit_file")
    if not path:
        return None
    return BUILTIN if PurePath(path).parts[-4:-1] == _BUILTIN_FOLDER else path


def _labels(pairs: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """For each (name, identity): the name, and a suffix where identities share it."""
    by_name: dict[str, list[str]] = {}
    for name, identity in pairs:
        by_name.setdefault(name, []).append(identity)
    labels = {}
    for name, identities in by_name.items():
        suffixes = _suffixes(sorted(identities)) if len(identities) > 1 else {}
        for identity in identities:
            labels[(name, identity)] = (f"{name} ({suffixes[identity]})" if suffixes
                                        else name)
    return labels


def _suffixes(identities: list[str]) -> dict[str, str]:
    """The shortest tail of each path that no other has (`a/`), `built-in` for the built-in.

    Folders only when every file has the same name; identities that are not paths (older
    records: name|weights digest) are told apart by their weights digest.
    """
    paths = [i for i in identities if i != BUILTIN and "|" not in i]
    out = {i: BUILTIN for i in identities if i == BUILTIN}
    out |= {i: f"weights {i.rpartition('|')[2][:8]}" for i in identities if "|" in i}
    same_file = len({Path(p).name for p in paths}) == 1
    parts = {p: Path(p).parent.parts if same_file else Path(p).parts for p in paths}
    for p in paths:
        for k in range(1, len(parts[p]) + 1):
            tail = parts[p][-k:]
            if all(parts[q][-k:] != tail for q in paths if q != p):
                break
        out[p] = "/".join(tail).lstrip("/") + ("/" if same_file else "")
    return out
