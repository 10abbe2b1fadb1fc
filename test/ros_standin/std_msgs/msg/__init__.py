"""std_msgs/msg: Header and Float32."""

from _standin_msg import define

Header = define("std_msgs.msg", "Header",
                [("stamp", "builtin_interfaces/Time", None), ("frame_id", "string", "")])
Float32 = define("std_msgs.msg", "Float32", [("data", "float", 0.0)])
