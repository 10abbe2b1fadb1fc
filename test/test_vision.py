import numpy as np
import pytest

from follow_line.driving.vision import Preprocessing
from follow_line.errors import FollowLineError


def camera_image():
    img = np.zeros((480, 640, 3), np.uint8)
    img[:240] = (0, 0, 255)  # sky blue
    img[240:] = (255, 0, 0)  # road red
    return img


def test_cropped_keeps_only_the_road_rows():
    out = Preprocessing(image_mode="cropped", input_size=(66, 200)).apply(camera_image())
    assert out.shape == (66, 200, 3) and out.dtype == np.float32
    assert np.allclose(out[..., 0], 1.0) and np.allclose(out[..., 2], 0.0)


def test_whole_image_has_both_halves():
    out = Preprocessing(image_mode="whole", input_size=(60, 80)).apply(camera_image())
    assert np.allclose(out[:29, :, 2], 1.0) and np.allclose(out[31:, :, 0], 1.0)


def test_colour_orders_and_normalisation():
    img = camera_image()
    bgr = Preprocessing(colour="bgr", normalisation="none").apply(img)
    assert np.allclose(bgr[..., 2], 255.0) and np.allclose(bgr[..., 0], 0.0)
    centred = Preprocessing(normalisation="centred").apply(img)
    assert centred.min() == pytest.approx(-1.0) and centred.max() == pytest.approx(1.0)
    gray = Preprocessing(colour="gray").apply(img)
    assert gray.shape == (66, 200, 1)
    hsv = Preprocessing(colour="hsv", normalisation="none").apply(img)
    assert np.allclose(hsv[..., 1], 255.0)  # saturated red


@pytest.mark.parametrize("image,needle", [
    (np.zeros((240, 320, 3), np.uint8), "shape (240, 320, 3)"),
    (np.zeros((480, 640), np.uint8), "shape (480, 640)"),
    (np.zeros((480, 640, 3), np.float32), "float32"),
    ([[0]], "list"),
])
def test_wrong_images_are_refused_with_the_expected_format(image, needle):
    with pytest.raises(FollowLineError, match="640x480 rgb8") as info:
        Preprocessing().apply(image)
    assert needle in str(info.value)


def test_bad_settings():
    with pytest.raises(FollowLineError, match="image_mode 'half'.*whole, cropped"):
        Preprocessing(image_mode="half")
    with pytest.raises(FollowLineError, match="crop_rows"):
        Preprocessing(crop_rows=(300, 600))
    with pytest.raises(FollowLineError, match="unknown preprocessing field"):
        Preprocessing.from_dict({"zoom": 2})


def test_round_trip_through_a_dict():
    p = Preprocessing(image_mode="whole", input_size=(33, 100), colour="bgr")
    assert Preprocessing.from_dict(p.to_dict()) == p
