"""The licences of everything a bundle carries, found from where each of its files came from.

filter-playground.spec calls `find_components` on what PyInstaller collected and
`write_license_folder` to put every component's licence texts into the bundle (licenses/, on
Linux, Windows and macOS alike); build.py writes the .deb's machine-readable
/usr/share/doc/filter-playground/copyright (DEP-5) from the same list with `dep5`.

A file is owned by the Python distribution whose RECORD lists it, by the Python runtime (what
lies under sys.base_prefix), by this project, by PyInstaller (its bootloader and loader), or on
a Debian-like build host by the Debian package that installed it (dpkg -S). A bundled file no
owner claims stops the build: a licence nobody looked for is a licence not honoured.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import textwrap
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Texts a component needs but whose wheel does not carry (PySide6's and shiboken6's wheels hold
# no licence file at all). Verbatim from Debian's /usr/share/common-licenses.
COMMITTED_TEXTS = HERE / "third-party-licenses"
QT_TEXTS = ("LGPL-3.0-only.txt", "GPL-3.0-only.txt", "GPL-2.0-only.txt")
QT_DISTRIBUTIONS = {"pyside6-essentials", "shiboken6"}
QT_COPYRIGHT = ["The Qt Company Ltd. and other contributors"]

# Old-style `License:` fields of the distributions bundled today, as SPDX expressions.
LICENSE_FIELDS = {
    "Apache 2.0": "Apache-2.0",
    "GPLv2-or-later with a special exception": "GPL-2.0-or-later WITH Bootloader-exception",
}
# Distributions whose metadata names more than what the bundle takes from them.
BUNDLED_PART_LICENSE = {
    # Only its runtime hooks go into a bundle, and those are Apache-2.0 (its LICENSE says so).
    "pyinstaller-hooks-contrib": "Apache-2.0",
}
# Distributions whose metadata names less than their licence files say, read off those files.
LICENSE_FROM_TEXTS = {
    # Metadata "BSD". LICENSE is BSD-2-Clause; LICENSES.third-party adds the code it took from
    # appdirs (MIT), NetworkX (BSD-3-Clause) and CPython (PSF-2.0), and JavaScript of its docs,
    # which the wheel does not carry.
    "numba": "BSD-2-Clause AND BSD-3-Clause AND MIT AND PSF-2.0",
}
LICENSE_FILE = re.compile(r"(licen[cs]e|copying|notice|copyright)", re.IGNORECASE)
# Full texts that Debian keeps once in /usr/share/common-licenses; a copyright file must point
# there rather than repeat them (lintian: copyright-file-contains-full-gpl-license and kin).
FULL_TEXTS = {
    "GPL": re.compile(r"GNU GENERAL PUBLIC LICENSE\s+Version [23]", re.IGNORECASE),
    "LGPL": re.compile(r"GNU LESSER GENERAL PUBLIC LICENSE\s+Version (2\.1|3)", re.IGNORECASE),
    "Apache-2.0": re.compile(r"Apache License\s+Version 2\.0, January 2004", re.IGNORECASE),
}
COMMON_LICENSES = {
    "GPL-2": "GNU General Public License version 2",
    "GPL-3": "GNU General Public License version 3",
    "LGPL-2.1": "GNU Lesser General Public License version 2.1",
    "LGPL-3": "GNU Lesser General Public License version 3",
    "Apache-2.0": "Apache License version 2.0",
}


@dataclass
class Component:
    """One thing the bundle carries under one set of licence terms.

    ``files`` are paths inside the bundle folder ('/'-separated); ``texts`` maps a path inside
    licenses/<name>/ to the text written there.
    """

    name: str
    version: str
    license: str
    origin: str
    copyright: list[str]
    files: list[str] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)
    note: str = ""


def _normalized(name: str) -> str:
    """A distribution's name as PEP 503 compares it: PySide6_Essentials is pyside6-essentials."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _copyright_lines(texts: Iterable[str], limit: int = 8) -> list[str]:
    lines: list[str] = []
    for text in texts:
        for line in text.splitlines():
            found = re.match(
                r"\s*Copyright\s*(\(c\)|©)?\s*(?P<who>.*\b(19|20)\d\d\b.*)$", line, re.IGNORECASE
            )
            # The FSF's notice heads the GPL's own text, not the software under it.
            if found and found["who"] not in lines and "Free Software Foundation" not in line:
                lines.append(found["who"].strip())
            if len(lines) == limit:
                return lines
    return lines


