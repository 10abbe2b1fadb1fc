import math

import cv2
import numpy as np
import pytest

from follow_line.world.appearance import ASPHALT, GRASS, RED_LINE
from follow_line.world.render import Renderer
from follow_line.world.simulator import Appearance, CameraModel, Pose, Simulator

CAM = CameraModel()


def world_to_camera(pose, xy):
    """(forward, left) from the camera of world points."""
    c, s = math.cos(pose.theta), math.sin(pose.theta)
    dx = xy[:, 0] - (pose.x + c * CAM.mount_forward)
    dy = xy[:, 1] - (pose.y + s * CAM.mount_forward)
    return c * dx + s * dy, -s * dx + c * dy


def pixels_of(pose, xy, min_forward=1.0, max_forward=15.0):
    fwd, left = world_to_camera(pose, xy)
    keep = (fwd > min_forward) & (fwd < max_forward)
    col, row = CAM.project(fwd[keep], left[keep])
    inside = (col >= 0) & (col < CAM.width) & (row < CAM.height)
    return np.round(col[inside]).astype(int), np.round(row[inside]).astype(int)


def colour_distance(pixels, colour):
    return np.abs(pixels.astype(int) - np.array(colour)).sum(axis=-1)


@pytest.fixture
def scene(oval):
    line = oval.line("clockwise")
    renderer = Renderer(oval, CAM)
    return oval, line, renderer


@pytest.mark.parametrize("s", [5.0, 70.0, 150.0, 230.0])
@pytest.mark.parametrize("heading_error", [0.0, 0.2])
def test_red_line_is_where_the_geometry_says(scene, s, heading_error):
    circuit, line, renderer = scene
    x, y, th = line.pose_at(s)
    pose = Pose(x, y, th + heading_error)
    image = renderer.render(pose)
    ahead = line.points[np.r_[:len(line.points)]]
    cols, rows = pixels_of(pose, ahead)
    assert len(cols) > 10
    assert np.all(colour_distance(image[rows, cols], RED_LINE) < 40)


def test_road_and_grass_either_side(scene):
    circuit, line, renderer = scene
    x, y, th = line.pose_at(20.0)
    pose = Pose(x, y, th)
    image = renderer.render(pose)
    normals = np.column_stack([-np.sin(line.seg_heading), np.cos(line.seg_heading)])
    for lateral, colour in ((2.0, ASPHALT), (-2.0, ASPHALT), (5.5, GRASS), (-5.5, GRASS)):
        cols, rows = pixels_of(pose, line.points + lateral * normals, 2.0, 20.0)
        assert len(cols) > 3
        # rows far away span metres of ground: allow the odd rounding miss
        assert np.mean(colour_distance(image[rows, cols], colour) < 40) > 0.9, lateral


def test_sky_above_horizon_and_shape(scene):
    _, line, renderer = scene
    image = renderer.render(Pose(*line.pose_at(0.0)))
    assert image.shape == (480, 640, 3) and image.dtype == np.uint8
    sky = image[: CAM.horizon_row]
    assert np.all(sky[..., 2] > sky[..., 0])  # blue-ish everywhere above the horizon
    assert np.all(sky == sky[:, :1])  # no ground above the horizon


def test_deterministic_and_noise_is_seeded(oval):
    pose = Pose(*oval.line("clockwise").pose_at(30.0))
    assert np.array_equal(Renderer(oval).render(pose), Renderer(oval).render(pose))
    noisy = [Renderer(oval, appearance=Appearance(noise_std=8.0, seed=3)).render(pose)
             for _ in range(2)]
    assert np.array_equal(noisy[0], noisy[1])
    assert not np.array_equal(noisy[0], Renderer(oval).render(pose))


def test_brightness_scales_colours(oval):
    pose = Pose(*oval.line("clockwise").pose_at(30.0))
    base = Renderer(oval).render(pose).astype(float)
    dark = Renderer(oval, appearance=Appearance(brightness=0.5)).render(pose).astype(float)
    assert np.abs(dark - 0.5 * base).max() <= 1.0


