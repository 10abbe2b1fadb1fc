"""Stand-in for the std_msgs message package (see ros_standin/__init__.py)."""
