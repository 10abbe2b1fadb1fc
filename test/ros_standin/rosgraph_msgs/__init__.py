"""Stand-in for the rosgraph_msgs message package (see ros_standin/__init__.py)."""
