"""The installer tooling under packaging/: the .ico wrapper, the NSIS script, the dmg script
and the installers workflow.

The NSIS script is compiled for real with the Linux makensis against a placeholder bundle, so a
syntax or include error shows up here rather than on the Windows runner.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WINDOWS = ROOT / "packaging" / "windows"
INSTALLER_NSI = WINDOWS / "installer.nsi"
MAKE_ICO = WINDOWS / "make_ico.py"
MAKE_DMG = ROOT / "packaging" / "macos" / "make_dmg.sh"
WORKFLOW = ROOT / ".github" / "workflows" / "installers.yml"


def load_make_ico():
    # Loaded by path: packaging/ is deliberately not a package (it would shadow PyPI's).
    spec = importlib.util.spec_from_file_location("make_ico_under_test", MAKE_ICO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_ico = load_make_ico()


def tiny_png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\x20\x80\xe0\xff" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# The layout written out from the ICO format, independent of make_ico's own structs:
# ICONDIR (reserved, type, count) then one ICONDIRENTRY (width, height, colours, reserved,
# planes, bit count, bytes in resource, image offset).
ICO_HEADER = "<HHH" + "BBBBHHII"
ICO_HEADER_SIZE = 6 + 16


@pytest.mark.parametrize(("width", "height"), [(16, 16), (48, 32), (255, 1), (256, 256)])
def test_png_to_ico_layout(width, height):
    png = tiny_png(width, height)
    ico = make_ico.png_to_ico(png)

    assert struct.calcsize(ICO_HEADER) == ICO_HEADER_SIZE
    (reserved, kind, count, w, h, colours, entry_reserved, planes, bits, size, offset) = (
        struct.unpack_from(ICO_HEADER, ico)
    )
    assert (reserved, kind, count) == (0, 1, 1)
    assert w == (0 if width == 256 else width)
    assert h == (0 if height == 256 else height)
    assert (colours, entry_reserved, planes, bits) == (0, 0, 1, 32)
    assert size == len(png)
    assert offset == ICO_HEADER_SIZE
    assert ico[offset : offset + size] == png
    assert len(ico) == ICO_HEADER_SIZE + len(png)


def test_png_to_ico_rejects_what_an_icon_cannot_hold():
    with pytest.raises(ValueError, match="not a PNG"):
        make_ico.png_to_ico(b"GIF89a" + bytes(40))
    with pytest.raises(ValueError, match="at most 256x256"):
        make_ico.png_to_ico(tiny_png(257, 8))


def test_make_ico_command_line(tmp_path):
    source = tmp_path / "in.png"
    source.write_bytes(tiny_png(32, 32))
    target = tmp_path / "out.ico"
    subprocess.run([sys.executable, str(MAKE_ICO), str(source), str(target)], check=True)
    assert target.read_bytes() == make_ico.png_to_ico(source.read_bytes())

    usage = subprocess.run([sys.executable, str(MAKE_ICO)], capture_output=True, text=True)
    assert usage.returncode == 2
    assert "usage: python make_ico.py in.png out.ico" in usage.stderr


# .ci/run installs NSIS and sets this, so there a missing makensis fails instead of skipping.
REQUIRE_NSIS = "FILTER_PLAYGROUND_REQUIRE_NSIS"


def makensis() -> str:
    path = shutil.which("makensis")
    if path is None:
        reason = (
            "makensis is missing: install NSIS (Debian/Ubuntu: apt-get install nsis) "
            "to compile packaging/windows/installer.nsi"
        )
        if os.environ.get(REQUIRE_NSIS) == "1":
            pytest.fail(f"{reason}; {REQUIRE_NSIS}=1 requires it")
        pytest.skip(reason)
    return path


def placeholder_bundle(root: Path, with_exe: bool = True) -> Path:
    bundle = root / "filter-playground"
    (bundle / "_internal").mkdir(parents=True)
    if with_exe:
        (bundle / "filter-playground.exe").write_bytes(b"MZ placeholder, never run")
    (bundle / "_internal" / "base_library.zip").write_bytes(b"placeholder")
    return bundle


def run_makensis(bundle: Path, outfile: Path, icon: Path | None) -> subprocess.CompletedProcess:
    command = [
        makensis(),
        "-V2",
        "-DVERSION=0.1.0",
        f"-DSOURCE_DIR={bundle}",
        f"-DOUTFILE={outfile}",
    ]
    if icon is not None:
        command.append(f"-DICON={icon}")
    command.append(str(INSTALLER_NSI))
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("with_icon", [True, False], ids=["icon", "default-icon"])
def test_installer_script_compiles(tmp_path, with_icon):
    bundle = placeholder_bundle(tmp_path)
    icon = None
    if with_icon:
        icon = tmp_path / "filter-playground.ico"
        icon.write_bytes(make_ico.png_to_ico(tiny_png(16, 16)))
    outfile = tmp_path / "dist" / "filter-playground-0.1.0-setup.exe"
    outfile.parent.mkdir()

    result = run_makensis(bundle, outfile, icon)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning" not in (result.stdout + result.stderr).lower(), result.stdout
    assert outfile.is_file()
    assert outfile.read_bytes()[:2] == b"MZ"


def test_installer_script_refuses_a_folder_without_the_app(tmp_path):
    bundle = placeholder_bundle(tmp_path, with_exe=False)
    outfile = tmp_path / "setup.exe"

    result = run_makensis(bundle, outfile, None)

    assert result.returncode != 0
    assert "holds no filter-playground.exe" in result.stdout + result.stderr
    assert not outfile.exists()


def test_make_dmg_script_syntax():
    subprocess.run(["bash", "-n", str(MAKE_DMG)], check=True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "usage: make_dmg.sh <path to .app> <out.dmg>"),
        (["Filter Playground", "out.dmg"], "is not an .app bundle"),
        (["missing/Filter Playground.app", "out.dmg"], "does not exist"),
    ],
)
def test_make_dmg_explains_bad_arguments(tmp_path, args, message):
    # These checks come before hdiutil is needed, so they run on Linux too.
    result = subprocess.run(
        ["bash", str(MAKE_DMG), *args], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert message in result.stderr
    assert not (tmp_path / "out.dmg").exists()


def test_installers_workflow():
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "\t" not in text
    try:
        import yaml
    except ImportError:
        yaml = None

    if yaml is not None:
        workflow = yaml.safe_load(text)
        jobs = workflow["jobs"]
        runners = {job["runs-on"] for job in jobs.values()}
        steps = {
            name: " ".join(
                str(step.get("run", "")) + str(step.get("uses", "")) for step in job["steps"]
            )
            for name, job in jobs.items()
        }
        assert runners == {"ubuntu-22.04", "windows-latest", "macos-14"}
        assert all("python packaging/build.py" in s for s in steps.values())
        assert all("actions/upload-artifact@v4" in s for s in steps.values())

    for expected in (
        "runs-on: ubuntu-22.04",
        "runs-on: windows-latest",
        "runs-on: macos-14",
        'python-version: "3.11"',
        'pip install ".[build]"',
        "python packaging/build.py",
        "choco install nsis -y",
        "QT_QPA_PLATFORM=offscreen dist/filter-playground/filter-playground --self-test",
        "path: dist/*.deb",
        "path: dist/*.exe",
        "path: dist/*.dmg",
    ):
        assert expected in text, expected
    assert text.count("uses: actions/upload-artifact@v4") == 3
    assert text.count("uses: actions/checkout@v4") == 3
    assert text.count("uses: actions/setup-python@v5") == 3


def test_ci_requires_makensis():
    # Elsewhere the installer tests skip without makensis; CI must never skip them silently.
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    needed = next(line for line in script.splitlines() if line.startswith("needed=("))
    assert " nsis" in needed
    assert f"export {REQUIRE_NSIS}=1" in script
    assert script.index(f"export {REQUIRE_NSIS}=1") < script.index('bash -c "$test_command"')


def test_import_packaging_is_still_pypis():
    # packaging/ at the repository root has no __init__.py, so it must never win over the
    # installed distribution that pytest and pip themselves import.
    import packaging.version

    assert packaging.__file__ is not None
    assert Path(packaging.__file__).resolve().parent != ROOT / "packaging"
    assert packaging.version.Version("0.1.0") < packaging.version.Version("0.2.0")
    assert not (ROOT / "packaging" / "__init__.py").exists()