def test_far_away_is_filtered_not_aliased(scene):
    """Rows far away blend colours (anti-aliasing): intermediate values appear near edges."""
    _, line, renderer = scene
    image = renderer.render(Pose(*line.pose_at(5.0)))
    far = image[CAM.horizon_row + 2: CAM.horizon_row + 12].reshape(-1, 3).astype(int)
    pure = [np.abs(far - np.array(c)).sum(axis=1) < 6 for c in (RED_LINE, ASPHALT, GRASS)]
    assert (~np.any(pure, axis=0)).mean() > 0.05


def test_distance_at_matches_geometry(scene):
    circuit, line, renderer = scene
    for s in (3.0, 100.0, 200.0):
        x, y, th = line.pose_at(s)
        for lateral in (0.0, 1.3, -2.7):
            px, py = x - math.sin(th) * lateral, y + math.cos(th) * lateral
            # the clockwise line's left is the outside; the renderer measures anticlockwise
            assert abs(renderer.distance_at(px, py)) == pytest.approx(abs(lateral), abs=0.02)


def test_simulator_steps_at_camera_rate(oval):
    sim = Simulator(oval, "anticlockwise")
    start = sim.pose
    sim.step(10.0, 0.0)
    assert sim.time == pytest.approx(0.05)
    assert math.hypot(sim.pose.x - start.x, sim.pose.y - start.y) == pytest.approx(0.5)
    sim.step(100.0, 100.0)
    assert sim.command == (24.0, 7.1)
    sim.reset()
    assert sim.pose == start and sim.time == 0.0


def test_ground_homography_maps_pixels_to_their_ground_points():
    ground = CAM.ground_points().astype(np.float64)
    rows, cols = np.mgrid[0:ground.shape[0], 0:CAM.width]
    pixels = np.stack([cols.ravel(), rows.ravel(), np.ones(cols.size)])
    mapped = CAM.ground_homography() @ pixels
    forward_left = (mapped[:2] / mapped[2]).T.reshape(ground.shape)
    np.testing.assert_allclose(forward_left, ground, rtol=1e-5, atol=1e-4)


def test_gamma_colour_cast_and_blur_change_the_image_as_documented():
    from follow_line.world.circuits import load_circuit

    circuit = load_circuit("simple")
    clean = Simulator(circuit, "clockwise").frame().astype(float)
    gamma = Simulator(circuit, "clockwise", appearance=Appearance(gamma=1.8)).frame()
    np.testing.assert_allclose(gamma, np.round(255 * (clean / 255) ** 1.8), atol=1)
    cast = Simulator(circuit, "clockwise",
                     appearance=Appearance(colour_cast=(1.15, 1.0, 0.8))).frame().astype(float)
    np.testing.assert_allclose(cast[..., 1], clean[..., 1])
    np.testing.assert_allclose(cast[..., 2], np.round(clean[..., 2] * 0.8), atol=1)
    assert (cast[..., 0] >= clean[..., 0]).all()
    blur = Simulator(circuit, "clockwise", appearance=Appearance(blur_sigma=2.0)).frame()
    edges = np.abs(np.diff(clean, axis=1)).mean()
    assert np.abs(np.diff(blur.astype(float), axis=1)).mean() < 0.6 * edges
    assert abs(blur.mean() - clean.mean()) < 1.0
    for bad in ({"gamma": 0.0}, {"blur_sigma": float("nan")}, {"colour_cast": (1.0, 1.0)}):
        with pytest.raises(ValueError, match="appearance out of range"):
            Appearance(**bad)


def ground_top_rows(image: np.ndarray) -> np.ndarray:
    """Per column, the first row that is not sky (the sky is bluer than it is red)."""
    ground = image[..., 2].astype(int) <= image[..., 0].astype(int) + 20
    return np.argmax(ground, axis=0)


def straight_pose(oval):
    return Pose(*oval.line("anticlockwise").pose_at(10.0))  # the 60 m straight


def test_a_pitched_camera_raises_the_horizon_by_its_angle(oval):
    pose = straight_pose(oval)
    level = ground_top_rows(Renderer(oval).render(pose))
    pitch = 0.026
    pitched = ground_top_rows(Renderer(oval, appearance=Appearance(camera_pitch=pitch))
                              .render(pose))
    assert np.all(np.abs(level - CAM.horizon_row) <= 1)  # the first rows are haze
    assert np.median(level - pitched) == pytest.approx(CAM.focal * math.tan(pitch), abs=1.0)


