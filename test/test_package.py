from pathlib import Path

from catkin_pkg.package import parse_package

ROOT = Path(__file__).resolve().parents[1]


def test_package_xml_is_format_3_with_ros_dependencies():
    package = parse_package(str(ROOT / "package.xml"))
    assert package.name == "follow_line" and package.package_format == 3
    deps = {d.name for d in package.exec_depends}
    assert {"rclpy", "sensor_msgs", "geometry_msgs", "nav_msgs", "cv_bridge", "gazebo_ros",
            "launch_ros"} <= deps
    assert package.get_build_type() == "ament_python"


def test_ament_resource_marker_and_setup_entry_point():
    assert (ROOT / "resource" / "follow_line").is_file()
    setup = (ROOT / "setup.py").read_text()
    assert "follow-line = follow_line.cli:main" in setup
    for folder in ("launch", "config", "worlds", "models"):
        assert folder in setup


def test_requirements_are_pinned():
    lines = [line for line in (ROOT / "requirements.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    assert lines and all("==" in line for line in lines)


def test_simulator_dependencies_follow_the_distro():
    """Gazebo classic's packages on Humble only, ros_gz's on the later distributions.

    Classic has no release after Humble; Humble's ros_gz is built for Fortress, so Harmonic's
    comes by hand there (ros-humble-ros-gzharmonic).
    """
    package = parse_package(str(ROOT / "package.xml"))
    classic, gz = {"gazebo_ros", "gazebo_plugins"}, {"ros_gz_sim", "ros_gz_bridge", "ros_gz_image"}
    for distro, wanted in (("humble", classic), ("jazzy", gz), ("kilted", gz), ("lyrical", gz)):
        package.evaluate_conditions({"ROS_DISTRO": distro, "ROS_VERSION": "2"})
        active = {d.name for d in package.exec_depends if d.evaluated_condition}
        assert active & (classic | gz) == wanted, distro
        assert {"rclpy", "launch_ros", "cv_bridge", "nav_msgs"} <= active


def test_setup_installs_every_generated_gazebo_file(monkeypatch):
    """Each generated world, model and the bridge config is installed where the launch looks.

    That is share/follow_line/<the same relative path> (setup.py's data_files).
    """
    import runpy

    import setuptools

    from follow_line.gazebo import sdf as gazebo

    captured = {}
    monkeypatch.setattr(setuptools, "setup", lambda **kwargs: captured.update(kwargs))
    monkeypatch.chdir(ROOT)
    runpy.run_path(str(ROOT / "setup.py"), run_name="__main__")
    installed = {f"{destination}/{Path(path).name}"
                 for destination, paths in captured["data_files"] for path in paths}
    for relative in gazebo.assets():
        assert f"share/follow_line/{relative}" in installed, relative
    assert "share/follow_line/launch/drive.launch.py" in installed
    assert "share/follow_line/config/fastdds.xml" in installed  # the launch file sets it


#: Subpackage -> the subpackages it may import (besides the top-level helper modules).
LAYERS = {"world": set(), "driving": {"world"}, "gazebo": {"world"},
          "learning": {"world", "driving"}, "ros": {"world", "driving", "gazebo"},
          "bench": {"world", "driving", "ros"},
          "cli": {"world", "driving", "gazebo", "learning", "ros", "bench"}}


def _imported_subpackages(path: Path) -> set[str]:
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("follow_line."):
            found.add(node.module.split(".")[1])
    return found


def test_layout_top_level_modules_and_one_way_imports():
    package = ROOT / "follow_line"
    modules = sorted(p.name for p in package.glob("*.py"))
    assert len(modules) <= 8, modules
    assert {p.name for p in package.iterdir() if (p / "__init__.py").exists()} == set(LAYERS)
    for layer, allowed in LAYERS.items():
        for path in (package / layer).rglob("*.py"):
            wrong = _imported_subpackages(path) & set(LAYERS) - allowed - {layer}
            assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"
