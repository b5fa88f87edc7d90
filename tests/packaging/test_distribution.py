"""What pip builds from this tree: the wheel carries the MIT licence text, its classifiers and
project links, the sdist carries the whole tracked tree (tests, packaging, docs) so that a
distribution can run the suite from it, and the build backend named in pyproject.toml is one
that can read the project table."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
# Build output and local state: not part of what a clone holds.
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)


def test_license_is_mit_with_the_contributors_copyright():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 Filter Playground contributors" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text


def test_build_requires_the_first_setuptools_that_reads_the_spdx_license():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    requires = re.search(r"^requires = \[(.*)\]$", pyproject, re.MULTILINE)
    assert requires is not None
    assert '"setuptools>=77"' in requires[1].split(", ")
    assert 'license = "MIT"' in pyproject


def test_the_wheel_carries_the_license(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("filter_playground-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (license_name,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert archive.read(license_name) == (ROOT / "LICENSE").read_bytes()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        headers = archive.read(metadata).decode("utf-8").split("\n\n", 1)[0].splitlines()
    assert "License-Expression: MIT" in headers
    assert "License-File: LICENSE" in headers
    # What PyPI and pip show: where the project lives, and what it is for and runs on.
    home = "https://github.com/filter-playground/filter-playground"
    assert f"Project-URL: Homepage, {home}" in headers
    assert f"Project-URL: Issues, {home}/issues" in headers
    assert f"Project-URL: Changelog, {home}/blob/main/CHANGELOG.md" in headers
    classifiers = {h.removeprefix("Classifier: ") for h in headers if h.startswith("Classifier:")}
    assert "Environment :: X11 Applications :: Qt" in classifiers
    assert "Topic :: Scientific/Engineering :: Image Processing" in classifiers
    # Every Python the project promises (requires-python and the CI matrix) is named.
    assert {f"Programming Language :: Python :: 3.{minor}" for minor in (10, 11, 12, 13)} <= (
        classifiers
    )
    # PEP 639: a licence classifier beside License-Expression is an error for PyPI.
    assert not [c for c in classifiers if c.startswith("License ::")]


def test_the_sdist_carries_every_tracked_file(tmp_path):
    # A distribution builds from the sdist and runs the suite there: it needs the tests (and
    # their fixtures), packaging/ (the installer tests read it) and docs/ (the README's images).
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: there is no list of tracked files to compare with")
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)
    result = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--outdir", str(tmp_path), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (sdist,) = tmp_path.glob("filter_playground-*.tar.gz")
    with tarfile.open(sdist) as archive:
        members = {m.name.split("/", 1)[1] for m in archive.getmembers() if m.isfile()}
    missing = sorted(set(tracked) - members)
    assert not missing, f"{len(missing)} tracked files not in the sdist: {missing[:20]}"
    assert "tests/packaging/test_distribution.py" in members
    assert "PKG-INFO" in members
    # Nothing of a local build or a test run is shipped.
    assert not [m for m in members if "__pycache__" in m or m.endswith(".pyc")]


@pytest.mark.parametrize(
    ("python", "pyside", "allowed"),
    [
        # 6.12.0 drops a reference to None per void call, fatal where None is mortal.
        ("3.10", "6.12.0", False),
        ("3.11", "6.12.0", False),
        ("3.11", "6.11.3", True),
        # From 3.12 None is immortal: current PySide6 is allowed.
        ("3.12", "6.12.0", True),
        ("3.13", "6.12.1", True),
    ],
)
def test_the_pyside6_cap_holds_only_where_none_is_mortal(python, pyside, allowed):
    import tomllib

    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "dependencies"
    ]
    environment = {"python_version": python, "python_full_version": f"{python}.0"}
    applying = [
        req
        for req in map(Requirement, dependencies)
        if req.name == "PySide6-Essentials"
        and (req.marker is None or req.marker.evaluate(environment))
    ]
    # Exactly one requirement on the binding applies on every Python, never none or two.
    assert len(applying) == 1, applying
    assert applying[0].specifier.contains(pyside) is allowed


def test_every_package_of_the_source_tree_is_in_the_wheels_package_list():
    # pyproject lists packages by hand (resources/ maps into the wheel); a subpackage left out
    # of that list installs as nothing, and the installed app fails to import it.
    import tomllib

    root = Path(__file__).resolve().parents[2]
    listed = set(
        tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(init.parent.relative_to(root).parts)
        for init in (root / "playground").rglob("__init__.py")
    }
    assert found <= listed, sorted(found - listed)
