import numpy as np
import pytest

from follow_line.driving.frames import FrameBuffer
from follow_line.errors import FollowLineError


def frame(value, shape=(2, 3, 1)):
    return np.full(shape, value, dtype=np.float32)


def test_stack_serves_now_and_ten_frames_ago():
    buf = FrameBuffer("stack", (0, -10))
    assert buf.capacity == 11
    for i in range(25):
        buf.push(frame(i), i * 0.05)
    x = buf.network_input()
    assert x.shape == (2, 3, 2)
    assert x[0, 0, 0] == 24 and x[0, 0, 1] == 14


def test_warm_up_pads_with_the_first_frame():
    buf = FrameBuffer("stack", (0, -10))
    buf.push(frame(7), 0.0)
    buf.push(frame(8), 0.05)
    assert not buf.warmed_up
    x = buf.network_input()
    assert (x[..., 0] == 8).all() and (x[..., 1] == 7).all()
    for i in range(9):
        buf.push(frame(9 + i), 0.1 + i * 0.05)
    assert buf.warmed_up and buf.network_input()[0, 0, 1] == 7


def test_difference_image():
    buf = FrameBuffer("stack_diff", (0, -10))
    for i in range(11):
        buf.push(frame(2.0 * i), i * 0.05)
    x = buf.network_input()
    assert x[0, 0, 0] == 20.0 and x[0, 0, 1] == 20.0 - 0.0


def test_sequence_is_oldest_first():
    buf = FrameBuffer("sequence", (0, -1, -2, -3))
    for i in range(6):
        buf.push(frame(i), i * 0.05)
    x = buf.network_input()
    assert x.shape == (4, 2, 3, 1)
    assert list(x[:, 0, 0, 0]) == [2, 3, 4, 5]


def test_sequence_with_gaps_between_offsets():
    buf = FrameBuffer("sequence", (0, -5, -10))
    for i in range(3):
        buf.push(frame(i), i * 0.05)
    assert list(buf.network_input()[:, 0, 0, 0]) == [0, 0, 2]  # warm-up padding


@pytest.mark.parametrize("jump", [-0.5, 2.0])
def test_time_jump_resets(jump):
    buf = FrameBuffer("stack", (0, -10), max_gap_s=0.5)
    for i in range(15):
        buf.push(frame(i), 10.0 + i * 0.05)
    buf.push(frame(100), 10.7 + jump)
    assert buf.count == 1
    x = buf.network_input()
    assert (x == 100).all()


def test_reset_and_empty_buffer():
    buf = FrameBuffer("single")
    buf.push(frame(1), 0.0)
    buf.reset()
    with pytest.raises(FollowLineError, match="empty"):
        buf.network_input()


@pytest.mark.parametrize("mode,offsets,message", [
    ("stack", (0,), "exactly two offsets"),
    ("single", (0, -1), "single-frame"),
    ("sequence", (-1, 0), "must start with 0"),
    ("movie", (0,), "not one of single, stack, stack_diff, sequence"),
])
def test_bad_configuration(mode, offsets, message):
    with pytest.raises(FollowLineError, match=message):
        FrameBuffer(mode, offsets)


def test_offset_outside_the_buffer():
    buf = FrameBuffer("stack", (0, -10))
    buf.push(frame(1), 0.0)
    with pytest.raises(FollowLineError, match="outside"):
        buf.frame(-11)
