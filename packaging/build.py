"""Build Filter Playground's bundle and the installer for this OS.

    python packaging/build.py            # PyInstaller onedir bundle + .deb / setup .exe / .dmg

Run from a venv where the app and PyInstaller are installed (`pip install ".[build]"`). Prints
"wrote PATH" for every artefact, with its size, and the build time.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
WORK = ROOT / "build"
BUNDLE = DIST / "filter-playground"
PACKAGE = "filter-playground"

# What Qt's xcb platform plugin and OpenGL need on a Debian-like system; the bundle carries Qt
# itself, not these.
DEB_DEPENDS = [
    "libegl1",
    "libgl1",
    "libfontconfig1",
    "libfreetype6",
    "libdbus-1-3",
    "libglib2.0-0",
    "libxkbcommon0",
    "libxkbcommon-x11-0",
    "libx11-xcb1",
    "libxcb1",
    "libxcb-cursor0",
    "libxcb-icccm4",
    "libxcb-image0",
    "libxcb-keysyms1",
    "libxcb-randr0",
    "libxcb-render-util0",
    "libxcb-render0",
    "libxcb-shape0",
    "libxcb-shm0",
    "libxcb-sync1",
    "libxcb-xfixes0",
    "libxcb-xinerama0",
    "libxcb-xkb1",
]

DESKTOP_ENTRY = """[Desktop Entry]
Type=Application
Name=Filter Playground
GenericName=Convolution filter designer
Comment=Design and explore convolution filters live on your camera
Exec=filter-playground %f
Icon=filter-playground
Terminal=false
Categories=Graphics;Education;Science;
Keywords=convolution;kernel;filter;feature map;CNN;edge detection;
MimeType=image/png;image/jpeg;
StartupWMClass=filter-playground
"""

LAUNCHER = """#!/bin/sh
exec /opt/filter-playground/filter-playground "$@"
"""


def version() -> str:
    for line in (ROOT / "pyproject.toml").read_text(encoding="utf-8").splitlines():
        if line.startswith("version = "):
            return line.split('"')[1]
    raise SystemExit("no version in pyproject.toml")


def size_mb(path: Path) -> float:
    """Bytes on disk in MB; PyInstaller's onedir links libraries, and a link is not a copy."""
    if path.is_file():
        return path.stat().st_size / 1e6
    files = (p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return sum(p.stat().st_size for p in files) / 1e6


def wrote(path: Path) -> None:
    print(f"wrote {path} ({size_mb(path):.1f} MB)", flush=True)


def build_bundle() -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--clean",
            "--log-level",
            "WARN",
            "--distpath",
            str(DIST),
            "--workpath",
            str(WORK / "pyinstaller"),
            str(ROOT / "packaging" / "filter-playground.spec"),
        ],
        check=True,
        cwd=ROOT,
    )
    wrote(BUNDLE)
    return BUNDLE


def glibc_floor() -> str:
    """The build host's glibc: the bundle's Python and Qt were linked against it, so it is the
    oldest glibc the package can promise to run on."""
    name, number = platform.libc_ver()
    if name != "glibc" or not number:
        raise SystemExit("building a .deb needs a glibc Linux")
    return number


def build_deb() -> Path:
    arch = subprocess.run(
        ["dpkg", "--print-architecture"], check=True, capture_output=True, text=True
    ).stdout.strip()
    stage = WORK / "deb" / "root"
    shutil.rmtree(stage.parent, ignore_errors=True)
    shutil.copytree(BUNDLE, stage / "opt" / PACKAGE, symlinks=True)
    launcher = stage / "usr" / "bin" / PACKAGE
    launcher.parent.mkdir(parents=True)
    launcher.write_text(LAUNCHER, encoding="utf-8")
    launcher.chmod(0o755)
    applications = stage / "usr" / "share" / "applications"
    applications.mkdir(parents=True)
    (applications / f"{PACKAGE}.desktop").write_text(DESKTOP_ENTRY, encoding="utf-8")
    icons = stage / "usr" / "share" / "icons" / "hicolor"
    for folder, name in (
        ("256x256", "filter-playground.png"),
        ("scalable", "filter-playground.svg"),
    ):
        target = icons / folder / "apps" / name
        target.parent.mkdir(parents=True)
        shutil.copy2(ROOT / "resources" / "icons" / name, target)
    for path in stage.rglob("*"):
        # dpkg wants no group/other write bits, whatever the build host's umask was.
        path.chmod(path.stat().st_mode & ~0o022)
    installed_kb = int(size_mb(stage) * 1000 / 1.024)
    control = stage / "DEBIAN" / "control"
    control.parent.mkdir()
    control.write_text(
        f"""Package: {PACKAGE}
Version: {version()}
Architecture: {arch}
Maintainer: Filter Playground developers <filter-playground@users.noreply.github.com>
Installed-Size: {installed_kb}
Depends: libc6 (>= {glibc_floor()}), {", ".join(DEB_DEPENDS)}
Section: graphics
Priority: optional
Homepage: https://github.com/filter-playground/filter-playground
Description: design and explore convolution filters live
 Filter Playground shows what a convolution kernel, a filter (one kernel per
 input channel plus a bias) and a feature map are, live on a camera, a video,
 an image or a test pattern. Edit kernels in a grid, stack filters and layers,
 and save filter banks as JSON.
""",
        encoding="utf-8",
    )
    out = DIST / f"{PACKAGE}_{version()}_{arch}.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zzstd", "--build", str(stage), str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wrote(out)
    return out


def build_windows_installer() -> Path:
    icon = WORK / "filter-playground.ico"
    sys.path.insert(0, str(ROOT / "packaging" / "windows"))
    from make_ico import png_to_ico

    icon.write_bytes(
        png_to_ico((ROOT / "resources" / "icons" / "filter-playground.png").read_bytes())
    )
    out = DIST / f"{PACKAGE}-{version()}-setup.exe"
    makensis = shutil.which("makensis") or r"C:\Program Files (x86)\NSIS\makensis.exe"
    subprocess.run(
        [
            makensis,
            "-V2",
            f"-DVERSION={version()}",
            f"-DSOURCE_DIR={BUNDLE}",
            f"-DOUTFILE={out}",
            f"-DICON={icon}",
            str(ROOT / "packaging" / "windows" / "installer.nsi"),
        ],
        check=True,
    )
    wrote(out)
    return out


def build_dmg() -> Path:
    out = DIST / f"{PACKAGE}-{version()}.dmg"
    subprocess.run(
        [
            "bash",
            str(ROOT / "packaging" / "macos" / "make_dmg.sh"),
            str(DIST / "Filter Playground.app"),
            str(out),
        ],
        check=True,
    )
    wrote(out)
    return out


def main() -> int:
    start = time.monotonic()
    os.chdir(ROOT)
    build_bundle()
    if sys.platform.startswith("linux"):
        build_deb()
    elif sys.platform == "win32":
        build_windows_installer()
    elif sys.platform == "darwin":
        build_dmg()
    print(f"built in {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