def test_a_rolled_camera_tilts_the_horizon(oval):
    pose = straight_pose(oval)
    roll = 0.04  # right side down: the right of the image looks further up the sky
    top = ground_top_rows(Renderer(oval, appearance=Appearance(camera_roll=roll)).render(pose))
    slope = np.polyfit(np.arange(CAM.width), top, 1)[0]
    assert slope == pytest.approx(-math.tan(roll), abs=0.005)


def test_a_higher_camera_sees_a_narrower_line(oval):
    pose = straight_pose(oval)

    def line_pixels(height: float) -> int:
        image = Renderer(oval, appearance=Appearance(camera_height=height)).render(pose)
        bottom = image[-1].astype(int)
        return int((colour_distance(bottom, RED_LINE) < 40).sum())

    nominal, higher = line_pixels(0.0), line_pixels(0.2)
    assert higher / nominal == pytest.approx(CAM.mount_height / (CAM.mount_height + 0.2),
                                             abs=0.05)


def test_palette_texture_and_jpeg(oval):
    from follow_line.world.appearance import Palette

    pose = straight_pose(oval)
    clean = Renderer(oval).render(pose)
    orange = (230, 110, 20)
    painted = Renderer(oval, appearance=Appearance(palette=Palette(red_line=orange)))
    bottom = painted.render(pose)[-1]
    assert (colour_distance(bottom, orange) < 6).sum() == (colour_distance(clean[-1], RED_LINE)
                                                           < 6).sum() > 10
    asphalt = np.s_[400:, 20:120, 0]  # left of the line, near: asphalt only
    textured = [Renderer(oval, appearance=Appearance(texture=0.25, seed=s)) for s in (1, 1, 2)]
    assert np.array_equal(textured[0].render(pose), textured[1].render(pose))
    assert not np.array_equal(textured[0].render(pose), textured[2].render(pose))
    along = [Pose(*oval.line("anticlockwise").pose_at(s)) for s in np.arange(0.0, 300.0, 6.0)]
    patches = np.array([textured[0].render(p)[asphalt] for p in along], float)
    assert clean[asphalt].std() < 1.0 and patches.std() > 8.0
    assert patches.mean() == pytest.approx(clean[asphalt].mean(), rel=0.15)
    assert np.array_equal(textured[0].render(pose)[:CAM.horizon_row], clean[:CAM.horizon_row])
    jpeg = Renderer(oval, appearance=Appearance(jpeg_quality=20)).render(pose)
    difference = np.abs(jpeg.astype(int) - clean.astype(int))
    assert jpeg.shape == clean.shape and 0.3 < difference.mean() < 6.0


def test_random_appearances_are_seeded_valid_and_cover_the_ranges():
    from follow_line.world.appearance import Randomisation

    ranges = Randomisation()
    draws = [ranges.sample(np.random.default_rng(k)) for k in range(200)]
    assert ranges.sample(np.random.default_rng(7)) == draws[7]
    nominal = [d == Appearance() for d in draws]
    assert 0.2 < np.mean(nominal) < 0.4  # the nominal world stays in the mix
    draws = [d for d, plain in zip(draws, nominal, strict=True) if not plain]
    assert len(set(draws)) == len(draws)
    pitch = [d.camera_pitch for d in draws]
    assert max(pitch) > 0.8 * ranges.camera_pitch and min(pitch) < -0.8 * ranges.camera_pitch
    assert 0.25 < np.mean([d.jpeg_quality > 0 for d in draws]) < 0.55
    assert all(ranges.gamma[0] <= d.gamma <= ranges.gamma[1] for d in draws)
    lines = np.array([d.palette.red_line for d in draws])
    assert lines[:, 0].min() < 170 and (lines[:, 0] > lines[:, 1]).mean() > 0.9  # still red
    for bad in ({"camera_pitch": 0.5}, {"texture": -0.1}, {"jpeg_quality": 101}):
        with pytest.raises(ValueError, match="appearance out of range"):
            Appearance(**bad)


