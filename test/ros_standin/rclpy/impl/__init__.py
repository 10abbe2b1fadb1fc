"""Stand-in for rclpy.impl."""
