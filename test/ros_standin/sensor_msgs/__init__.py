"""Stand-in for the sensor_msgs message package (see ros_standin/__init__.py)."""
