"""Stand-in for the builtin_interfaces message package (see ros_standin/__init__.py)."""
