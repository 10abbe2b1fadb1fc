"""Errors that name the problem and the allowed values; the CLI prints them without a trace."""


class FollowLineError(ValueError):
    """A user-facing error: bad input, unknown name, malformed file."""


def unknown_name(kind: str, name: str, known: list[str] | tuple[str, ...]) -> FollowLineError:
    """The error for a name that is not one of `known`."""
    return FollowLineError(f"unknown {kind} {name!r}; known: {', '.join(sorted(known))}")


class NodeFailedError(FollowLineError):
    """A node of the ROS graph ended before the run did (it crashed, was killed, refused)."""
