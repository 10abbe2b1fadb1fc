"""Stand-in for the nav_msgs message package (see ros_standin/__init__.py)."""
