"""Stand-in for the rcl_interfaces message package (see ros_standin/__init__.py)."""
