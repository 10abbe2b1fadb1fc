"""rosgraph_msgs/msg: Clock."""

from _standin_msg import define

Clock = define("rosgraph_msgs.msg", "Clock", [("clock", "builtin_interfaces/Time", None)])
