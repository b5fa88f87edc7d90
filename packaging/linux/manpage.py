"""The filter-playground(1) manual page, made from the command's own --help texts.

    python packaging/linux/manpage.py > filter-playground.1

build.py runs `render(help_texts(...))` at build time, so the page always says what the
installed command does; help2man's approach, without its Perl. Run in a Python where the app is
installed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Sequence

NAME = "filter-playground"
SUMMARY = "design and explore convolution filters live"
HOMEPAGE = "https://github.com/filter-playground/filter-playground"
# A help line indented this far continues the help text of the line above it; argparse starts
# help texts at column 24 and indents option names by 2 (sub-commands by 4).
CONTINUATION = 10


def help_texts(python: str = sys.executable) -> dict[str, str]:
    """``--help`` of the command and of each of its sub-commands, at a fixed width of 80
    columns so the page does not depend on the terminal of whoever builds it."""
    env = {**os.environ, "COLUMNS": "80"}

    def run(*args: str) -> str:
        return subprocess.run(
            [python, "-m", "playground", *args, "--help"],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout

    texts = {"": run()}
    for command in commands(texts[""]):
        texts[command] = run(command)
    return texts


def commands(main_help: str) -> list[str]:
    """The sub-commands that the main help lists as {a,b,c}."""
    found = re.search(r"^\s+\{([\w,-]+)\}", main_help, re.MULTILINE)
    return found[1].split(",") if found else []


def _escape(text: str) -> str:
    """Text as roff takes it literally: backslashes doubled, minus signs as minus signs, and a
    line never starting with a control character."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join("\\&" + line if line[:1] in {".", "'"} else line for line in text.split("\n"))


def _sections(help_text: str) -> tuple[str, str, list[tuple[str, list[tuple[str, str]]]]]:
    """argparse's help as (usage, description, [(section title, [(term, help)])])."""
    blocks = re.split(r"\n\s*\n", help_text.strip())
    # "usage: " goes; the lines it wraps onto keep their alignment under the command.
    first, *wrapped = blocks[0].splitlines()
    usage = "\n".join([first.removeprefix("usage: "), *(line[7:] for line in wrapped)])
    description = []
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    for block in blocks[1:]:
        lines = block.splitlines()
        title = re.fullmatch(r"(\S.*):", lines[0])
        if title is None:
            description.append(" ".join(line.strip() for line in lines))
            continue
        items: list[tuple[str, str]] = []
        for line in lines[1:]:
            indent = len(line) - len(line.lstrip())
            if indent >= CONTINUATION and items:
                term, text = items[-1]
                items[-1] = (term, f"{text} {line.strip()}".strip())
                continue
            term, _, text = line.strip().partition("  ")
            items.append((term, text.strip()))
        sections.append((title[1], items))
    return usage, "\n\n".join(description), sections


def _items(items: Sequence[tuple[str, str]]) -> list[str]:
    out = []
    for term, text in items:
        if re.fullmatch(r"\{[\w,-]+\}", term):
            continue  # the {a,b,c} line: each command follows as its own item
        out += [".TP", f"\\fB{_escape(term)}\\fR", _escape(text)]
    return out


def render(texts: dict[str, str], version: str, date: str) -> str:
    """The page in man(7) roff, from ``help_texts``' output."""
    usage, description, sections = _sections(texts[""])
    lines = [
        f'.TH {NAME.upper()} 1 "{date}" "{NAME} {version}" "User Commands"',
        ".SH NAME",
        f"{_escape(NAME)} \\- {SUMMARY}",
        ".SH SYNOPSIS",
        ".nf",
        _escape(usage),
    ]
    for command in texts:
        if command:
            lines.append(_escape(_sections(texts[command])[0]))
    lines += [".fi", ".SH DESCRIPTION", _escape(description)]
    for title, items in sections:
        heading = "COMMANDS" if title == "positional arguments" else title.upper()
        lines += [f".SH {_escape(heading)}", *_items(items)]
    for command in texts:
        if not command:
            continue
        command_usage, command_description, command_sections = _sections(texts[command])
        lines += [f".SS {_escape(command)}", ".nf", _escape(command_usage), ".fi"]
        if command_description:
            lines += [".PP", _escape(command_description)]
        for title, items in command_sections:
            lines += [".PP", f"{_escape(title.capitalize())}:", ".RS", *_items(items), ".RE"]
    lines += [
        ".SH FILES",
        ".TP",
        "\\fI~/.local/share/FilterPlayground/Filter Playground/filter\\-playground.log\\fR",
        "the window's warnings, errors and uncaught exceptions, beside the autosave",
        ".SH SEE ALSO",
        f"The README at {_escape(HOMEPAGE)}",
        "describes the window, the bank file format and the Python API.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    version = subprocess.run(
        [sys.executable, "-m", "playground", "--version"], capture_output=True, text=True
    ).stdout.split()[-1]
    sys.stdout.write(render(help_texts(), version, "today"))