def _distribution_license(dist: metadata.Distribution) -> str:
    name = _normalized(dist.metadata["Name"])
    if name in BUNDLED_PART_LICENSE:
        return BUNDLED_PART_LICENSE[name]
    if name in LICENSE_FROM_TEXTS:
        return LICENSE_FROM_TEXTS[name]
    expression = dist.metadata.get("License-Expression")
    if expression:
        return expression
    field_ = (dist.metadata.get("License") or "").strip()
    for prefix, spdx in LICENSE_FIELDS.items():
        if field_.startswith(prefix):
            return spdx
    if field_ and "\n" not in field_ and len(field_) < 80:
        return field_
    classifiers = [
        c.removeprefix("License :: OSI Approved :: ")
        for c in dist.metadata.get_all("Classifier") or []
        if c.startswith("License :: OSI Approved :: ")
    ]
    if classifiers == ["BSD License"]:
        # The classifier does not say which BSD; the text's non-endorsement clause does.
        text = "\n".join(_distribution_texts(dist).values())
        return "BSD-3-Clause" if "Neither the name" in text else "BSD-2-Clause"
    if classifiers == ["MIT License"]:
        return "MIT"
    raise SystemExit(f"{dist.metadata['Name']}: no licence in its metadata that build.py reads")


def _qt_note(version: str) -> str:
    major_minor = ".".join(version.split(".")[:2])
    return (
        f"Qt {version} and Qt for Python (PySide6, shiboken6) {version} are used under the GNU "
        "LGPL version 3, as shared libraries that can be replaced by a modified build of the "
        "same version. Their complete corresponding sources are at "
        f"https://download.qt.io/archive/qt/{major_minor}/{version}/ (Qt) and "
        f"https://download.qt.io/official_releases/QtForPython/pyside6/PySide6-{version}-src/ "
        "(PySide6 and shiboken6). Filter Playground's own sources are at "
        "https://github.com/filter-playground/filter-playground."
    )


def _python_component() -> Component:
    version = sys.version.split()[0]
    for candidate in (
        Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt",
        Path(sys.base_prefix) / "LICENSE.txt",
    ):
        if candidate.is_file():
            text = candidate.read_text(encoding="utf-8", errors="replace")
            break
    else:
        raise SystemExit("the build's Python has no LICENSE.txt to ship with its runtime")
    return Component(
        name="python",
        version=version,
        license="PSF-2.0",
        origin=f"the Python {version} runtime and standard library of the build host",
        copyright=_copyright_lines([text]),
        texts={"LICENSE.txt": text},
    )


def _distribution_texts(dist: metadata.Distribution) -> dict[str, str]:
    """The licence files a distribution installed, by their path under licenses/<name>/."""
    texts: dict[str, str] = {}
    seen: set[str] = set()
    for file in dist.files or []:
        if not LICENSE_FILE.search(file.name) or file.suffix in {".py", ".pyc"}:
            continue
        text = Path(dist.locate_file(file)).read_text(encoding="utf-8", errors="replace")
        if text in seen:  # cv2/LICENSE.txt repeats the dist-info's
            continue
        seen.add(text)
        parts = file.parts
        # numpy keeps its vendored code's licences under dist-info/licenses/<source path>.
        inner = parts[2:] if len(parts) > 2 and parts[1] == "licenses" else parts[-1:]
        texts["/".join(inner)] = text
    return texts


