"""Stand-in for the geometry_msgs message package (see ros_standin/__init__.py)."""
