"""sensor_msgs/msg: Image."""

from _standin_msg import define

Image = define("sensor_msgs.msg", "Image", [
    ("header", "std_msgs/Header", None),
    ("height", "uint32", 0),
    ("width", "uint32", 0),
    ("encoding", "string", ""),
    ("is_bigendian", "uint8", 0),
    ("step", "uint32", 0),
    ("data", "sequence<uint8>", None),
])