def _distribution_component(dist: metadata.Distribution) -> Component:
    name = dist.metadata["Name"]
    texts = _distribution_texts(dist)
    note = ""
    holders = _copyright_lines(texts.values())
    if _normalized(name) in QT_DISTRIBUTIONS:
        holders = QT_COPYRIGHT
        for committed in QT_TEXTS:
            texts[committed] = (COMMITTED_TEXTS / committed).read_text(encoding="utf-8")
        note = _qt_note(dist.version)
    if not texts:
        raise SystemExit(f"{name} {dist.version} carries no licence file to ship")
    authors = dist.metadata.get("Author") or dist.metadata.get("Author-email") or ""
    return Component(
        name=_normalized(name),
        version=dist.version,
        license=_distribution_license(dist),
        origin=f"the {name} {dist.version} wheel from PyPI",
        copyright=holders or [f"the {name} authors {authors}".strip()],
        texts=texts,
        note=note,
    )


def _dpkg_owners(paths: list[str]) -> dict[str, str]:
    """Path -> Debian binary package, for the paths dpkg knows (both sides of /usr-merge)."""
    variants = {}
    for path in paths:
        variants[path] = path
        if path.startswith("/usr/"):
            variants[path.removeprefix("/usr")] = path
        else:
            variants["/usr" + path] = path
    found = subprocess.run(
        ["dpkg-query", "-S", *variants], capture_output=True, text=True, check=False
    ).stdout
    owners = {}
    for line in found.splitlines():
        package, _, path = line.partition(": ")
        if path in variants and "," not in package:
            owners[variants[path]] = package.split(":")[0]
    return owners


def _dep5_field(text: str, name: str) -> str:
    """A field of the `Files: *` paragraph of a DEP-5 copyright file, else ''."""
    for paragraph in re.split(r"\n\s*\n", text):
        if re.search(r"^Files:\s*\*\s*$", paragraph, re.MULTILINE):
            found = re.search(rf"^{name}:[ \t]*(.*(?:\n[ \t].*)*)", paragraph, re.MULTILINE)
            if found:
                return found[1]
    return ""


def _debian_component(package: str) -> Component:
    copyright_file = Path("/usr/share/doc", package, "copyright")
    text = copyright_file.read_text(encoding="utf-8", errors="replace")
    version = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True
    ).stdout
    license_ = _dep5_field(text, "License").splitlines()
    holders = [line.strip() for line in _dep5_field(text, "Copyright").splitlines() if line.strip()]
    return Component(
        name=package,
        version=version,
        license=license_[0].strip() if license_ else "other",
        origin=f"Debian's {package} {version}, installed on the build host",
        copyright=holders or _copyright_lines([text]) or [f"the authors of {package}"],
        texts={"copyright": text},
    )


