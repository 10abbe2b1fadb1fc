"""geometry_msgs/msg: the twist and pose messages odometry and cmd_vel use."""

from _standin_msg import define

M = "geometry_msgs.msg"
Vector3 = define(M, "Vector3", [("x", "double", 0.0), ("y", "double", 0.0), ("z", "double", 0.0)])
Point = define(M, "Point", [("x", "double", 0.0), ("y", "double", 0.0), ("z", "double", 0.0)])
Quaternion = define(M, "Quaternion", [("x", "double", 0.0), ("y", "double", 0.0),
                                      ("z", "double", 0.0), ("w", "double", 1.0)])
Pose = define(M, "Pose", [("position", "geometry_msgs/Point", None),
                          ("orientation", "geometry_msgs/Quaternion", None)])
Twist = define(M, "Twist", [("linear", "geometry_msgs/Vector3", None),
                            ("angular", "geometry_msgs/Vector3", None)])
TwistStamped = define(M, "TwistStamped", [("header", "std_msgs/Header", None),
                                          ("twist", "geometry_msgs/Twist", None)])
PoseWithCovariance = define(M, "PoseWithCovariance", [("pose", "geometry_msgs/Pose", None),
                                                      ("covariance", "double[36]", None)])
TwistWithCovariance = define(M, "TwistWithCovariance",
                             [("twist", "geometry_msgs/Twist", None),
                              ("covariance", "double[36]", None)])
