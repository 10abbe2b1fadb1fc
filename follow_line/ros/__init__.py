"""ROS 2 adapters over the pure-Python core: the drive, lap-monitor and built-in-sim nodes.

Importing this package does not import rclpy (the core must work without ROS); the node
modules `drive_node`, `lap_monitor_node` and `sim_node` do. Beside them: `parameters`
(declaring and checking the nodes' parameters), `conversions` (stamps, quaternions),
`runner` (a node's process: console scripts, spin loop, signals), `image_conversion`,
`bringup` (`follow-line ros`), `gz_graph` (Gazebo Sim's processes) and `simulators`.
The topics, frames and message types they use are `follow_line.interface`'s.
"""