def find_components(
    entries: Iterable[tuple[str, str, str]], project_root: Path, workpath: Path, contents: str
) -> list[Component]:
    """Group PyInstaller's collected entries (dest, source, typecode) by the component each
    came from, with its licence texts; SystemExit naming any file that no component claims."""
    owner_of: dict[str, metadata.Distribution] = {}
    for dist in metadata.distributions():
        for file in dist.files or []:
            owner_of.setdefault(os.path.realpath(dist.locate_file(file)), dist)
    base = os.path.realpath(sys.base_prefix) + os.sep
    root = os.path.realpath(project_root) + os.sep
    work = os.path.realpath(workpath) + os.sep
    # The build's venv may sit inside the project folder: what is in it is not the project's.
    venv = os.path.realpath(sys.prefix) + os.sep
    files: dict[str, list[str]] = defaultdict(list)
    builders: dict[str, Component] = {}
    strays: dict[str, str] = {}
    for dest, source, typecode in entries:
        if typecode in {"SYMLINK", "DEPENDENCY"}:
            continue  # a link to a collected file: that file has an owner
        # Modules and scripts go into the launcher's archive, not into files of their own.
        inside = typecode in {"PYMODULE", "PYSOURCE"}
        path = "" if inside else f"{contents}/{dest}".replace("\\", "/")
        real = os.path.realpath(source) if source else ""
        dist = owner_of.get(real)
        if dist is not None and dist.metadata["Name"] != "filter-playground":
            key = _normalized(dist.metadata["Name"])
            if key not in builders:
                builders[key] = _distribution_component(dist)
        elif dist is not None or (real.startswith(root) and not real.startswith(venv)):
            key = "sample-images" if dest.startswith("resources/images/") else "filter-playground"
        elif real.startswith(work):
            key = "python" if os.path.basename(real) == "base_library.zip" else "pyinstaller"
        elif real.startswith(base):
            key = "python"
        else:
            strays[real] = path
            continue
        if key == "python" and key not in builders:
            builders[key] = _python_component()
        if path:
            files[key].append(path)
    if strays and sys.platform.startswith("linux"):
        for real, package in _dpkg_owners(sorted(strays)).items():
            if package not in builders:
                builders[package] = _debian_component(package)
            files[package].append(strays.pop(real))
    if strays:
        raise SystemExit(
            "no licence known for these bundled files (add their owner to packaging/"
            "licenses.py):\n  " + "\n  ".join(sorted(strays))
        )
    builders["pyinstaller"] = _distribution_component(metadata.distribution("pyinstaller"))
    builders["pyinstaller"].origin = "the PyInstaller bootloader (the launcher) and loader"
    builders["filter-playground"] = _project_component(project_root)
    builders["sample-images"] = _sample_images_component(project_root)
    files["pyinstaller"].append("filter-playground")  # the launcher is its bootloader
    for key, component in builders.items():
        component.files = sorted(files[key])
        if not component.files:
            # Python modules only, inside the launcher's archive: its licence folder is the
            # one file of its own the bundle has.
            component.files = [f"{contents}/licenses/{key}/*"]
            component.note = (
                "Its Python modules are inside the launcher's archive (filter-playground)."
            )
    builders["pyinstaller"].note = (
        "The launcher (filter-playground) is PyInstaller's bootloader; the archive appended to"
        " it holds the Python modules of the components listed here."
    )
    return sorted(builders.values(), key=lambda c: (c.name != "filter-playground", c.name))


def _project_component(project_root: Path) -> Component:
    text = (project_root / "LICENSE").read_text(encoding="utf-8")
    return Component(
        name="filter-playground",
        version=_project_version(project_root),
        license="MIT",
        origin="this project",
        copyright=_copyright_lines([text]),
        texts={"LICENSE": text},
    )


def _sample_images_component(project_root: Path) -> Component:
    return Component(
        name="sample-images",
        version="",
        license="CC0-1.0 AND public-domain",
        origin="scikit-image's test data (resources/images/CREDITS.md names each picture)",
        copyright=["Rachel Michetti (coffee), Stefan van der Walt (cat): CC0; NASA (astronaut)"],
        texts={
            "CREDITS.md": (project_root / "resources" / "images" / "CREDITS.md").read_text(
                encoding="utf-8"
            )
        },
    )


def _project_version(project_root: Path) -> str:
    for line in (project_root / "pyproject.toml").read_text(encoding="utf-8").splitlines():
        if line.startswith("version = "):
            return line.split('"')[1]
    raise SystemExit("no version in pyproject.toml")


def write_license_folder(components: list[Component], folder: Path) -> list[tuple[str, str, str]]:
    """Write licenses/<component>/... and licenses/README.txt under ``folder``; return them
    as the (destination, source, 'DATA') entries of PyInstaller's collected data."""
    pairs = []
    lines = [
        "Filter Playground and the components this bundle carries, each with its licence.",
        "Each folder here holds the licence files that came with that component, verbatim.",
        "",
    ]
    for component in components:
        lines += [
            f"{component.name} {component.version}".rstrip(),
            f"  licence: {component.license}",
            f"  from:    {component.origin}",
            f"  texts:   licenses/{component.name}/",
        ]
        if component.note:
            lines.append("  " + component.note)
        lines.append("")
        for relative, text in component.texts.items():
            target = folder / component.name / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            pairs.append((f"licenses/{component.name}/{relative}", str(target), "DATA"))
    readme = folder / "README.txt"
    readme.write_text("\n".join(lines), encoding="utf-8")
    pairs.append(("licenses/README.txt", str(readme), "DATA"))
    return pairs


def save(components: list[Component], path: Path) -> None:
    path.write_text(json.dumps([asdict(c) for c in components], indent=1), encoding="utf-8")