def test_tiles_hold_the_whole_box_grid_and_every_pixel_sees_the_same_distance():
    """The tiles near the road hold what a 0.1 m grid of the whole box did (built-in simple)."""
    from follow_line.world.circuits import load_circuit
    from follow_line.world.render import _distance_tiles
    from follow_line.world.tiles import RESOLUTION_M, SLOT_CELLS

    circuit = load_circuit("simple")
    tiles, atlas, max_d = _distance_tiles(circuit)
    line = circuit.line("anticlockwise")
    box = line.points.max(axis=0) + max_d + 1.0 - tiles.origin
    shape = tuple(int(np.ceil(v / RESOLUTION_M)) + 1 for v in box[::-1])
    whole = ((line.distance_field(tuple(tiles.origin), RESOLUTION_M, shape, max_d) + max_d)
             / 0.005).astype(np.float32)
    padded = np.zeros((shape[0] + 2 * SLOT_CELLS, shape[1] + 2 * SLOT_CELLS), np.float32)
    padded[SLOT_CELLS:SLOT_CELLS + shape[0], SLOT_CELLS:SLOT_CELLS + shape[1]] = whole
    for slot, tile in enumerate(tiles.stored):  # cell for cell, past the box too (grass)
        r, c = (v + SLOT_CELLS for v in tiles.first_cell(tile))
        row, col = tiles.corner(slot)
        np.testing.assert_allclose(atlas[row:row + SLOT_CELLS, col:col + SLOT_CELLS],
                                   padded[r:r + SLOT_CELLS, c:c + SLOT_CELLS], atol=1e-3)
    renderer = Renderer(circuit)
    for s in np.linspace(0.0, line.length, 24, endpoint=False):
        pose = Pose(*line.pose_at(s))
        to_grid = np.vstack([renderer._camera_to_grid(pose), [0.0, 0.0, 1.0]])
        expected = cv2.warpPerspective(whole, to_grid @ CAM.ground_homography(), (640, 240),
                                       flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                       borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
        columns = renderer._warp(renderer._window, renderer._pixels_to_grid(pose))
        assert np.abs(columns - expected).max() < 1e-3  # every pixel: the same distance


@pytest.mark.slow
def test_the_window_of_tiles_follows_the_car_and_frames_hardly_depend_on_where_it_was():
    from follow_line.world.circuits import CIRCUIT_DIR, load_circuit

    circuit = load_circuit(CIRCUIT_DIR / "reference" / "montreal.yaml")  # 617 m x 227 m
    line = circuit.line("clockwise")
    driven = Renderer(circuit)
    assert driven._window.size[1] < driven._tiles.slot.shape[1]  # a window, not the box
    for s in np.arange(0.0, line.length, 40.0):
        pose = Pose(*line.pose_at(s))
        differ = np.any(driven.render(pose) != Renderer(circuit).render(pose), axis=-1)
        assert differ.mean() < 1e-4, s  # the odd pixel at a band's edge (rounding ties)


def test_shadow_tiles_hold_the_whole_box_shadows():
    from follow_line.world.circuits import load_circuit
    from follow_line.world.render import _distance_tiles, _shadow_atlas, _shadows
    from follow_line.world.tiles import SLOT_CELLS, TILE_CELLS

    circuit, look = load_circuit("monaco"), Appearance(shadow_darkness=0.5, seed=4)
    tiles = _distance_tiles(circuit)[0]
    rows, cols = np.array(tiles.slot.shape) * TILE_CELLS
    mask = np.zeros((rows + 2 * SLOT_CELLS, cols + 2 * SLOT_CELLS), np.float32)
    cv2.fillPoly(mask, [s + SLOT_CELLS for s in _shadows(circuit, tiles.origin, look.seed)], 1.0)
    whole = 1.0 - 0.5 * cv2.GaussianBlur(mask, (7, 7), 0)
    atlas = _shadow_atlas(circuit, tiles, look)
    assert atlas.min() < 0.6  # there are shadows
    for slot, tile in enumerate(tiles.stored):
        r, c = (v + SLOT_CELLS for v in tiles.first_cell(tile))
        row, col = tiles.corner(slot)
        np.testing.assert_allclose(atlas[row:row + SLOT_CELLS, col:col + SLOT_CELLS],
                                   whole[r:r + SLOT_CELLS, c:c + SLOT_CELLS], atol=1e-6)
