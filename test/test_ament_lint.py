"""The ament lint tests of an ament_python package (ament_flake8, ament_pep257 from PyPI)."""

import importlib.util

import pytest

# Ignored on top of ament's pep257 convention, as the project's docstrings are written
# (docs/architecture.md "Conventions"): the summary starts on the first line (D212, which
# ament ignores, instead of D213) and may name what a function returns rather than command
# (D401).
PEP257_ADD_IGNORE = ["D213", "D401"]


@pytest.mark.skipif(importlib.util.find_spec("ament_flake8") is None,
                    reason="ament_flake8 not installed (make test installs it from "
                           "requirements-ros.txt)")
@pytest.mark.flake8
@pytest.mark.linter
def test_flake8():
    from ament_flake8.main import main_with_errors

    rc, errors = main_with_errors(argv=[])
    assert rc == 0, f"Found {len(errors)} code style errors / warnings:\n" + "\n".join(errors)


@pytest.mark.skipif(importlib.util.find_spec("ament_pep257") is None,
                    reason="ament_pep257 not installed (make test installs it from "
                           "requirements-ros.txt)")
@pytest.mark.linter
@pytest.mark.pep257
def test_pep257():
    from ament_pep257.main import main

    rc = main(argv=["--add-ignore", *PEP257_ADD_IGNORE, "--", ".", "test"])
    assert rc == 0, "Found code style errors / warnings"
