"""What pip builds from this tree: the wheel carries the MIT licence text, and the build
backend named in pyproject.toml is one that can read the project table."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

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