def load(path: Path) -> list[Component]:
    return [Component(**c) for c in json.loads(path.read_text(encoding="utf-8"))]


def _patterns(components: list[Component]) -> dict[str, list[str]]:
    """Each component's files as DEP-5 patterns: a folder whose every file is the component's
    becomes 'folder/*'."""
    owners: dict[str, set[str]] = defaultdict(set)
    for component in components:
        for path in component.files:
            parts = path.split("/")
            for depth in range(1, len(parts)):
                owners["/".join(parts[:depth])].add(component.name)
    patterns = {}
    for component in components:
        chosen = set()
        for path in component.files:
            parts = path.split("/")
            # The shallowest folder owned by this component alone, below the bundle's top two.
            for depth in range(2, len(parts)):
                folder = "/".join(parts[:depth])
                if owners[folder] == {component.name}:
                    chosen.add(folder + "/*")
                    break
            else:
                chosen.add(path)
        patterns[component.name] = sorted(chosen)
    return patterns


def _field_body(text: str, wrap: bool = False) -> list[str]:
    """A text as the continuation lines of a DEP-5 field: one space in, '.' for a blank;
    ``wrap`` fills prose of our own to 78 columns (licence texts stay verbatim)."""
    if wrap:
        text = textwrap.fill(text, width=78, break_on_hyphens=False, break_long_words=False)
    return [f" {line.rstrip()}" if line.strip() else " ." for line in text.strip().splitlines()]


def _common_license_references(component: Component) -> list[str]:
    expression = component.license
    names = set()
    if re.search(r"\bLGPL-3", expression) or component.note:
        names |= {"LGPL-3", "GPL-3"}
    if re.search(r"\bGPL-2", expression):
        names.add("GPL-2")
    if re.search(r"\bGPL-3", expression):
        names.add("GPL-3")
    if "Apache-2.0" in expression:
        names.add("Apache-2.0")
    joined = "\n".join(component.texts.values())
    if FULL_TEXTS["LGPL"].search(joined):
        names.add("LGPL-2.1" if "Version 2.1" in joined else "LGPL-3")
    if FULL_TEXTS["GPL"].search(joined):
        names.add("GPL-3" if re.search(r"PUBLIC LICENSE\s+Version 3", joined) else "GPL-2")
    return [
        f"On Debian systems the complete text of the {COMMON_LICENSES[n]} is in "
        f"/usr/share/common-licenses/{n}."
        for n in sorted(names)
    ]


def dep5(components: list[Component], install_root: str, header: dict[str, str]) -> str:
    """The machine-readable copyright file (DEP-5) for a package that installs the bundle at
    ``install_root`` (e.g. 'opt/filter-playground')."""
    paragraphs = ["\n".join(f"{key}: {value}" for key, value in header.items())]
    patterns = _patterns(components)
    for component in components:
        lines = []
        if component.name == "filter-playground":
            lines.append("Files: *")
        else:
            files = [f"{install_root}/{pattern}" for pattern in patterns[component.name]]
            lines.append("Files:" + "".join(f"\n {f}" for f in files))
        lines.append("Copyright:" + "".join(f"\n {holder}" for holder in component.copyright))
        # DEP-5 writes SPDX's AND and OR in lower case.
        expression = component.license.replace(" AND ", " and ").replace(" OR ", " or ")
        lines.append(f"License: {expression}")
        joined = "\n".join(component.texts.values())
        body: list[str] = []
        if not any(pattern.search(joined) for pattern in FULL_TEXTS.values()):
            for name, text in component.texts.items():
                if len(component.texts) > 1:
                    body += _field_body(f"==> {name} <==")
                body += [*_field_body(text), " ."]
        body += _field_body(
            wrap=True,
            text=" ".join(
                [
                    f"The licence files that came with {component.name}, verbatim, are in",
                    f"/{install_root}/_internal/licenses/{component.name}/.",
                    *_common_license_references(component),
                ]
            ),
        )
        lines += body
        comment = f"From {component.origin}." + (f" {component.note}" if component.note else "")
        lines.append("Comment:")
        lines += _field_body(comment, wrap=True)
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs) + "\n"
