"""nav_msgs/msg: Odometry."""

from _standin_msg import define

Odometry = define("nav_msgs.msg", "Odometry", [
    ("header", "std_msgs/Header", None),
    ("child_frame_id", "string", ""),
    ("pose", "geometry_msgs/PoseWithCovariance", None),
    ("twist", "geometry_msgs/TwistWithCovariance", None),
])
