import numpy as np
import pytest

from follow_line.bench.perturb import PERTURBATIONS, perturbation, run_conditions
from follow_line.errors import FollowLineError
from follow_line.world.render import Renderer
from follow_line.world.simulator import Appearance, Pose, StartOffset


def test_the_named_perturbations_and_a_clear_error():
    assert list(PERTURBATIONS)[0] == "clean"
    assert {"dark", "bright", "noise", "shadow", "offset"} <= set(PERTURBATIONS)
    with pytest.raises(FollowLineError, match="unknown perturbation 'fog'; known: .*shadow"):
        perturbation("fog")


def test_repetition_zero_is_nominal_and_later_ones_jitter_reproducibly():
    assert run_conditions("clean", 0) == (Appearance(), StartOffset())
    assert run_conditions("offset", 0)[1] == StartOffset(lateral=1.0, heading=0.2)
    first, again, other = (run_conditions("noise", k) for k in (1, 1, 2))
    assert first == again and first != other
    appearance, start = first
    assert appearance.noise_std == 12.0 and appearance.seed == 1
    assert 0.0 <= start.along <= 3.0 and abs(start.lateral) < 1.0 and start.heading != 0.0


def test_shadows_darken_the_ground_only_where_they_fall(oval):
    line = oval.line("clockwise")
    clean = Renderer(oval)
    shaded = Renderer(oval, appearance=Appearance(shadow_darkness=0.5, seed=4))
    darker = []
    for s in np.arange(0.0, line.length, 5.0):
        pose = Pose(*line.pose_at(s))
        a, b = clean.render(pose).astype(int), shaded.render(pose).astype(int)
        assert np.array_equal(a[:240], b[:240])  # the sky casts no shadow
        assert np.all(b <= a)
        darker.append((b < a - 2).any(axis=2).mean())
    assert max(darker) > 0.1  # some views cross a shadow
    assert min(darker) < 0.01  # and some are in the sun
    again = Renderer(oval, appearance=Appearance(shadow_darkness=0.5, seed=4))
    pose = Pose(*line.pose_at(20.0))
    assert np.array_equal(again.render(pose), shaded.render(pose))


def test_all_expands_anywhere_in_the_list_and_names_are_checked():
    import pytest

    from follow_line.bench.perturb import PERTURBATIONS, expand_perturbations
    from follow_line.errors import FollowLineError

    assert expand_perturbations(["all", "dark"]) == list(PERTURBATIONS)
    assert expand_perturbations(["dark", "all"])[0] == "dark"
    assert expand_perturbations(["dark", "dark"]) == ["dark"]
    with pytest.raises(FollowLineError, match="unknown perturbation 'fog'"):
        expand_perturbations(["all", "fog"])


def test_every_world_perturbation_changes_what_the_camera_sees_and_is_documented(oval):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "docs" / "guide.md").read_text()
    pose = Pose(*oval.line("clockwise").pose_at(25.0))
    clean = Renderer(oval).render(pose).astype(int)
    for name, p in PERTURBATIONS.items():
        assert f"| `{name}` |" in readme, f"perturbation {name} is not in the guide's table"
        if name in ("clean", "offset"):
            assert p.appearance == Appearance()
            continue
        changed = Renderer(oval, appearance=p.appearance).render(pose).astype(int)
        assert np.abs(changed - clean).mean() > 1.0, name
