"""sensor_msgs/Image -> RGB conversion, with the real sensor_msgs (the ROS 2 wheels)."""

import array

import numpy as np
import pytest


@pytest.fixture(scope="module")
def ros():
    msgs = pytest.importorskip("sensor_msgs.msg", reason="ROS 2 wheels not installed")

    from follow_line.errors import FollowLineError
    from follow_line.ros.image_conversion import SUPPORTED_ENCODINGS, image_to_rgb

    return type("Ros", (), dict(Image=msgs.Image, FollowLineError=FollowLineError,
                                image_to_rgb=staticmethod(image_to_rgb),
                                SUPPORTED=SUPPORTED_ENCODINGS))


def pixels(height, width, channels, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, channels), np.uint8)


def message(ros, image, encoding, padding=0):
    """An Image message of `image` (H, W, C) with `padding` extra bytes at each row's end."""
    height, width, channels = image.shape
    step = width * channels + padding
    rows = np.zeros((height, step), np.uint8)
    rows[:, :width * channels] = image.reshape(height, -1)
    rows[:, width * channels:] = 77  # garbage in the padding must not leak into the pixels
    return ros.Image(height=height, width=width, encoding=encoding, is_bigendian=0, step=step,
                     data=array.array("B", rows.tobytes()))


@pytest.mark.parametrize("padding", [0, 5])
def test_rgb8_is_returned_as_is(ros, padding):
    rgb = pixels(6, 7, 3)
    out = ros.image_to_rgb(message(ros, rgb, "rgb8", padding))
    assert out.dtype == np.uint8 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, rgb)


@pytest.mark.parametrize("padding", [0, 3])
def test_bgr8_channels_are_swapped(ros, padding):
    rgb = pixels(5, 4, 3, seed=1)
    out = ros.image_to_rgb(message(ros, np.ascontiguousarray(rgb[..., ::-1]), "bgr8", padding))
    np.testing.assert_array_equal(out, rgb)


@pytest.mark.parametrize("padding", [0, 2])
def test_mono8_becomes_three_equal_channels(ros, padding):
    grey = pixels(3, 9, 1, seed=2)
    out = ros.image_to_rgb(message(ros, grey, "mono8", padding))
    assert out.shape == (3, 9, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], grey[..., 0])


def test_result_does_not_alias_the_message_buffer(ros):
    rgb = pixels(2, 3, 3, seed=3)
    msg = message(ros, rgb, "rgb8")
    out = ros.image_to_rgb(msg)
    msg.data[0] = (int(msg.data[0]) + 1) % 256
    np.testing.assert_array_equal(out, rgb)


@pytest.mark.parametrize("encoding", ["rgba8", "16UC1", "bayer_rggb8", ""])
def test_unsupported_encoding_names_it_and_the_supported_ones(ros, encoding):
    msg = ros.Image(height=2, width=2, encoding=encoding, step=8,
                    data=array.array("B", bytes(16)))
    with pytest.raises(ros.FollowLineError) as err:
        ros.image_to_rgb(msg)
    text = str(err.value)
    assert repr(encoding) in text
    assert all(name in text for name in ("rgb8", "bgr8", "mono8"))
    assert ros.SUPPORTED == ("rgb8", "bgr8", "mono8")


def test_truncated_data_and_short_step_are_refused(ros):
    rgb = pixels(4, 4, 3)
    msg = message(ros, rgb, "rgb8")
    msg.data = array.array("B", bytes(msg.data)[:-1])
    with pytest.raises(ros.FollowLineError, match="step x height"):
        ros.image_to_rgb(msg)
    msg = message(ros, rgb, "rgb8")
    msg.step = 11
    with pytest.raises(ros.FollowLineError, match="less than width x channels"):
        ros.image_to_rgb(msg)
