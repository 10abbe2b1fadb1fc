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
