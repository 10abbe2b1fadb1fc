"""builtin_interfaces/msg: Time and Duration (int32 sec, uint32 nanosec)."""

from _standin_msg import define

Time = define("builtin_interfaces.msg", "Time", [("sec", "int32", 0), ("nanosec", "uint32", 0)])
Duration = define("builtin_interfaces.msg", "Duration",
                  [("sec", "int32", 0), ("nanosec", "uint32", 0)])
