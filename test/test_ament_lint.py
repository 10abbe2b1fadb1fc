"""The ament lint tests of an ament_python package; they need ROS 2's ament linters."""

import importlib.util

import pytest


@pytest.mark.skipif(importlib.util.find_spec("ament_flake8") is None,
                    reason="ament_flake8 comes with ROS 2, which is not installed here "
                           "(`ruff check` covers the same rules in `make test`)")
@pytest.mark.flake8
@pytest.mark.linter
def test_flake8():
    from ament_flake8.main import main_with_errors

    rc, errors = main_with_errors(argv=[])
    assert rc == 0, f"Found {len(errors)} code style errors / warnings:\n" + "\n".join(errors)


@pytest.mark.skipif(importlib.util.find_spec("ament_pep257") is None,
                    reason="ament_pep257 comes with ROS 2, which is not installed here "
                           "(`ruff check` runs the pydocstyle rules in `make test`)")
@pytest.mark.linter
@pytest.mark.pep257
def test_pep257():
    from ament_pep257.main import main

    rc = main(argv=[".", "test"])
    assert rc == 0, "Found code style errors / warnings"
