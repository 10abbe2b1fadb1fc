"""sensor_msgs/Image -> RGB numpy array: cv_bridge where installed, else plain numpy.

Only the 8-bit colour and grey encodings a camera driver sends the car are accepted; any other
encoding is refused with an error naming it, whichever path converts the image.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from follow_line.errors import FollowLineError

try:  # part of a ROS 2 installation (vision_opencv), not of the pip requirements
    from cv_bridge import CvBridge, CvBridgeError
except ImportError:
    CvBridge = None
    CvBridgeError = Exception

CHANNELS = {"rgb8": 3, "bgr8": 3, "mono8": 1}
SUPPORTED_ENCODINGS = tuple(CHANNELS)

_bridge = None


def image_to_rgb(msg: Any) -> np.ndarray:
    """(height, width, 3) uint8 RGB array of an rgb8, bgr8 or mono8 image message.

    Rows may be padded (`step` larger than width x channels). Padded images always go through
    numpy: cv_bridge releases that ignore `step` exist (vision_opencv's older core.py builds
    the array from width alone).
    """
    channels = CHANNELS.get(msg.encoding)
    if channels is None:
        raise FollowLineError(f"unsupported image encoding {msg.encoding!r}; supported: "
                              f"{', '.join(SUPPORTED_ENCODINGS)}")
    height, width, step = msg.height, msg.width, msg.step
    row_bytes = width * channels
    if step < row_bytes:
        raise FollowLineError(f"image step {step} is less than width x channels "
                              f"({width} x {channels} = {row_bytes})")
    if len(msg.data) < step * height:
        raise FollowLineError(f"image data holds {len(msg.data)} bytes; step x height is "
                              f"{step} x {height} = {step * height}")
    if CvBridge is not None and step == row_bytes:
        return _convert_with_cv_bridge(msg)
    return _convert_with_numpy(msg, channels)


def _convert_with_cv_bridge(msg: Any) -> np.ndarray:
    global _bridge
    if _bridge is None:
        _bridge = CvBridge()
    try:
        image = _bridge.imgmsg_to_cv2(msg, desired_encoding="rgb8")
    except CvBridgeError as exc:
        raise FollowLineError(f"cv_bridge cannot convert the {msg.encoding} image to rgb8: "
                              f"{exc}") from None
    return np.ascontiguousarray(image)


def _convert_with_numpy(msg: Any, channels: int) -> np.ndarray:
    height, width, step = msg.height, msg.width, msg.step
    data = msg.data
    buffer = (np.asarray(data, dtype=np.uint8) if isinstance(data, list)
              else np.frombuffer(data, dtype=np.uint8))
    rows = buffer[:step * height].reshape(height, step)[:, :width * channels]
    pixels = rows.reshape(height, width, channels)
    if msg.encoding == "bgr8":
        pixels = pixels[..., ::-1]
    elif msg.encoding == "mono8":
        return np.repeat(pixels, 3, axis=2)
    return pixels.copy()  # C-contiguous, and not a view on the message's buffer
