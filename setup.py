"""ament_python set-up for follow_line (also a plain pip-installable package)."""

import os
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "follow_line"


def share_tree(folder: str) -> list[tuple[str, list[str]]]:
    """data_files entries installing every file under `folder` into share/follow_line."""
    entries = []
    for root, _dirs, files in os.walk(folder):
        paths = [os.path.join(root, name) for name in sorted(files)]
        if paths:
            entries.append((os.path.join("share", PACKAGE, root), paths))
    return entries


setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*"]),
    package_data={PACKAGE: ["world/circuits/*.yaml", "world/circuits/reference/*.yaml"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.py")),
        *share_tree("config"),  # node parameters, gz_bridge.yaml, fastdds.xml
        *share_tree("worlds"),
        *share_tree("models"),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="follow_line developers",
    maintainer_email="follow-line@example.org",
    description="A Formula-1 car follows the red line, driven end-to-end by neural networks.",
    license="Apache-2.0",
    tests_require=["pytest"],
    entry_points={
        "console_scripts": [
            "follow-line = follow_line.cli:main",
            "drive_node = follow_line.ros.runner:drive_main",
            "lap_monitor_node = follow_line.ros.runner:lap_monitor_main",
            "sim_node = follow_line.ros.runner:sim_main",
        ],
    },
)
